internal import CLivePatchShim

// The C entry points of livepatch/sim.h: simulation mode (Simulation/).

/// Arms a simulation run. C: `lp_sim_start`.
@c public func lp_sim_start(_ cfg: UnsafePointer<lp_sim_config_t>?) -> Int32 {
    guard let c = cfg?.pointee else { return LPError.invalid }
    guard c.threads >= 1, c.threads <= UInt32(LP_SIM_MAX_THREADS),
          c.strategy == Int32(LP_SIM_RANDOM) || c.strategy == Int32(LP_SIM_PCT),
          c.pct_depth <= UInt32(LP_SIM_MAX_THREADS) else { return LPError.invalid }
    lps_lock_simulation()
    defer { lps_unlock_simulation() }
    if simulation.run.armed { return LPError.busy }
    if simulation.threads == nil {
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
        simulation.threads = threads.bindMemory(to: SimThread.self, capacity: Int(LP_SIM_MAX_THREADS))
        simulation.threads!.initialize(repeating: SimThread(), count: Int(LP_SIM_MAX_THREADS))
        simulation.words = words.bindMemory(to: UInt32.self, capacity: Int(LP_SIM_MAX_THREADS))
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
        simulation.threads![i] = SimThread()
        lps_store_u32(simulation.words! + i, 0)
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
        for (rank, id) in order.enumerated() { simulation.threads![id].priority = UInt64(depth) + UInt64(rank) }
        var points: [UInt64] = []
        for _ in 1..<max(depth, 1) { points.append(1 + splitmix(&s.rng) % horizon) }
        points.sort()
        s.changePoints = points
    }
    simulation.run = s
    return 0
}

/// The calling thread joins the armed run as thread `id` and returns when
/// it is first scheduled. C: `lp_sim_thread_join`.
@c public func lp_sim_thread_join(_ id: UInt32) -> Int32 {
    lps_lock_simulation()
    guard simulation.run.armed, !simulation.run.started else {
        lps_unlock_simulation()
        return LPError.notFound
    }
    guard Int(id) < simulation.run.threadCount else {
        lps_unlock_simulation()
        return LPError.invalid
    }
    let me = Int(id)
    let t = simulation.threads! + me
    guard lps_sim_self() == 0, t.pointee.state == SimThreadState.absent else {
        lps_unlock_simulation()
        return LPError.exists
    }
    t.pointee.state = SimThreadState.runnable
    t.pointee.pthread = lps_sys_pthread_self()
    lps_sim_set_self(UInt32(id) + 1)
    simulation.run.joined += 1
    if simulation.run.joined == simulation.run.threadCount {
        // The last to arrive starts the run: the first decision.
        simulation.run.started = true
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
    return futexWait(word, expected, timeoutNs)
}

/// Wakes every thread waiting on `word`. C: `lp_sim_wake`.
@c public func lp_sim_wake(_ word: UnsafeMutablePointer<UInt32>?) {
    guard let word else { return }
    futexWake(word, Int32.max)
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
    guard simulation.run.started, !simulation.run.letGo else {
        lps_lock_simulation()
        simulation.run.left += 1
        lps_unlock_simulation()
        return 0
    }
    let me = Int(s &- 1)
    simulation.threads![me].state = SimThreadState.left
    simulation.run.left += 1
    let next = decide(me, kind: simKindLeave)
    if next >= 0 { pass(to: next) }
    return 0
}

/// Ends the run and reports it. C: `lp_sim_stop`.
@c public func lp_sim_stop(_ out: UnsafeMutablePointer<lp_sim_result_t>?) -> Int32 {
    lps_lock_simulation()
    defer { lps_unlock_simulation() }
    guard simulation.run.armed else { return LPError.notFound }
    guard simulation.run.started && simulation.run.left == simulation.run.threadCount else { return LPError.busy }
    if let out {
        out.pointee = lp_sim_result_t(steps: simulation.run.steps, switches: simulation.run.switches, hash: simulation.run.hash,
                                      virtual_ns: simulation.run.now, outcome: simulation.run.outcome)
    }
    simulation.run.armed = false
    simulation.run.started = false
    return 0
}
