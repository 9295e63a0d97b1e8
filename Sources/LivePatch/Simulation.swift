internal import CLivePatchShim

// Simulation mode: deterministic, replayable interleavings of real pthreads.
//
// One simulated thread runs at a time: it holds the baton until it offers it
// (lp_sim_point), blocks (an engine wait routed here by the syscall seam, Core/Syscalls.swift, or
// lp_sim_wait) or leaves. The holder then decides, with the run's seeded
// PRNG (LP_SIM_RANDOM) or PCT priorities (LP_SIM_PCT), which thread runs
// next, and passes the baton with a release store on that thread's futex
// word; every other simulated thread sleeps on its own word. So memory is
// sequentially consistent, every decision depends only on the seed and on
// what the threads did, and the same seed replays the same run.
//
// Scheduler state is written only by the baton holder (or, before the run
// begins, under the simulation lock); the acquire load that takes the baton pairs
// with the release store that passed it, which orders every write of one
// holder before the next holder's reads.
//
// Time is virtual: each decision advances the clock by `simTickNs`, each
// read by 1 ns, and when every thread is blocked it jumps to the earliest
// timeout. A run in which every thread is blocked with no timeout
// (deadlock) or that exceeds its step budget is let go: the threads are
// released and run freely from then on, and the outcome says why.

let simTickNs: UInt64 = 1_000
/// Where the virtual clock starts: nonzero, since the engine treats 0 as "no time".
let simClockStart: UInt64 = 1_000_000_000
let simDefaultSteps: UInt64 = 1_000_000
let simDefaultDepth: UInt32 = 3
/// lp_sim_point kinds of the scheduler's own decisions (hashed like the others).
let simKindJoin: Int32 = 0
let simKindBlock: Int32 = 8
let simKindLeave: Int32 = 9

enum SimThreadState {
    static let absent: UInt8 = 0
    static let runnable: UInt8 = 1
    static let blocked: UInt8 = 2
    static let left: UInt8 = 3
}

struct SimThread {
    var state = SimThreadState.absent
    var pthread: UInt64 = 0
    var blockedOn: UnsafeMutablePointer<UInt32>? = nil
    var deadline: UInt64 = 0
    /// What the blocking wait returns: 0 woken, -ETIMEDOUT, -EINTR.
    var wakeResult: Int32 = 0
    /// A nudge sent while it did not run: raised on itself when it runs next.
    var pendingSignal: Int32 = 0
    /// PCT: the highest runnable priority runs.
    var priority: UInt64 = 0
}

struct Simulation {
    /// Between lp_sim_start and lp_sim_stop.
    var armed = false
    /// Every expected thread joined: decisions are being made.
    var started = false
    /// Deadlock or budget: the threads run freely; the ops pass through.
    var letGo = false
    var threadCount = 0
    var strategy: Int32 = Int32(LP_SIM_RANDOM)
    var maxSteps: UInt64 = simDefaultSteps
    var joined = 0
    var left = 0
    var rng: UInt64 = 0
    var steps: UInt64 = 0
    var switches: UInt64 = 0
    var hash: UInt64 = fnvOffset
    var now: UInt64 = simClockStart
    /// PCT: the steps at which the running thread's priority drops, ascending.
    var changePoints: [UInt64] = []
    var nextChange = 0
    var outcome: Int32 = Int32(LP_SIM_DONE)
}

let fnvOffset: UInt64 = 0xcbf2_9ce4_8422_2325
let fnvPrime: UInt64 = 0x0000_0100_0000_01b3

@exclusivity(unchecked) nonisolated(unsafe) var sim = Simulation()
/// Allocated once, never freed: a thread of an earlier run may still read
/// its own entry while it finishes after being let go.
@exclusivity(unchecked) nonisolated(unsafe) var simThreads: UnsafeMutablePointer<SimThread>? = nil
/// The baton words: 1 while that thread may run.
@exclusivity(unchecked) nonisolated(unsafe) var simWords: UnsafeMutablePointer<UInt32>? = nil

@inline(__always)
func splitmix(_ s: inout UInt64) -> UInt64 {
    s &+= 0x9e37_79b9_7f4a_7c15
    var z = s
    z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
    z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
    return z ^ (z >> 31)
}

@inline(__always)
func fnvMix(_ h: UInt64, _ v: UInt64) -> UInt64 {
    var h = h
    for i in 0..<8 { h = (h ^ ((v >> (UInt64(i) * 8)) & 0xff)) &* fnvPrime }
    return h
}

/// The calling thread's id if it is a simulated thread of a run being
/// decided (so it holds the baton); nil otherwise.
func simSelfInRun() -> Int? {
    let s = lps_sim_self()
    guard s != 0, sim.started, !sim.letGo else { return nil }
    return Int(s &- 1)
}

