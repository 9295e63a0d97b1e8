import CLivePatchShim
import Glibc
import LivePatch
import Synchronization
import Testing

/// A thread that parks inside a kernel section or inside a function, so
/// that it blocks the transitions that count that area, until released.
final class Blocker: @unchecked Sendable {
    let ready = Atomic<Bool>(false)
    let release = Atomic<Bool>(false)
    var afterRelease: UnsafeRawPointer? = nil
    var thread = pthread_t()

    /// `probe` is called once released, to see which universe the thread is in.
    init(name: String, inKernel: Bool, inside f: UnsafeMutablePointer<lp_func_t>?,
         probe: UnsafeMutablePointer<lp_func_t>? = nil) {
        thread = spawn { [self] in
            _ = name.withCString { lp_thread_register($0) }
            if inKernel { lp_kernel_enter() }
            if let f { _ = lp_func_enter(f) }
            ready.store(true, ordering: .releasing)
            while !release.load(ordering: .acquiring) { usleep(500) }
            if let f { lp_func_exit(f) }
            if inKernel { lp_kernel_exit() }
            if let probe = probe ?? f { afterRelease = call(probe) }
        }
        while !ready.load(ordering: .acquiring) { usleep(200) }
    }

    func finish() {
        release.store(true, ordering: .releasing)
        join([thread])
    }
}

/// 64 threads calling f in and out of kernel sections, checking that every
/// call gets one of `allowed`, until stopped.
final class Load: @unchecked Sendable {
    let stop = Atomic<Bool>(false)
    let strays = Atomic<Int>(0)
    var threads: [pthread_t] = []

    init(_ f: UnsafeMutablePointer<lp_func_t>, allowed: [UnsafeRawPointer], threads count: Int = 64) {
        for i in 0..<count {
            threads.append(spawn { [self] in
                while !stop.load(ordering: .relaxed) {
                    if i % 2 == 0 { lp_kernel_enter() }
                    let got = call(f)
                    if i % 2 == 0 { lp_kernel_exit() }
                    if got == nil || !allowed.contains(got!) { strays.add(1, ordering: .relaxed) }
                    if i % 16 == 0 { sched_yield() }
                }
            })
        }
    }

    func finish() {
        stop.store(true, ordering: .relaxed)
        join(threads)
        #expect(strays.load(ordering: .relaxed) == 0)
    }
}

func status() -> lp_transition_status_t {
    var s = lp_transition_status_t()
    #expect(lp_transition_status(&s) == 0)
    return s
}

func stalledReasons() -> [Int32] {
    var reasons: [Int32] = []
    _ = withUnsafeMutablePointer(to: &reasons) { ptr in
        lp_transition_for_each_stalled({ info, ctx in
            ctx!.assumingMemoryBound(to: [Int32].self).pointee.append(info!.pointee.reason)
            return 0
        }, ptr)
    }
    return reasons
}

extension Engine {
@Suite struct Transitions {
    /// A blocked transition turned around completes back to the old
    /// implementation, and the patch stays disabled.
    @Test(arguments: [("KGRAFT", presetKGraft), ("KPATCH", presetKPatch), ("UPSTREAM", presetUpstream),
                      ("RENEW", presetRenew), ("SETxFUNCTION", lp_model(LP_LEAVE_PATCHED_SET, LP_SWITCH_FUNCTION))])
    func reverse(_ label: String, _ model: lp_model_t) {
        let f = register("rev", impl(1))
        let p = makePatch("rev-\(label)", model)
        #expect(lp_patch_add_func(p, f, impl(2)) == 0)
        let leavesKernel = model & 0xf == LP_LEAVE_KERNEL.rawValue
        let blocker = Blocker(name: "blocker", inKernel: leavesKernel, inside: leavesKernel ? nil : f, probe: f)
        let load = Load(f, allowed: [impl(1), impl(2)])
        #expect(lp_patch_enable(p) == 0)
        #expect(lp_transition_wait(20_000_000) == -ETIMEDOUT)
        #expect(status().state == Int32(LP_TRANSITION_PATCHING))
        #expect(stalledReasons().contains { $0 == Int32(LP_STALL_IN_KERNEL) || $0 == Int32(LP_STALL_NO_SWITCH_POINT) })
        #expect(lp_transition_reverse() == 0)
        #expect(status().state == Int32(LP_TRANSITION_UNPATCHING))
        #expect(lp_transition_wait(30_000_000_000) == 0)
        #expect(call(f) == impl(1))
        load.finish()
        blocker.finish()
        #expect(blocker.afterRelease == impl(1))
        #expect(lp_patch_disable(p) == -EINVAL, "a reversed enable leaves the patch disabled")
        #expect(lp_patch_destroy(p) == 0)
    }

