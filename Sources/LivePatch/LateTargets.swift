import CLivePatchShim

// Targets that appear after the patch (the kernel's module loaded after the
// livepatch, klp_module_coming): a patch may name a function that is not
// registered yet; lp_func_register resolves the name, and when a patch that
// names it is enabled or in transition, the function is published already
// patched. No thread can have run it, or be inside it, before it was
// registered, so starting it in the patched implementation breaks no
// consistency promise for it. Guarded by the patcher lock.

/// Turns every pending `name` into a replacement of function `index` and
/// returns the implementation it must start with: the stack's, with the
/// patch in transition on top as in the kernel's func_stack. Patcher and
/// registry locks held; `index`'s orig is set.
func resolveLateTarget(_ name: UnsafePointer<CChar>, index: UInt32) -> UnsafeRawPointer {
    let bytes = copyName(name)
    var touched: [Patch] = []
    for case let patch? in patchRegistry.patches where !patch.pendingByName.isEmpty {
        guard let i = patch.pendingByName.firstIndex(where: { $0.name == bytes }) else { continue }
        patch.replacements.append((index, patch.pendingByName[i].impl))
        patch.pendingByName.remove(at: i)
        touched.append(patch)
    }
    var order = patchRegistry.enabledOrder
    if var tx = transition, !touched.isEmpty {
        order = tx.enabling ? tx.to : tx.from
        // complete() gives it the final stack's implementation.
        tx.late.append(index)
        transition = tx
    }
    for patch in touched where order.contains(patch.slot) {
        var line = LogLine(patch)
        line.text("applying patch to late function ")
        line.quoted(bytes)
        logLine(line)
    }
    return touched.isEmpty ? functionRecord(index).pointee.orig! : effectiveImpl(index, order: order)
}

// MARK: - C API

/// Replaces the function called `name`, registered now or later, with
/// `newImpl` while the patch is enabled. C: `lp_patch_add_func_by_name`.
@c public func lp_patch_add_func_by_name(_ p: UnsafeMutablePointer<lp_patch_t>?, _ name: UnsafePointer<CChar>?,
                                         _ newImpl: UnsafeRawPointer?) -> Int32 {
    withPatcherLock {
        let (patch, err) = lookupPatch(p)
        guard let patch else { return err }
        guard let name, let newImpl else { return LPError.invalid }
        lp_lock_registry()
        let registered = registeredIndex(name)
        lp_unlock_registry()
        if let index = registered {
            let (patch, function, err) = patchForEditing(p, functionRecord(index))
            guard let patch else { return err }
            patch.replacements.append((function, newImpl))
            return 0
        }
        // Registration takes the patcher lock first, so the name cannot be
        // registered between the lookup above and this.
        if patch.frozen { return LPError.busy }
        let bytes = copyName(name)
        if patch.pendingByName.contains(where: { $0.name == bytes }) { return LPError.exists }
        if patch.functions.count + patch.pendingByName.count >= Int(LP_MAX_FUNCS) { return LPError.noMemory }
        patch.pendingByName.append((bytes, newImpl))
        return 0
    }
}