// MARK: - decisions (baton holder only)

/// Blocked threads whose virtual timeout passed become runnable.
func expireTimeouts() {
    let t = simThreads!
    for i in 0..<sim.threadCount where t[i].state == SimThreadState.blocked && t[i].deadline <= sim.now {
        t[i].state = SimThreadState.runnable
        t[i].wakeResult = LPError.timedOut
    }
}

/// The next thread to run among the runnable ones, or -1 if there is none.
func chooseRunnable() -> Int {
    let t = simThreads!
    if sim.strategy == Int32(LP_SIM_PCT) {
        var best = -1
        for i in 0..<sim.threadCount where t[i].state == SimThreadState.runnable {
            if best < 0 || t[i].priority > t[best].priority { best = i }
        }
        return best
    }
    var count: UInt64 = 0
    for i in 0..<sim.threadCount where t[i].state == SimThreadState.runnable { count += 1 }
    if count == 0 { return -1 }
    var k = splitmix(&sim.rng) % count
    for i in 0..<sim.threadCount where t[i].state == SimThreadState.runnable {
        if k == 0 { return i }
        k -= 1
    }
    return -1
}

/// One scheduling decision, made by thread `me` (-1: the run begins) at a
/// point of kind `kind`. Returns the thread that runs next, or -1 when
/// nobody does: every thread left, or the run was let go.
func decide(_ me: Int, kind: Int32) -> Int {
    let t = simThreads!
    sim.steps += 1
    if sim.steps > sim.maxSteps {
        letGo(Int32(LP_SIM_BUDGET))
        return -1
    }
    sim.now &+= simTickNs
    expireTimeouts()
    if sim.strategy == Int32(LP_SIM_PCT) && me >= 0 && sim.nextChange < sim.changePoints.count
        && sim.steps >= sim.changePoints[sim.nextChange] {
        // PCT's change point: the running thread drops below every initial
        // priority (d-1, d-2, ... 1 for the successive change points).
        t[me].priority = UInt64(sim.changePoints.count - sim.nextChange)
        sim.nextChange += 1
    }
    var next = chooseRunnable()
    if next < 0 {
        var earliest = UInt64.max
        for i in 0..<sim.threadCount where t[i].state == SimThreadState.blocked { earliest = min(earliest, t[i].deadline) }
        if earliest != UInt64.max {
            // Nobody can run before the first timeout: jump to it.
            sim.now = max(sim.now, earliest)
            expireTimeouts()
            next = chooseRunnable()
        } else if sim.left < sim.threadCount {
            letGo(Int32(LP_SIM_DEADLOCK))
            return -1
        }
    }
    sim.hash = fnvMix(fnvMix(fnvMix(sim.hash, UInt64(bitPattern: Int64(me))), UInt64(UInt32(bitPattern: kind))),
                      UInt64(bitPattern: Int64(next)))
    if next >= 0 && next != me { sim.switches += 1 }
    return next
}

/// Deadlock or budget: release every thread; from now on they run freely.
func letGo(_ outcome: Int32) {
    sim.outcome = outcome
    sim.letGo = true
    let t = simThreads!
    for i in 0..<sim.threadCount where t[i].state == SimThreadState.runnable || t[i].state == SimThreadState.blocked {
        t[i].wakeResult = 0 // a spurious wake-up: every engine wait re-checks its condition
        pass(to: i)
    }
}

/// Passes the baton to `next`. Pairs with the acquire load in waitForBaton():
/// everything the holder wrote is seen by the next one.
func pass(to next: Int) {
    let w = simWords! + next
    lps_store_release_u32(w, 1)
    lps_sys_futex_wake(w, 1)
}

/// Sleeps until this thread holds the baton, then takes it.
func waitForBaton(_ me: Int) {
    let w = simWords! + me
    while lps_load_acquire_u32(w) == 0 { _ = lps_sys_futex_wait(w, 0, 0) }
    // Only this thread clears its word, only while it holds the baton, so the
    // next pass (a release store of 1) always comes after this store.
    lps_store_u32(w, 0)
}

/// The holder `me` offers the baton at a point of kind `kind` (it may be
/// blocked by now) and returns when it holds the baton again.
func yieldBaton(_ me: Int, kind: Int32) {
    let next = decide(me, kind: kind)
    if next >= 0 && next != me {
        pass(to: next)
        waitForBaton(me)
    }
    deliverPendingSignal(me)
}

