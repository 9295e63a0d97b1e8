internal import CLivePatchShim

// The patcher lock, which Core/SharedState.swift's PatcherGuarded state needs.
// It is held across waits (Transition/Hold.swift). In a simulation, a
// simulated thread that slept on the mutex while its holder waits for the
// baton would stop the whole run: it takes the lock with trylock and, when
// that fails, waits through the seam (so, the simulation) for the next unlock.

func lockPatcher() {
    guard lps_sim_self() != 0 else {
        lps_lock_patcher()
        return
    }
    let unlocks = lps_patcher_unlocks()
    while true {
        let seq = lps_load_u32(unlocks)
        if lps_trylock_patcher() { return }
        // The bound: a holder outside the run wakes no one.
        _ = futexWait(unlocks, seq, 1_000_000)
    }
}

func unlockPatcher() {
    lps_unlock_patcher()
    guard lps_sim_self() != 0 else { return }
    let unlocks = lps_patcher_unlocks()
    _ = lps_fetch_add_u32(unlocks, 1)
    futexWake(unlocks, Int32.max)
}

/// Runs `body` with the patcher lock held. No user code runs: what body
/// queues (log lines, post_* callbacks) waits for the next delivery.
func withPatcherLock<R>(_ body: () -> R) -> R {
    lockPatcher()
    defer { unlockPatcher() }
    return body()
}

/// Runs `body` with the patcher lock held, then, unlocked, the log lines and
/// callbacks queued (Patches/EventQueue.swift). The queue is claimed in the
/// same hold as body, so a call takes the lock once more per event only.
func withPatcherLockDeliveringEvents<R>(_ body: () -> R) -> R {
    lockPatcher()
    let result = body()
    let claim = claimEvents()
    unlockPatcher()
    deliverEvents(claim)
    return result
}
