internal import CLivePatchShim

/// init + start: computes each function's old and new implementation,
/// publishes them and the model, then the epoch, and fences every thread.
func startTransition(_ patch: Patch, enabling: Bool, from: [Int], to: [Int]) -> Int32 {
    ensureInitialized()
    let functions = changedFunctions(from: from, to: to).map {
        TransitionFunction(index: $0, old: effectiveImpl($0, order: from), new: effectiveImpl($0, order: to))
    }
    let model = patch.model
    if model.countsPerFunction && !ensureCounterRows(functions.count) { return LPError.noMemory }
    if model.checksStacks {
        let r = prepareStackCheck(functions)
        if r != 0 { return r }
    }
    let epoch = lps_load_u64(&lps_global_ref().pointee.epoch) &+ 1
    for (i, fn) in functions.enumerated() {
        let f = functionRecord(fn.index)
        lps_store_release_ptr(&f.pointee.tx_old, fn.old)
        lps_store_release_ptr(&f.pointee.tx_new, fn.new)
        lps_store_u32(&f.pointee.tx_index, UInt32(i))
        lps_store_u32(&f.pointee.hold, 0)
        lps_store_u32(&f.pointee.fn_universe, universeOld)
        lps_store_release_u64(&f.pointee.tx_epoch, epoch)
    }
    lps_store_u32(&lps_global_ref().pointee.leave, model.leave)
    lps_store_u32(&lps_global_ref().pointee.sw, model.effectiveSwitch)
    lps_store_u32(&lps_global_ref().pointee.flags, model.flags)
    lps_store_u32(&lps_global_ref().pointee.target, universeNew)
    lps_store_u32(&lps_global_ref().pointee.kuniv, universeOld)
    lps_store_u32(&lps_global_ref().pointee.hold, 0)
    lps_store_u32(&lps_global_ref().pointee.kernel_area, model.leave == LP_LEAVE_KERNEL.rawValue ? 1 : 0)
    // Pairs with the acquire loads of lps_global.epoch at every outermost
    // entry (Hooks.swift): a thread that reads this epoch sees all of the above.
    lps_store_release_u64(&lps_global_ref().pointee.epoch, epoch)
    // Pairs with lps_thread_side_fence() in the hooks: after this, every thread's
    // next outermost entry reads the new epoch, and every activation it had
    // begun is visible to the scans.
    if injectedBug != LP_BUG_SKIP_GRACE_PERIOD { lps_patcher_side_fence() }
    patch.inTransition = true
    transition = Transition(patch: patch, enabling: enabling, model: model, epoch: epoch, functions: functions,
                            from: from, to: to)
    transitionStats.started += 1
    transitionStats.lastModel = model.raw
    transitionStats.lastPatchName = patch.name
    return 0
}

/// Every function of the patches that are on one stack and not the other:
/// the patch enabled or disabled, or with atomic replace the new patch and
/// every patch it replaces. Each once, in patch order.
func changedFunctions(from: [Int], to: [Int]) -> [UInt32] {
    let changed = from.filter { !to.contains($0) } + to.filter { !from.contains($0) }
    if changed.count == 1 { return patchRegistry.patches[changed[0]]!.functions }
    var seen = [Bool](repeating: false, count: Int(LP_MAX_FUNCS))
    var result: [UInt32] = []
    for slot in changed {
        for f in patchRegistry.patches[slot]!.functions where !seen[Int(f)] {
            seen[Int(f)] = true
            result.append(f)
        }
    }
    return result
}
