internal import CLivePatchShim

// The verbs that end or turn a transition: complete, reverse, force,
// cancel (kernel/livepatch/transition.c's klp_complete_transition,
// klp_reverse_transition, klp_force_transition, klp_cancel_transition).
// Patcher lock held.

/// complete: every function takes its final implementation, then leaves the
/// transition; the patch stack and states follow, and the completion's log
/// lines and post_* callback are queued (run after the lock is released).
func completeTransition() {
    guard let tx = patcher.transition else { return }
    for fn in tx.functions {
        let f = functionRecord(fn.index)
        lps_store_release_ptr(&f.pointee.impl, tx.target == universeNew ? fn.new : fn.old)
    }
    for fn in tx.functions {
        // Release: a hook that reads tx_epoch == 0 (acquire) sees impl above.
        lps_store_release_u64(&functionRecord(fn.index).pointee.tx_epoch, 0)
    }
    lps_store_u32(&lps_global_ref().pointee.kernel_area, 0)
    let switchedOver = tx.target == universeNew
    if switchedOver {
        // Atomic replace: the replaced patches leave the stack disabled.
        for slot in tx.from where !tx.to.contains(slot) { patcher.patches.slots[slot]?.enabled = false }
        for slot in tx.to { patcher.patches.slots[slot]?.enabled = true }
        patcher.patches.enabledOrder = tx.to
    }
    for index in tx.late {
        // Late functions that could not join: they started in the target's
        // implementation, which is the final one unless the transition was
        // reversed. The hooks load impl relaxed (tx_epoch is 0 for them), so
        // nothing orders this store for them: they see it eventually.
        lps_store_release_ptr(&functionRecord(index).pointee.impl, effectiveImpl(index, order: patcher.patches.enabledOrder))
    }
    tx.patch.inTransition = false
    patcher.transition = nil
    patcher.stats.completed += 1
    patcher.stats.lastPending = 0
    patcher.stats.lastPendingFunctions = 0
    // The kernel's order: "completing", the post_* callback, "complete".
    let patched = tx.enabling == switchedOver
    logPatch(tx.patch, patched ? "completing patching transition" : "completing unpatching transition")
    queueCallback(tx.patch, patched ? .postPatch : .postUnpatch)
    logPatch(tx.patch, patched ? "patching complete" : "unpatching complete")
    // A patcher asleep in lp_transition_wait() on another thread may go.
    notifyPatcher()
}

/// reverse: the transition heads back to where it started. Patcher lock held.
func reverseTransition(_ tx: inout Transition) {
    logPatch(tx.patch, tx.isPatching ? "reversing transition from patching to unpatching"
                                : "reversing transition from unpatching to patching")
    tx.target ^= 1
    tx.nextHoldAt = 0
    tx.holdTimeouts = 0
    tx.stalledHolds = 0
    tx.reversals += 1
    patcher.stats.reversed += 1
    lps_store_u32(&lps_global_ref().pointee.target, tx.target)
    // Pairs with lps_thread_side_fence() in beginActivation: activations that
    // begin after this take the new target, earlier ones are scanned.
    lps_patcher_side_fence()
    notifyPatcher()
}

/// force: every unit takes the target now, whatever the counts say; the
/// caller completes. Patcher lock held.
func forceTransition(_ tx: Transition) {
    logPatch(tx.patch, tx.isPatching ? "forcing remaining threads to the patched state"
                                : "forcing remaining threads to the unpatched state")
    lps_store_u32(&lps_global_ref().pointee.kuniv, tx.target)
    for fn in tx.functions { lps_store_u32(&functionRecord(fn.index).pointee.fn_universe, tx.target) }
    patcher.stats.forced += 1
}

/// cancel: init could not prepare the transition after the pre_* callback
/// ran, and nothing was published. As the kernel's klp_cancel_transition,
/// the callback that pairs with it is queued: post_unpatch after pre_patch,
/// post_patch after pre_unpatch (the patch stays enabled). Patcher lock held.
func cancelTransition(_ patch: Patch, enabling: Bool) {
    if enabling { logFailedToEnable(patch) }
    queueCallback(patch, enabling ? .postUnpatch : .postPatch)
}
