internal import CLivePatchShim

// try_complete (klp_try_complete_transition): one completion step, and the
// model's decision when the transition is still pending.

/// One completion step. Returns 1 done, 0 pending. A hold it runs ends by
/// `deadline`. Patcher lock held.
func tryCompleteTransition(deadline: UInt64 = UInt64.max) -> Int32 {
    guard var tx = patcher.transition else { return 1 }
    patcher.stats.checks += 1
    tx.checks += 1
    let model = tx.model
    var done: Bool
    if model.countsNothing {
        done = true
    } else if model.checksStacks && model.effectiveSwitch == LP_SWITCH_KERNEL.rawValue {
        done = lps_load_u32(&lps_global_ref().pointee.kuniv) == tx.target || stackStopMachine(&tx, deadline: deadline)
    } else if model.checksStacks {
        done = stackSwitchThreads(&tx, deadline: deadline)
    } else if model.countsPerFunction {
        done = switchFunctions(&tx, deadline: deadline)
    } else if model.effectiveSwitch == LP_SWITCH_KERNEL.rawValue {
        done = lps_load_u32(&lps_global_ref().pointee.kuniv) == tx.target || holdAndSwitchKernel(&tx, deadline: deadline)
    } else {
        done = scan(tx).blocked == 0
    }
    if !done { done = applyModelDecision(&tx) }
    patcher.transition = tx
    if done { completeTransition() }
    return done ? 1 : 0
}

/// Asks the model what a pending transition does, and does it. Returns
/// true if the transition is to complete now (forced).
func applyModelDecision(_ tx: inout Transition) -> Bool {
    let progress = TransitionProgress(
        patch: patchTableBase + tx.patch.slot, patching: tx.isPatching, enabling: tx.enabling,
        elapsedNs: monotonicNow() &- tx.startedAt, checks: tx.checks,
        pendingThreads: patcher.stats.lastPending, pendingFunctions: patcher.stats.lastPendingFunctions,
        reversals: tx.reversals, holdTimeouts: tx.holdTimeouts)
    let decision = tx.model.pending(progress)
    tx.recheckAt = 0
    switch decision.action {
    case .wait:
        if decision.recheckInNs != 0 { tx.recheckAt = saturatingAdd(monotonicNow(), decision.recheckInNs) }
        return false
    case .reverse:
        reverseTransition(&tx)
        return false
    case .force:
        forceTransition(tx)
        return true
    }
}

/// The caller would wait for itself.
@inline(__always) // the frame key is the exported call's: see dropFramesBelow
func callerIsInside() -> Bool {
    guard let t = lps_tls_rec() else { return false }
    dropFramesBelow(t, key: lps_frame_key())
    return lps_load_u32(&t.pointee.fdepth) != 0 || lps_load_u32(&t.pointee.kdepth) != 0
}
