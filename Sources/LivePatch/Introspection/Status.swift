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
    if let tx = patcher.transition {
        s.state = Int32(tx.isPatching ? LP_TRANSITION_PATCHING : LP_TRANSITION_UNPATCHING)
    } else {
        s.state = Int32(LP_TRANSITION_IDLE)
    }
    s.model = patcher.stats.lastModel
    s.pending_threads = patcher.stats.lastPending
    s.pending_functions = patcher.stats.lastPendingFunctions
    s.transitions = patcher.stats.started
    s.completed = patcher.stats.completed
    s.reversed = patcher.stats.reversed
    s.forced = patcher.stats.forced
    s.checks = patcher.stats.checks
    s.hold_attempts = patcher.stats.holdAttempts
    s.hold_timeouts = patcher.stats.holdTimeouts
    s.hold_ns = patcher.policy.holdNs
    s.retry_ns = patcher.policy.retryNs
    s.nudges_sent = patcher.nudgesSent
    copyBytes(patcher.stats.lastPatchName, into: &s.patch)
}

/// The registry and misuse counters of lp_transition_status_t.
func fillRegistryStatus(_ s: inout lp_transition_status_t) {
    var unbalanced: UInt64 = 0
    lps_lock_registry()
    forEachRecordWithCounts { t in unbalanced &+= lps_load_u64(&t.pointee.unbalanced) }
    s.registered_threads = registry.threads.live
    s.registered_functions = UInt64(registry.functions.count)
    s.unbalanced_exits = unbalanced &+ registry.threads.unbalancedOfExited
        &+ lps_load_u64(&lps_global_ref().pointee.unbalanced_unregistered)
    s.exited_inside = registry.threads.exitedInside
    lps_unlock_registry()
    s.unregistered_calls = lps_load_u64(&lps_global_ref().pointee.unregistered_calls)
    s.abandoned_exits = lps_load_u64(&lps_global_ref().pointee.abandoned_exits)
}
