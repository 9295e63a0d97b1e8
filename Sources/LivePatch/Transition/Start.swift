internal import CLivePatchShim

// The verbs that begin a transition, as kernel/livepatch/transition.c's
// klp_init_transition and klp_start_transition: init computes what the
// transition switches and reserves what its model needs, publish(f:) makes
// one function part of it, start publishes the model and the epoch and
// fences every thread. Patcher lock held throughout.

/// init: each function's old and new implementation, the SWITCH_FUNCTION
/// counter rows and the stack checker's symbol ranges; nothing a hook reads
/// yet. A negative errno when the model's needs cannot be met.
func initTransition(_ patch: Patch, enabling: Bool, from: [Int], to: [Int]) -> (Transition?, Int32) {
    ensureInitialized()
    let functions = changedFunctions(from: from, to: to).map {
        TransitionFunction(index: $0, old: effectiveImpl($0, order: from), new: effectiveImpl($0, order: to))
    }
    let model = patch.model
    if model.countsPerFunction && !ensureCounterRows(functions.count) { return (nil, LPError.noMemory) }
    if model.checksStacks {
        let r = prepareStackCheck(functions)
        if r != 0 { return (nil, r) }
    }
    let epoch = lps_load_u64(&lps_global_ref().pointee.epoch) &+ 1
    return (Transition(patch: patch, enabling: enabling, model: model, epoch: epoch, functions: functions,
                       from: from, to: to), 0)
}

/// publish: function `fn`, the transition's `slot`-th, takes part in the
/// transition of `epoch`, its SWITCH_FUNCTION universe being `universe`.
/// The release store of tx_epoch comes last: it pairs with the acquire load
/// of tx_epoch in the hooks (FunctionHooks.swift), so a hook that sees the
/// epoch sees the implementations. Whoever calls it publishes before any
/// hook can reach the function in this transition: start before the epoch
/// (release) and the fence, a late target before its record is live.
func publish(_ fn: TransitionFunction, slot: Int, epoch: UInt64, universe: UInt32) {
    let f = functionRecord(fn.index)
    lps_store_release_ptr(&f.pointee.tx_old, fn.old)
    lps_store_release_ptr(&f.pointee.tx_new, fn.new)
    lps_store_u32(&f.pointee.tx_index, UInt32(slot))
    lps_store_u32(&f.pointee.hold, 0)
    lps_store_u32(&f.pointee.fn_universe, universe)
    lps_store_release_u64(&f.pointee.tx_epoch, epoch)
}

/// start: publishes every function and the model, then the epoch, and fences
/// every thread; the transition is in flight from here.
func startTransition(_ tx: Transition) {
    var tx = tx
    for (slot, fn) in tx.functions.enumerated() { publish(fn, slot: slot, epoch: tx.epoch, universe: universeOld) }
    let model = tx.model
    lps_store_u32(&lps_global_ref().pointee.leave, model.leave)
    lps_store_u32(&lps_global_ref().pointee.sw, model.effectiveSwitch)
    lps_store_u32(&lps_global_ref().pointee.flags, model.flags)
    lps_store_u32(&lps_global_ref().pointee.target, universeNew)
    lps_store_u32(&lps_global_ref().pointee.kuniv, universeOld)
    lps_store_u32(&lps_global_ref().pointee.hold, 0)
    lps_store_u32(&lps_global_ref().pointee.kernel_area, model.leave == LP_LEAVE_KERNEL.rawValue ? 1 : 0)
    // Pairs with the acquire loads of lps_global.epoch at every outermost
    // entry (FunctionHooks.swift): a thread that reads this epoch sees all of
    // the above.
    lps_store_release_u64(&lps_global_ref().pointee.epoch, tx.epoch)
    // Pairs with lps_thread_side_fence() in the hooks: after this, every
    // thread's next outermost entry reads the new epoch, and every activation
    // it had begun is visible to the scans.
    if injectedBug != LP_BUG_SKIP_GRACE_PERIOD { lps_patcher_side_fence() }
    tx.startedAt = monotonicNow()
    tx.patch.inTransition = true
    patcher.transition = tx
    patcher.stats.started += 1
    patcher.stats.lastModel = model.raw
    patcher.stats.lastPatchName = tx.patch.name
}

/// init and start, or the negative errno init answered.
func beginTransition(_ patch: Patch, enabling: Bool, from: [Int], to: [Int]) -> Int32 {
    let (tx, err) = initTransition(patch, enabling: enabling, from: from, to: to)
    guard let tx else { return err }
    startTransition(tx)
    return 0
}

/// Every function of the patches that are on one stack and not the other:
/// the patch enabled or disabled, or with atomic replace the new patch and
/// every patch it replaces. Each once, in patch order.
func changedFunctions(from: [Int], to: [Int]) -> [UInt32] {
    let changed = from.filter { !to.contains($0) } + to.filter { !from.contains($0) }
    if changed.count == 1 { return patcher.patches.slots[changed[0]]!.functions }
    var seen = [Bool](repeating: false, count: Int(LP_MAX_FUNCS))
    var result: [UInt32] = []
    for slot in changed {
        for f in patcher.patches.slots[slot]!.functions where !seen[Int(f)] {
            seen[Int(f)] = true
            result.append(f)
        }
    }
    return result
}