/// A nudge that arrived while the thread did not run is raised now, on the
/// thread itself: the handler runs before this returns, at the same point of
/// every replay.
func deliverPendingSignal(_ me: Int) {
    guard !sim.letGo else { return }
    let t = simThreads! + me
    let signo = t.pointee.pendingSignal
    guard signo != 0 else { return }
    t.pointee.pendingSignal = 0
    _ = lps_sys_pthread_kill(t.pointee.pthread, signo)
}

// MARK: - the syscall interception (a simulated thread's waits, clock and nudges)

func simFutexWait(_ word: UnsafeMutablePointer<UInt32>?, _ expected: UInt32, _ timeoutNs: UInt64) -> Int32 {
    guard let me = simSelfInRun(), let word else { return syscallPassThrough }
    // The check and the sleep are atomic: no other thread runs in between.
    if lps_load_u32(word) != expected { return LPError.again }
    let t = simThreads! + me
    t.pointee.state = SimThreadState.blocked
    t.pointee.blockedOn = word
    t.pointee.deadline = timeoutNs == 0 ? UInt64.max : sim.now &+ min(timeoutNs, UInt64.max - sim.now)
    t.pointee.wakeResult = 0
    yieldBaton(me, kind: simKindBlock)
    t.pointee.blockedOn = nil
    return t.pointee.wakeResult
}

func simFutexWake(_ word: UnsafeMutablePointer<UInt32>?, _ count: Int32) {
    guard simSelfInRun() != nil, let word else { return }
    let t = simThreads!
    var left = count
    for i in 0..<sim.threadCount where left > 0 && t[i].state == SimThreadState.blocked && t[i].blockedOn == word {
        t[i].state = SimThreadState.runnable
        t[i].wakeResult = 0
        left -= 1
    }
}

func simNow() -> UInt64 {
    guard simSelfInRun() != nil else { return lps_sys_now_ns() }
    sim.now &+= 1
    return sim.now
}

func simKill(_ thread: UInt64, _ signo: Int32) -> Int32 {
    guard let me = simSelfInRun() else { return syscallPassThrough }
    let t = simThreads!
    for i in 0..<sim.threadCount where i != me && t[i].pthread == thread
        && (t[i].state == SimThreadState.runnable || t[i].state == SimThreadState.blocked) {
        if signo == 0 { return 0 }
        t[i].pendingSignal = signo
        if t[i].state == SimThreadState.blocked {
            t[i].state = SimThreadState.runnable
            t[i].wakeResult = LPError.interrupted
        }
        return 0
    }
    return syscallPassThrough // not a simulated thread, or the caller itself: a real, synchronous signal
}

// MARK: - C API

/// Arms a simulation run. C: `lp_sim_start`.
@c public func lp_sim_start(_ cfg: UnsafePointer<lp_sim_config_t>?) -> Int32 {
    guard let c = cfg?.pointee else { return LPError.invalid }
    guard c.threads >= 1, c.threads <= UInt32(LP_SIM_MAX_THREADS),
          c.strategy == Int32(LP_SIM_RANDOM) || c.strategy == Int32(LP_SIM_PCT),
          c.pct_depth <= UInt32(LP_SIM_MAX_THREADS) else { return LPError.invalid }
    lps_lock_simulation()
    defer { lps_unlock_simulation() }
    if sim.armed { return LPError.busy }
    if simThreads == nil {
        // The shim's malloc, checked: no memory is -ENOMEM, not a crash.
        guard let threads = lps_sys_calloc(Int(LP_SIM_MAX_THREADS), MemoryLayout<SimThread>.stride) else {
            return LPError.noMemory
        }
        guard let words = lps_sys_calloc(Int(LP_SIM_MAX_THREADS), MemoryLayout<UInt32>.stride) else {
            lps_sys_free(threads)
            return LPError.noMemory
        }
        guard lps_sim_exit_hook({ _ = lp_sim_thread_leave() }) == 0 else {
            lps_sys_free(threads)
            lps_sys_free(words)
            return LPError.noMemory
        }
        simThreads = threads.bindMemory(to: SimThread.self, capacity: Int(LP_SIM_MAX_THREADS))
        simThreads!.initialize(repeating: SimThread(), count: Int(LP_SIM_MAX_THREADS))
        simWords = words.bindMemory(to: UInt32.self, capacity: Int(LP_SIM_MAX_THREADS))
        interceptSyscalls(SyscallInterception(futexWait: { simFutexWait($0, $1, $2) }, futexWake: { simFutexWake($0, $1) },
                                                now: { simNow() }, signalThread: { simKill($0, $1) }))
    }
    var s = Simulation()
    s.armed = true
    s.threadCount = Int(c.threads)
    s.strategy = c.strategy
    s.maxSteps = c.max_steps == 0 ? simDefaultSteps : c.max_steps
    s.rng = c.seed
    for i in 0..<s.threadCount {
        simThreads![i] = SimThread()
        lps_store_u32(simWords! + i, 0)
    }
    if c.strategy == Int32(LP_SIM_PCT) {
        // PCT (Burckhardt et al., ASPLOS 2010): distinct random initial
        // priorities d..d+n-1, and d-1 change points drawn over the horizon.
        let depth = c.pct_depth == 0 ? simDefaultDepth : c.pct_depth
        let horizon = max(c.pct_horizon == 0 ? s.maxSteps : c.pct_horizon, 1)
        var order = Array(0..<s.threadCount)
        for i in stride(from: order.count - 1, to: 0, by: -1) {
            order.swapAt(i, Int(splitmix(&s.rng) % UInt64(i + 1)))
        }
        for (rank, id) in order.enumerated() { simThreads![id].priority = UInt64(depth) + UInt64(rank) }
        var points: [UInt64] = []
        for _ in 1..<max(depth, 1) { points.append(1 + splitmix(&s.rng) % horizon) }
        points.sort()
        s.changePoints = points
    }
    sim = s
    return 0
}

