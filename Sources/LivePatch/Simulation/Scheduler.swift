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

/// Blocked threads whose virtual timeout passed become runnable.
func expireTimeouts() {
    let t = simulation.threads!
    for i in 0..<simulation.run.threadCount where t[i].state == SimThreadState.blocked && t[i].deadline <= simulation.run.now {
        t[i].state = SimThreadState.runnable
        t[i].wakeResult = LPError.timedOut
    }
}

/// The next thread to run among the runnable ones, or -1 if there is none.
func chooseRunnable() -> Int {
    let t = simulation.threads!
    if simulation.run.strategy == Int32(LP_SIM_PCT) {
        var best = -1
        for i in 0..<simulation.run.threadCount where t[i].state == SimThreadState.runnable {
            if best < 0 || t[i].priority > t[best].priority { best = i }
        }
        return best
    }
    var count: UInt64 = 0
    for i in 0..<simulation.run.threadCount where t[i].state == SimThreadState.runnable { count += 1 }
    if count == 0 { return -1 }
    var k = splitmix(&simulation.run.rng) % count
    for i in 0..<simulation.run.threadCount where t[i].state == SimThreadState.runnable {
        if k == 0 { return i }
        k -= 1
    }
    return -1
}

/// One scheduling decision, made by thread `me` (-1: the run begins) at a
/// point of kind `kind`. Returns the thread that runs next, or -1 when
/// nobody does: every thread left, or the run was let go.
func decide(_ me: Int, kind: Int32) -> Int {
    let t = simulation.threads!
    simulation.run.steps += 1
    if simulation.run.steps > simulation.run.maxSteps {
        letGo(Int32(LP_SIM_BUDGET))
        return -1
    }
    simulation.run.now &+= simTickNs
    expireTimeouts()
    if simulation.run.strategy == Int32(LP_SIM_PCT) && me >= 0 && simulation.run.nextChange < simulation.run.changePoints.count
        && simulation.run.steps >= simulation.run.changePoints[simulation.run.nextChange] {
        // PCT's change point: the running thread drops below every initial
        // priority (d-1, d-2, ... 1 for the successive change points).
        t[me].priority = UInt64(simulation.run.changePoints.count - simulation.run.nextChange)
        simulation.run.nextChange += 1
    }
    var next = chooseRunnable()
    if next < 0 {
        var earliest = UInt64.max
        for i in 0..<simulation.run.threadCount where t[i].state == SimThreadState.blocked { earliest = min(earliest, t[i].deadline) }
        if earliest != UInt64.max {
            // Nobody can run before the first timeout: jump to it.
            simulation.run.now = max(simulation.run.now, earliest)
            expireTimeouts()
            next = chooseRunnable()
        } else if simulation.run.left < simulation.run.threadCount {
            letGo(Int32(LP_SIM_DEADLOCK))
            return -1
        }
    }
    simulation.run.hash = fnvMix(fnvMix(fnvMix(simulation.run.hash, UInt64(bitPattern: Int64(me))), UInt64(UInt32(bitPattern: kind))),
                      UInt64(bitPattern: Int64(next)))
    if next >= 0 && next != me { simulation.run.switches += 1 }
    return next
}

/// Deadlock or budget: release every thread; from now on they run freely.
func letGo(_ outcome: Int32) {
    simulation.run.outcome = outcome
    simulation.run.letGo = true
    let t = simulation.threads!
    for i in 0..<simulation.run.threadCount where t[i].state == SimThreadState.runnable || t[i].state == SimThreadState.blocked {
        t[i].wakeResult = 0 // a spurious wake-up: every engine wait re-checks its condition
        pass(to: i)
    }
}

/// Passes the baton to `next`. Pairs with the acquire load in waitForBaton():
/// everything the holder wrote is seen by the next one.
func pass(to next: Int) {
    let w = simulation.words! + next
    lps_store_release_u32(w, 1)
    lps_sys_futex_wake(w, 1)
}

/// Sleeps until this thread holds the baton, then takes it.
func waitForBaton(_ me: Int) {
    let w = simulation.words! + me
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
    guard !simulation.run.letGo else { return }
    let t = simulation.threads! + me
    let signo = t.pointee.pendingSignal
    guard signo != 0 else { return }
    t.pointee.pendingSignal = 0
    _ = lps_sys_pthread_kill(t.pointee.pthread, signo)
}
