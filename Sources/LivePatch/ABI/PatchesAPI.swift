internal import CLivePatchShim

/// A new, disabled patch. C: `lp_patch_create`.
@c public func lp_patch_create(_ name: UnsafePointer<CChar>?, _ model: lp_model_t, _ flags: UInt32) -> UnsafeMutablePointer<lp_patch_t>? {
    guard let name, flags & ~UInt32(LP_PATCH_REPLACE) == 0, let bytes = copyName(name) else { return failNull(LPError.invalid) }
    return withPatcherLock { () -> UnsafeMutablePointer<lp_patch_t>? in
        guard let decoded = Model(model) else { return failNull(LPError.invalid) }
        if patchRegistry.patches.isEmpty {
            patchRegistry.patches = [Patch?](repeating: nil, count: Int(LP_MAX_PATCHES))
        }
        if patchRegistry.patches.contains(where: { $0?.name == bytes }) { return failNull(LPError.exists) }
        // Slots are handed out round-robin, so a destroyed patch's handle
        // stays unknown (-ENOENT) for as long as possible: until every
        // other slot has been used since.
        let count = patchRegistry.patches.count
        guard let offset = (0..<count).first(where: { patchRegistry.patches[(patchRegistry.nextSlot + $0) % count] == nil })
        else { return failNull(LPError.noMemory) }
        let slot = (patchRegistry.nextSlot + offset) % count
        patchRegistry.nextSlot = (slot + 1) % count
        patchRegistry.patches[slot] = Patch(slot: slot, name: bytes, model: decoded,
                                                replace: flags & UInt32(LP_PATCH_REPLACE) != 0)
        let handle = patchTableBase + slot
        handle.pointee.live = 1
        return handle
    }
}

/// Replaces `f` with `newImpl` while the patch is enabled. C: `lp_patch_add_func`.
@c public func lp_patch_add_func(_ p: UnsafeMutablePointer<lp_patch_t>?, _ f: UnsafeMutablePointer<lp_func_t>?,
                                 _ newImpl: UnsafeRawPointer?) -> Int32 {
    withPatcherLock {
        let (patch, function, err) = patchForEditing(p, f, replacing: newImpl)
        guard let patch else { return err }
        guard let newImpl else { return LPError.invalid }
        patch.replacements.append((function, newImpl))
        let armed = syncPad(function)
        if armed != 0 { patch.replacements.removeLast() }
        return armed
    }
}

/// Counts `f` in the patched set without replacing it. C: `lp_patch_extend_set`.
@c public func lp_patch_extend_set(_ p: UnsafeMutablePointer<lp_patch_t>?, _ f: UnsafeMutablePointer<lp_func_t>?) -> Int32 {
    withPatcherLock {
        let (patch, function, err) = patchForEditing(p, f, replacing: nil)
        guard let patch else { return err }
        patch.extended.append(function)
        let armed = syncPad(function)
        if armed != 0 { patch.extended.removeLast() }
        return armed
    }
}

/// Starts the transition that enables the patch, after its pre_patch
/// callback (run unlocked, the patcher marked busy meanwhile).
/// C: `lp_patch_enable`.
@c public func lp_patch_enable(_ p: UnsafeMutablePointer<lp_patch_t>?) -> Int32 {
    let (prepared, err): (Patch?, Int32) = withPatcher {
        let (patch, err) = lookupPatch(p)
        guard let patch else { return (nil, err) }
        if patch.enabled || patch.isEmpty { return (nil, LPError.invalid) }
        if transition != nil || patcherBusy { return (nil, LPError.busy) }
        if let refusal = stateRefusal(patch) { return (nil, refusal) }
        var line = LogLine()
        line.text("enabling patch ")
        line.quoted(patch.name)
        logLine(line)
        logPatch(patch, "initializing patching transition")
        preCallbackBegins(patch)
        return (patch, 0)
    }
    guard let patch = prepared else { return err }
    let cancelled = runPreCallback(patch, patching: true) != 0
    return withPatcher {
        preCallbackEnds(patch)
        if cancelled {
            var line = LogLine()
            line.text("pre-patch callback failed for patch ")
            line.quoted(patch.name)
            logLine(line)
            logFailedToEnable(patch)
            logPatch(patch, "canceling patching transition")
            return LPError.canceled
        }
        let from = patchRegistry.enabledOrder
        let r = startTransition(patch, enabling: true, from: from, to: patch.replace ? [patch.slot] : from + [patch.slot])
        if r == 0 {
            logPatch(patch, "starting patching transition")
        } else {
            // pre_patch ran: pair it with post_unpatch, as the kernel's
            // klp_cancel_transition does.
            logFailedToEnable(patch)
            queueCallback(patch, .postUnpatch)
        }
        return r
    }
}

/// Starts the transition that disables the patch, after its pre_unpatch
/// callback (run unlocked, the patcher marked busy meanwhile).
/// C: `lp_patch_disable`.
@c public func lp_patch_disable(_ p: UnsafeMutablePointer<lp_patch_t>?) -> Int32 {
    let (prepared, err): (Patch?, Int32) = withPatcher {
        let (patch, err) = lookupPatch(p)
        guard let patch else { return (nil, err) }
        if transition != nil || patcherBusy { return (nil, LPError.busy) }
        if !patch.enabled { return (nil, LPError.invalid) }
        if patchRegistry.enabledOrder.last != patch.slot { return (nil, LPError.busy) }
        logPatch(patch, "initializing unpatching transition")
        preCallbackBegins(patch)
        return (patch, 0)
    }
    guard let patch = prepared else { return err }
    _ = runPreCallback(patch, patching: false)
    return withPatcher {
        preCallbackEnds(patch)
        let from = patchRegistry.enabledOrder
        let r = startTransition(patch, enabling: false, from: from, to: Array(from.dropLast()))
        if r == 0 {
            logPatch(patch, "starting unpatching transition")
        } else {
            // pre_unpatch ran and the patch stays enabled: post_patch pairs it.
            queueCallback(patch, .postPatch)
        }
        return r
    }
}

/// Frees a disabled patch. C: `lp_patch_destroy`.
@c public func lp_patch_destroy(_ p: UnsafeMutablePointer<lp_patch_t>?) -> Int32 {
    withPatcherLock {
        let (patch, err) = lookupPatch(p)
        guard let patch else { return err }
        if patch.frozen { return LPError.busy }
        patchRegistry.patches[patch.slot] = nil
        (patchTableBase + patch.slot).pointee.live = 0
        // A pad no patch names any more goes back to NOPs. Disarming only
        // rewrites a byte already written, on a page already made writable once.
        for function in patch.functions { _ = syncPad(function) }
        return 0
    }
}
