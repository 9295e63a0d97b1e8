import CLivePatchShim
import Glibc
import LivePatch
import Synchronization
import Testing

// Every cell of the leave x switch matrix, and every preset, under 64 real
// pthreads (plus kthreads with safe points, an offline sleeper and an idle
// thread): the invariants I0-I3 of docs/DESIGN.md section 2 are checked on what
// the threads recorded, for an enabling and then a disabling transition.
//
// Each execution is stamped from one global counter after lp_func_enter
// returns and before lp_func_exit, so a recorded interval lies inside the
// true one and an order the checker sees is an order that happened. It is
// also stamped just before lp_func_enter: an entry that began before the
// transition completed may return old and be preempted past the completion
// stamp, so "new after completion" is judged on when the entry began.

struct Execution {
    var function: UInt8    // 0: f (outer), 1: g (called inside f), 2: the enclosing section
    var isNew: Bool
    var begun: UInt64      // stamped before lp_func_enter
    var start: UInt64
    var end: UInt64
    var activation: UInt32 // per thread: one per outermost call of f
}

final class Shared: @unchecked Sendable {
    let clock = Atomic<UInt64>(1)
    let stop = Atomic<Bool>(false)
    let strays = Atomic<Int>(0) // an implementation that was neither old nor new
    func tick() -> UInt64 { clock.add(1, ordering: .sequentiallyConsistent).newValue }
}

final class Recorder: @unchecked Sendable {
    var executions: [Execution] = []
    let iterations = Atomic<Int>(0)
    init() { executions.reserveCapacity(1 << 16) }
}

enum WorkerKind { case plain, kernelSections, kthread }

struct Scenario {
    let f: UnsafeMutablePointer<lp_func_t>
    let g: UnsafeMutablePointer<lp_func_t>
    let oldF: UnsafeRawPointer, newF: UnsafeRawPointer
    let oldG: UnsafeRawPointer, newG: UnsafeRawPointer
}

func runWorker(_ kind: WorkerKind, _ s: Scenario, _ shared: Shared, _ rec: Recorder) {
    var activation: UInt32 = 0
    if kind == .kthread { lp_kernel_enter() }
    while !shared.stop.load(ordering: .relaxed) {
        activation &+= 1
        switch kind {
        case .kernelSections: lp_kernel_enter()
        case .kthread: lp_safe_point()
        case .plain: break
        }
        let sectionStart = shared.tick()
        let fImpl = lp_func_enter(s.f)
        let fStart = shared.tick()
        let gImpl = lp_func_enter(s.g)
        let gStart = shared.tick()
        if activation % 8 == 0 { sched_yield() }
        let gEnd = shared.tick()
        lp_func_exit(s.g)
        let fEnd = shared.tick()
        lp_func_exit(s.f)
        let sectionEnd = shared.tick()
        if kind == .kernelSections { lp_kernel_exit() }
        let fNew = fImpl == s.newF, gNew = gImpl == s.newG
        if !(fNew || fImpl == s.oldF) || !(gNew || gImpl == s.oldG) { shared.strays.add(1, ordering: .relaxed) }
        if rec.executions.count + 3 <= rec.executions.capacity {
            rec.executions.append(Execution(function: 0, isNew: fNew, begun: sectionStart, start: fStart, end: fEnd, activation: activation))
            rec.executions.append(Execution(function: 1, isNew: gNew, begun: fStart, start: gStart, end: gEnd, activation: activation))
            if kind != .plain {
                rec.executions.append(Execution(function: 2, isNew: fNew, begun: sectionStart, start: sectionStart, end: sectionEnd, activation: activation))
            }
        }
        rec.iterations.add(1, ordering: .relaxed)
    }
    if kind == .kthread { lp_kernel_exit() }
}

struct Violations: CustomStringConvertible {
    var i0 = 0, i1 = 0, i2 = 0, i3 = 0
    var total: Int { i0 + i1 + i2 + i3 }
    var description: String { "I0=\(i0) I1=\(i1) I2=\(i2) I3=\(i3)" }
}

