internal import CLivePatchShim

// Introspection and stragglers: the status snapshot, the stalled-thread
// walk, and nudges.

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
