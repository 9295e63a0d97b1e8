internal import CLivePatchShim

// The C entry points of livepatch.h's section "transitions".

/// A snapshot of the transition state and the misuse counters.
/// C: `lp_transition_status`.
@c public func lp_transition_status(_ out: UnsafeMutablePointer<lp_transition_status_t>?) -> Int32 {
    guard let out else { return LPError.invalid }
    var s = lp_transition_status_t()
    withPatcherLock { fillTransitionStatus(&s) }
    fillRegistryStatus(&s)
    out.pointee = s
    return 0
}

/// Calls `cb` for each thread that blocks the transition in flight, from a
/// fresh scan. C: `lp_transition_for_each_stalled`.
@c public func lp_transition_for_each_stalled(
    _ cb: (@convention(c) (UnsafePointer<lp_thread_info_t>?, UnsafeMutableRawPointer?) -> Int32)?,
    _ ctx: UnsafeMutableRawPointer?
) -> Int32 {
    guard let cb else { return LPError.invalid }
    var infos: [lp_thread_info_t] = []
    withPatcherLock {
        guard let tx = patcher.transition else { return }
        _ = scan(tx)
        // A stalled thread may have exited since, and its slot been reused:
        // it is reported only while it is still there (as nudgeStalled).
        // Nothing is allocated under the registry lock: a thread parked in
        // malloc may be registering from a signal handler.
        infos.reserveCapacity(patcher.stalled.count)
        lps_lock_registry()
        defer { lps_unlock_registry() }
        for s in patcher.stalled where isStillLive(s.thread, generation: s.generation) {
            var info = lp_thread_info_t()
            info.name = s.thread.pointee.name
            info.tid = s.thread.pointee.tid
            info.reason = s.reason
            info.kernel_depth = lps_load_u32(&s.thread.pointee.kdepth)
            info.function_depth = lps_load_u32(&s.thread.pointee.fdepth)
            fillInside(s.thread, tx.epoch, count: &info.n_inside, &info.inside)
            infos.append(info)
        }
    }
    for var info in infos {
        let r = cb(&info, ctx)
        if r != 0 { return r }
    }
    return 0
}

/// The signal lp_transition_wait() sends to stalled threads; 0 turns nudges
/// off. C: `lp_set_nudge_signal`.
@c public func lp_set_nudge_signal(_ signo: Int32) -> Int32 {
    guard signo == 0 || lps_sys_signal_catchable(signo) != 0 else { return LPError.invalid }
    withPatcherLock { patcher.nudgeSignal = signo }
    return 0
}

/// One completion step: 1 done (or nothing in flight), 0 pending.
/// C: `lp_transition_try_complete`.
@c public func lp_transition_try_complete() -> Int32 {
    if callerIsInside() { return LPError.deadlock }
    return withPatcherLockDeliveringEvents { tryCompleteTransition() }
}

/// Drives the transition until it completes or `timeoutNs` passes (0: no
/// limit). C: `lp_transition_wait`.
@c public func lp_transition_wait(_ timeoutNs: UInt64) -> Int32 {
    if callerIsInside() { return LPError.deadlock }
    defer { deliverQueuedEvents() } // the completion's log lines and post_* callback
    let start = monotonicNow()
    let deadline = timeoutNs == 0 ? UInt64.max : saturatingAdd(start, timeoutNs)
    // Whether the threads bump wake_seq as they leave the area for us. A
    // hold-based transition switches only inside a hold, which asks for
    // wake-ups itself; between holds it waits for its next hold, and a
    // wake-up on every activation's end (a futex syscall each) would cost a
    // program whose lock functions are in the set most of its throughput.
    var askingWakes = false
    defer { if askingWakes { _ = lps_fetch_add_u32(&lps_global_ref().pointee.waiting, UInt32.max) } }
    var nextNudge = start &+ nudgePeriodNs
    while true {
        let seq = lps_load_u32(&lps_global_ref().pointee.wake_seq)
        var wakeAt = deadline
        let state: (done: Bool, wantsWakes: Bool, transient: Bool) = withPatcherLock {
            if tryCompleteTransition(deadline: deadline) == 1 { return (true, false, false) }
            guard let tx = patcher.transition else { return (false, false, false) }
            // A hold already due (a pause shorter than this step) runs at
            // once: the wake-up must not wait for the backstop.
            if tx.holdsEntries { wakeAt = min(wakeAt, tx.nextHoldAt) }
            if tx.recheckAt != 0 { wakeAt = min(wakeAt, tx.recheckAt) }
            return (false, !tx.holdsEntries, !tx.holdsEntries && patcher.scanTransient)
        }
        if state.done { return 0 }
        if state.wantsWakes != askingWakes {
            askingWakes = state.wantsWakes
            _ = lps_fetch_add_u32(&lps_global_ref().pointee.waiting, askingWakes ? 1 : UInt32.max)
            if askingWakes {
                // Pairs with lps_thread_side_fence() after a thread leaves an
                // activation: from here on, a thread that unblocks us either
                // is seen by the next check (run now) or sees `waiting` and
                // bumps wake_seq.
                lps_patcher_side_fence()
                continue
            }
        }
        let now = monotonicNow()
        if now >= deadline { return LPError.timedOut }
        if patcher.nudgeSignal != 0 {
            if now >= nextNudge {
                withPatcherLock { nudgeStalled() }
                nextNudge = now &+ nudgePeriodNs
            }
            wakeAt = min(wakeAt, nextNudge)
        }
        // A thread caught between storing "undecided" and deciding wakes no
        // one; look again shortly. Otherwise sleep until a thread reports
        // progress, the next hold, the next nudge or the deadline; the one
        // second cap is a backstop against a lost wake-up, not a poll.
        if wakeAt <= now { continue }
        let cap: UInt64 = state.transient ? 20_000 : 1_000_000_000
        _ = futexWait(&lps_global_ref().pointee.wake_seq, seq, min(wakeAt - now, cap))
    }
}

/// Turns the transition in flight around. C: `lp_transition_reverse`.
@c public func lp_transition_reverse() -> Int32 {
    withPatcherLockDeliveringEvents {
        guard var tx = patcher.transition else { return LPError.invalid }
        reverseTransition(&tx)
        patcher.transition = tx
        return 0
    }
}

/// Completes the transition now. C: `lp_transition_force`.
@c public func lp_transition_force() -> Int32 {
    withPatcherLockDeliveringEvents {
        guard let tx = patcher.transition else { return LPError.invalid }
        forceTransition(tx)
        completeTransition()
        return 0
    }
}

/// The first hold's bound (and the stall window) and the pause between holds.
/// C: `lp_set_switch_policy`.
@c public func lp_set_switch_policy(_ holdNs: UInt64, _ retryNs: UInt64) -> Int32 {
    guard holdNs != 0, retryNs != 0, holdNs <= switchPolicyMaxNs, retryNs <= switchPolicyMaxNs else {
        return LPError.invalid
    }
    return withPatcherLock {
        patcher.policy.holdNs = holdNs
        patcher.policy.retryNs = retryNs
        return 0
    }
}

/// The most a hold's bound grows to by doubling. C: `lp_set_hold_limit`.
@c public func lp_set_hold_limit(_ limitNs: UInt64) -> Int32 {
    guard limitNs != 0, limitNs <= switchPolicyMaxNs else { return LPError.invalid }
    return withPatcherLock {
        patcher.policy.limitNs = limitNs
        return 0
    }
}