    /// Force completes at once whatever blocks; every later entry gets new.
    @Test func force() {
        let f = register("force", impl(1))
        let p = makePatch("force", presetKGraft)
        #expect(lp_patch_add_func(p, f, impl(2)) == 0)
        let blocker = Blocker(name: "blocker", inKernel: true, inside: nil, probe: f)
        let load = Load(f, allowed: [impl(1), impl(2)])
        let forcedBefore = status().forced
        #expect(lp_patch_enable(p) == 0)
        #expect(lp_transition_try_complete() == 0)
        #expect(lp_transition_force() == 0)
        #expect(status().state == Int32(LP_TRANSITION_IDLE))
        #expect(status().forced == forcedBefore + 1)
        #expect(call(f) == impl(2))
        load.finish()
        blocker.finish()
        #expect(blocker.afterRelease == impl(2))
        #expect(lp_patch_disable(p) == 0)
        #expect(lp_transition_wait(30_000_000_000) == 0)
        #expect(lp_patch_destroy(p) == 0)
    }

    /// Several patches on one function: the newest wins, disabling it
    /// exposes the one below, and only the newest may be disabled.
    @Test(arguments: [presetKGraft, presetKPatch, presetImmediate])
    func stacking(_ model: lp_model_t) {
        let f = register("stack", impl(1))
        let p1 = makePatch("stack-1", model), p2 = makePatch("stack-2", model)
        #expect(lp_patch_add_func(p1, f, impl(2)) == 0)
        #expect(lp_patch_add_func(p2, f, impl(3)) == 0)
        let load = Load(f, allowed: [impl(1), impl(2), impl(3)])
        #expect(lp_patch_enable(p1) == 0 && lp_transition_wait(30_000_000_000) == 0)
        #expect(call(f) == impl(2))
        #expect(lp_patch_enable(p2) == 0 && lp_transition_wait(30_000_000_000) == 0)
        #expect(call(f) == impl(3))
        #expect(lp_patch_disable(p1) == -EBUSY, "not the most recently enabled")
        #expect(lp_patch_disable(p2) == 0 && lp_transition_wait(30_000_000_000) == 0)
        #expect(call(f) == impl(2))
        #expect(lp_patch_disable(p1) == 0 && lp_transition_wait(30_000_000_000) == 0)
        #expect(call(f) == impl(1))
        load.finish()
        #expect(lp_patch_destroy(p1) == 0 && lp_patch_destroy(p2) == 0)
    }

    /// Offline threads never block, whatever they were doing before.
    @Test(arguments: [presetKGraft, presetKPatch, presetRenew, presetHiramatsu])
    func offlineThreadsAreSwitched(_ model: lp_model_t) {
        let f = register("offline", impl(1))
        let p = makePatch("offline", model)
        #expect(lp_patch_add_func(p, f, impl(2)) == 0)
        let release = Atomic<Bool>(false)
        let parked = Atomic<Int>(0)
        var sleepers: [pthread_t] = []
        for _ in 0..<64 {
            sleepers.append(spawn {
                _ = call(f)
                lp_thread_offline()
                parked.add(1, ordering: .relaxed)
                while !release.load(ordering: .relaxed) { usleep(1000) }
                lp_thread_online()
                #expect(call(f) == impl(2))
            })
        }
        while parked.load(ordering: .relaxed) < 64 { usleep(500) }
        let load = Load(f, allowed: [impl(1), impl(2)])
        #expect(lp_patch_enable(p) == 0)
        #expect(lp_transition_wait(30_000_000_000) == 0)
        release.store(true, ordering: .relaxed)
        join(sleepers)
        load.finish()
        #expect(lp_patch_disable(p) == 0 && lp_transition_wait(30_000_000_000) == 0)
        #expect(lp_patch_destroy(p) == 0)
    }