/// Checks I0-I3 for one transition. `startedAt`: a stamp taken before the
/// transition started; `completedAt`: one taken after lp_transition_wait returned 0.
func check(_ model: lp_model_t, _ recorders: [Recorder], startedAt: UInt64, completedAt: UInt64) -> Violations {
    var v = Violations()
    var info = lp_model_info_t()
    precondition(lp_model_describe(model, &info) == 0, "unknown model \(model)")
    let leave = info.counts.rawValue, sw = info.switches.rawValue
    let all = recorders.flatMap { $0.executions }
    // I0: old before the start, new after completion.
    for e in all where e.function != 2 {
        if e.start < startedAt && e.isNew { v.i0 += 1 }
        if e.begun > completedAt && !e.isNew { v.i0 += 1 }
    }
    if leave == LP_LEAVE_FUNCTION.rawValue { return v }
    if sw == LP_SWITCH_THREAD.rawValue {
        // I1: one universe per activation, and monotonic per thread.
        for r in recorders {
            var seenNew = false
            var byActivation: [UInt32: Bool] = [:]
            for e in r.executions where e.function != 2 {
                if let u = byActivation[e.activation], u != e.isNew { v.i1 += 1 }
                byActivation[e.activation] = e.isNew
                if e.isNew { seenNew = true } else if seenNew { v.i1 += 1 }
            }
        }
    }
    func oneInstant(_ set: [Execution]) -> Int {
        let lastOldEnd = set.filter { !$0.isNew }.map(\.end).max() ?? 0
        return set.filter { $0.isNew && $0.start < lastOldEnd }.count
    }
    if sw == LP_SWITCH_KERNEL.rawValue || (leave == LP_LEAVE_KERNEL.rawValue && sw == LP_SWITCH_FUNCTION.rawValue) {
        // I2: every old execution ends before any new one begins; with
        // LEAVE_KERNEL, so does every kernel section.
        v.i2 += oneInstant(all.filter { $0.function != 2 })
        if leave == LP_LEAVE_KERNEL.rawValue { v.i2 += oneInstant(all.filter { $0.function == 2 }) }
    }
    if sw == LP_SWITCH_FUNCTION.rawValue && leave == LP_LEAVE_PATCHED_SET.rawValue {
        // I3: per function.
        v.i3 += oneInstant(all.filter { $0.function == 0 }) + oneInstant(all.filter { $0.function == 1 })
    }
    return v
}

