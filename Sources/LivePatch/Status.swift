internal import CLivePatchShim

// Introspection and stragglers: the status snapshot, the stalled-thread
// walk, and nudges.

@exclusivity(unchecked) nonisolated(unsafe) var nudgeSignal: Int32 = 0
@exclusivity(unchecked) nonisolated(unsafe) var nudgesSent: UInt64 = 0
let nudgePeriodNs: UInt64 = 10_000_000

/// Sends the nudge signal to each thread of the last scan that is still the
/// thread it was (same slot generation, still live). Patcher lock held; the
/// registry lock is taken so that a thread cannot finish exiting while we
/// signal it.
func nudgeStalled() {
    let signo = nudgeSignal
    guard signo != 0 else { return }
    let targets = lastStalled
    lps_lock_registry()
    for s in targets where lps_load_u32(&s.thread.pointee.state) == UInt32(LPS_REC_LIVE)
        && lps_load_u64(&s.thread.pointee.generation) == s.generation {
        if signalThread(s.thread.pointee.pthread, signo) == 0 { nudgesSent &+= 1 }
    }
    lps_unlock_registry()
}

func copyBytes<T>(_ bytes: [UInt8], into field: inout T) {
    withUnsafeMutableBytes(of: &field) { buf in
        buf.initializeMemory(as: UInt8.self, repeating: 0)
        for (i, b) in bytes.prefix(buf.count - 1).enumerated() { buf[i] = b }
    }
}

/// The transition half of lp_transition_status_t. Patcher lock held.
func fillTransitionStatus(_ s: inout lp_transition_status_t) {
    if let tx = transition {
        s.state = Int32(tx.isPatching ? LP_TRANSITION_PATCHING : LP_TRANSITION_UNPATCHING)
    } else {
        s.state = Int32(LP_TRANSITION_IDLE)
    }
    s.model = transitionStats.lastModel
    s.pending_threads = transitionStats.lastPending
    s.pending_functions = transitionStats.lastPendingFunctions
    s.transitions = transitionStats.started
    s.completed = transitionStats.completed
    s.reversed = transitionStats.reversed
    s.forced = transitionStats.forced
    s.checks = transitionStats.checks
    s.hold_attempts = transitionStats.holdAttempts
    s.hold_timeouts = transitionStats.holdTimeouts
    s.hold_ns = switchPolicy.holdNs
    s.retry_ns = switchPolicy.retryNs
    s.nudges_sent = nudgesSent
    copyBytes(transitionStats.lastPatchName, into: &s.patch)
}

/// The registry and misuse counters of lp_transition_status_t.
func fillRegistryStatus(_ s: inout lp_transition_status_t) {
    var unbalanced: UInt64 = 0
    forEachLiveThread { t in unbalanced &+= lps_load_u64(&t.pointee.unbalanced) }
    lps_lock_registry()
    s.registered_threads = threadRegistry.live
    s.registered_functions = UInt64(functionRegistry.count)
    s.unbalanced_exits = unbalanced &+ threadRegistry.unbalancedOfExited
        &+ lps_load_u64(&lps_global_ref().pointee.unbalanced_unregistered)
    s.exited_inside = threadRegistry.exitedInside
    lps_unlock_registry()
    s.unregistered_calls = lps_load_u64(&lps_global_ref().pointee.unregistered_calls)
    s.abandoned_exits = lps_load_u64(&lps_global_ref().pointee.abandoned_exits)
}

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
        guard let tx = transition else { return }
        _ = scan(tx)
        for s in lastStalled {
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
    withPatcherLock { nudgeSignal = signo }
    return 0
}