/// The calling thread joins the armed run as thread `id` and returns when
/// it is first scheduled. C: `lp_sim_thread_join`.
@c public func lp_sim_thread_join(_ id: UInt32) -> Int32 {
    lps_lock_simulation()
    guard sim.armed, !sim.started else {
        lps_unlock_simulation()
        return LPError.notFound
    }
    guard Int(id) < sim.threadCount else {
        lps_unlock_simulation()
        return LPError.invalid
    }
    let me = Int(id)
    let t = simThreads! + me
    guard lps_sim_self() == 0, t.pointee.state == SimThreadState.absent else {
        lps_unlock_simulation()
        return LPError.exists
    }
    t.pointee.state = SimThreadState.runnable
    t.pointee.pthread = lps_sys_pthread_self()
    lps_sim_set_self(UInt32(id) + 1)
    sim.joined += 1
    if sim.joined == sim.threadCount {
        // The last to arrive starts the run: the first decision.
        sim.started = true
        let first = decide(-1, kind: simKindJoin)
        if first >= 0 { pass(to: first) }
    }
    lps_unlock_simulation()
    waitForBaton(me)
    deliverPendingSignal(me)
    return 0
}

/// Offers the baton. C: `lp_sim_point`.
@c public func lp_sim_point(_ kind: Int32) {
    guard let me = simSelfInRun() else { return }
    yieldBaton(me, kind: kind)
}

/// Blocks while `*word == expected` (see the header). C: `lp_sim_wait`.
@c public func lp_sim_wait(_ word: UnsafeMutablePointer<UInt32>?, _ expected: UInt32, _ timeoutNs: UInt64) -> Int32 {
    guard let word else { return LPError.invalid }
    return lps_sys_futex_wait(word, expected, timeoutNs)
}

/// Wakes every thread waiting on `word`. C: `lp_sim_wake`.
@c public func lp_sim_wake(_ word: UnsafeMutablePointer<UInt32>?) {
    guard let word else { return }
    lps_sys_futex_wake(word, Int32.max)
}

/// The logical clock on a simulated thread, else CLOCK_MONOTONIC.
/// C: `lp_sim_now`.
@c public func lp_sim_now() -> UInt64 { monotonicNow() }

/// The calling thread leaves the run. C: `lp_sim_thread_leave`.
@c public func lp_sim_thread_leave() -> Int32 {
    let s = lps_sim_self()
    guard s != 0 else { return LPError.notFound }
    lps_sim_set_self(0)
    // Let go: the run's state is frozen and the threads run freely; they
    // are still counted, so that lp_sim_stop waits for every one of them (a
    // thread of this run must not take part in the next one).
    guard sim.started, !sim.letGo else {
        lps_lock_simulation()
        sim.left += 1
        lps_unlock_simulation()
        return 0
    }
    let me = Int(s &- 1)
    simThreads![me].state = SimThreadState.left
    sim.left += 1
    let next = decide(me, kind: simKindLeave)
    if next >= 0 { pass(to: next) }
    return 0
}

/// Ends the run and reports it. C: `lp_sim_stop`.
@c public func lp_sim_stop(_ out: UnsafeMutablePointer<lp_sim_result_t>?) -> Int32 {
    lps_lock_simulation()
    defer { lps_unlock_simulation() }
    guard sim.armed else { return LPError.notFound }
    guard sim.started && sim.left == sim.threadCount else { return LPError.busy }
    if let out {
        out.pointee = lp_sim_result_t(steps: sim.steps, switches: sim.switches, hash: sim.hash,
                                      virtual_ns: sim.now, outcome: sim.outcome)
    }
    sim.armed = false
    sim.started = false
    return 0
}