    /// A function in the extended set is counted, not replaced: a thread
    /// inside it blocks a PATCHED_SET transition, and its implementation
    /// never changes.
    @Test func extendSet() {
        let f = register("ext-f", impl(1)), caller = register("ext-caller", impl(5))
        let p = makePatch("ext", presetKPatch)
        #expect(lp_patch_add_func(p, f, impl(2)) == 0)
        #expect(lp_patch_extend_set(p, caller) == 0)
        #expect(lp_patch_extend_set(p, caller) == -EEXIST)
        let blocker = Blocker(name: "in-caller", inKernel: false, inside: caller)
        #expect(lp_patch_enable(p) == 0)
        #expect(lp_transition_wait(20_000_000) == -ETIMEDOUT)
        #expect(stalledReasons() == [Int32(LP_STALL_NO_SWITCH_POINT)])
        blocker.finish()
        #expect(lp_transition_wait(30_000_000_000) == 0)
        #expect(call(f) == impl(2) && call(caller) == impl(5))
        #expect(lp_patch_disable(p) == 0 && lp_transition_wait(30_000_000_000) == 0)
        #expect(lp_patch_destroy(p) == 0)
    }

    /// KGRAFT: a kthread that never leaves the kernel blocks until it
    /// reaches a safe point, and is named as inside a kernel section.
    @Test func kthreadsNeedSafePoints() {
        let f = register("kthread", impl(1))
        let p = makePatch("kthread", presetKGraft)
        #expect(lp_patch_add_func(p, f, impl(2)) == 0)
        let atSafePoint = Atomic<Bool>(false), stop = Atomic<Bool>(false), inKernel = Atomic<Bool>(false)
        let kthread = spawn {
            _ = lp_thread_register("kthread")
            lp_kernel_enter()
            inKernel.store(true, ordering: .releasing)
            while !stop.load(ordering: .relaxed) {
                _ = call(f)
                if atSafePoint.load(ordering: .relaxed) { lp_safe_point() }
                usleep(200)
            }
            lp_kernel_exit()
        }
        // The kthread's kernel section must predate the transition to block it.
        while !inKernel.load(ordering: .acquiring) { usleep(200) }
        #expect(lp_patch_enable(p) == 0)
        #expect(lp_transition_wait(20_000_000) == -ETIMEDOUT)
        #expect(stalledReasons() == [Int32(LP_STALL_IN_KERNEL)])
        atSafePoint.store(true, ordering: .relaxed)
        #expect(lp_transition_wait(30_000_000_000) == 0)
        stop.store(true, ordering: .relaxed)
        join([kthread])
        #expect(lp_patch_disable(p) == 0 && lp_transition_wait(30_000_000_000) == 0)
        #expect(lp_patch_destroy(p) == 0)
    }

    /// Completion is event-driven: the waiter is woken by the last blocking
    /// thread, so the wait ends even with no timer in between (checked by
    /// the number of completion checks it made, not by time).
    @Test func waitIsWokenByTheLastThread() {
        let f = register("wake", impl(1))
        let p = makePatch("wake", presetKGraft)
        #expect(lp_patch_add_func(p, f, impl(2)) == 0)
        let blocker = Blocker(name: "blocker", inKernel: true, inside: nil)
        #expect(lp_patch_enable(p) == 0)
        let checksBefore = status().checks
        let waiter = spawn { #expect(lp_transition_wait(0) == 0) }
        usleep(50_000)
        blocker.finish()
        join([waiter])
        // One check at the start, one after the wake (and any spurious
        // wake-up); a polling waiter would have made dozens in 50 ms.
        #expect(status().checks - checksBefore <= 4)
        #expect(lp_patch_disable(p) == 0 && lp_transition_wait(30_000_000_000) == 0)
        #expect(lp_patch_destroy(p) == 0)
    }
}
}