func describeStalled() -> String {
    var text = ""
    withUnsafeMutablePointer(to: &text) { ptr in
        _ = lp_transition_for_each_stalled({ info, ctx in
            let out = ctx!.assumingMemoryBound(to: String.self)
            var name = info!.pointee.name
            let n = withUnsafeBytes(of: &name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            out.pointee += "\(n)(tid \(info!.pointee.tid), reason \(info!.pointee.reason)) "
            return 0
        }, ptr)
    }
    return text
}

/// One transition under load: starts the threads, runs `start`, waits for
/// completion, lets every worker run on, and returns what they recorded.
func transitionUnderLoad(_ s: Scenario, workers: Int, start: () -> Int32) -> (rc: Int32, recorders: [Recorder], startedAt: UInt64, completedAt: UInt64) {
    let shared = Shared()
    let recorders = (0..<(workers + 2)).map { _ in Recorder() }
    var threads: [pthread_t] = []
    for i in 0..<workers {
        threads.append(spawn { runWorker(i % 2 == 0 ? .kernelSections : .plain, s, shared, recorders[i]) })
    }
    for k in 0..<2 { threads.append(spawn { runWorker(.kthread, s, shared, recorders[workers + k]) }) }
    // An offline sleeper and an idle registered thread must never block.
    let release = Atomic<Bool>(false)
    threads.append(spawn {
        _ = lp_thread_register("offline-sleeper")
        lp_thread_offline()
        while !release.load(ordering: .relaxed) { usleep(1000) }
        lp_thread_online()
    })
    threads.append(spawn {
        _ = lp_thread_register("idle")
        while !release.load(ordering: .relaxed) { usleep(1000) }
    })
    while recorders.contains(where: { $0.iterations.load(ordering: .relaxed) < 5 }) { usleep(1000) }
    let startedAt = shared.tick()
    var rc = start()
    if rc == 0 { rc = lp_transition_wait(60_000_000_000) }
    let completedAt = shared.tick()
    if rc != 0 { print("transition did not complete: \(rc); stalled: \(describeStalled())") }
    let marks = recorders.map { $0.iterations.load(ordering: .relaxed) }
    while zip(recorders, marks).contains(where: { $0.iterations.load(ordering: .relaxed) < $1 + 20 }) { usleep(1000) }
    shared.stop.store(true, ordering: .relaxed)
    release.store(true, ordering: .relaxed)
    join(threads)
    #expect(shared.strays.load(ordering: .relaxed) == 0)
    return (rc, recorders, startedAt, completedAt)
}

func exercise(model: lp_model_t, label: String) {
    let s = Scenario(f: register("f", impl(1)), g: register("g", impl(2)),
                     oldF: impl(1), newF: impl(3), oldG: impl(2), newG: impl(4))
    let p = makePatch(label, model)
    #expect(lp_patch_add_func(p, s.f, s.newF) == 0)
    #expect(lp_patch_add_func(p, s.g, s.newG) == 0)

    let forward = transitionUnderLoad(s, workers: 64) { lp_patch_enable(p) }
    #expect(forward.rc == 0, "\(label): enable did not complete")
    let v1 = check(model, forward.recorders, startedAt: forward.startedAt, completedAt: forward.completedAt)
    #expect(v1.total == 0, "\(label) enable: \(v1)")
    #expect(call(s.f) == s.newF && call(s.g) == s.newG)

    // Disabling is the mirror image: the patched implementations are "old".
    let mirrored = Scenario(f: s.f, g: s.g, oldF: s.newF, newF: s.oldF, oldG: s.newG, newG: s.oldG)
    let backward = transitionUnderLoad(mirrored, workers: 64) { lp_patch_disable(p) }
    #expect(backward.rc == 0, "\(label): disable did not complete")
    let v2 = check(model, backward.recorders, startedAt: backward.startedAt, completedAt: backward.completedAt)
    #expect(v2.total == 0, "\(label) disable: \(v2)")
    #expect(call(s.f) == s.oldF && call(s.g) == s.oldG)
    settle()
    #expect(lp_patch_destroy(p) == 0)

    var entries: UInt64 = 0, exits: UInt64 = 0
    #expect(lp_func_counts(s.f, &entries, &exits) == 0)
    #expect(entries == exits && entries > 0)
}

let cells: [(lp_leave_t, lp_switch_t)] = [LP_LEAVE_FUNCTION, LP_LEAVE_PATCHED_SET, LP_LEAVE_KERNEL].flatMap { l in
    [LP_SWITCH_FUNCTION, LP_SWITCH_THREAD, LP_SWITCH_KERNEL].map { (l, $0) }
}

/// The engine is one per process: every test runs in this serialized suite.
@Suite(.serialized) struct Engine {}

extension Engine {
@Suite struct Invariants {
    @Test(arguments: 0..<9)
    func cell(_ index: Int) {
        let (leave, sw) = cells[index]
        exercise(model: lp_model(leave, sw), label: "cell-\(leave.rawValue)x\(sw.rawValue)")
    }

    @Test(arguments: ["IMMEDIATE", "KGRAFT", "KPATCH", "UPSTREAM", "HIRAMATSU", "RENEW"])
    func preset(_ name: String) {
        let model = ["IMMEDIATE": presetImmediate, "KGRAFT": presetKGraft, "KPATCH": presetKPatch,
                     "UPSTREAM": presetUpstream, "HIRAMATSU": presetHiramatsu, "RENEW": presetRenew][name]!
        exercise(model: model, label: name)
    }

    /// The checker itself: each invariant's check reports a violation when
    /// fed one, so a clean run means something.
    @Test func checkerCatchesViolations() {
        func recorder(_ executions: [Execution]) -> Recorder {
            let r = Recorder()
            r.executions = executions
            return r
        }
        let thread = lp_model(LP_LEAVE_KERNEL, LP_SWITCH_THREAD)
        // I0: new before the start, old after completion.
        #expect(check(thread, [recorder([Execution(function: 0, isNew: true, begun: 1, start: 1, end: 2, activation: 1)])],
                      startedAt: 5, completedAt: 9).i0 == 1)
        #expect(check(thread, [recorder([Execution(function: 0, isNew: false, begun: 10, start: 10, end: 11, activation: 1)])],
                      startedAt: 5, completedAt: 9).i0 == 1)
        // I1: two universes in one activation; new then old.
        #expect(check(thread, [recorder([Execution(function: 0, isNew: false, begun: 6, start: 6, end: 8, activation: 1),
                                         Execution(function: 1, isNew: true, begun: 6, start: 6, end: 7, activation: 1)])],
                      startedAt: 5, completedAt: 9).i1 > 0)
        #expect(check(thread, [recorder([Execution(function: 0, isNew: true, begun: 6, start: 6, end: 7, activation: 1),
                                         Execution(function: 0, isNew: false, begun: 7, start: 7, end: 8, activation: 2)])],
                      startedAt: 5, completedAt: 9).i1 > 0)
        // I2: a new execution begins before an old one ends.
        let overlap = [recorder([Execution(function: 0, isNew: false, begun: 6, start: 6, end: 8, activation: 1)]),
                       recorder([Execution(function: 1, isNew: true, begun: 7, start: 7, end: 8, activation: 1)])]
        #expect(check(lp_model(LP_LEAVE_KERNEL, LP_SWITCH_KERNEL), overlap, startedAt: 5, completedAt: 9).i2 == 1)
        // I3: the same, per function.
        let sameFunction = [recorder([Execution(function: 0, isNew: false, begun: 6, start: 6, end: 8, activation: 1)]),
                            recorder([Execution(function: 0, isNew: true, begun: 7, start: 7, end: 8, activation: 1)])]
        #expect(check(lp_model(LP_LEAVE_PATCHED_SET, LP_SWITCH_FUNCTION), sameFunction, startedAt: 5, completedAt: 9).i3 == 1)
        // ...while I3 does not relate two different functions.
        #expect(check(lp_model(LP_LEAVE_PATCHED_SET, LP_SWITCH_FUNCTION), overlap, startedAt: 5, completedAt: 9).i3 == 0)
    }
}
}
