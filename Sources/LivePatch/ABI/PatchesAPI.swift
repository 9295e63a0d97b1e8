internal import CLivePatchShim

// The C entry points of livepatch.h's section "patches".

/// A new, disabled patch. C: `lp_patch_create`.
@c public func lp_patch_create(_ name: UnsafePointer<CChar>?, _ model: lp_model_t, _ flags: UInt32) -> UnsafeMutablePointer<lp_patch_t>? {
    guard let name, flags & ~UInt32(LP_PATCH_REPLACE) == 0, let bytes = copyName(name) else { return failNull(LPError.invalid) }
    return withPatcherLock { () -> UnsafeMutablePointer<lp_patch_t>? in
        guard let decoded = Model(model) else { return failNull(LPError.invalid) }
        if patcher.patches.slots.isEmpty {
            patcher.patches.slots = [Patch?](repeating: nil, count: Int(LP_MAX_PATCHES))
        }
        if patcher.patches.slots.contains(where: { $0?.name == bytes }) { return failNull(LPError.exists) }
        // Slots are handed out round-robin, so a destroyed patch's handle
        // stays unknown (-ENOENT) for as long as possible: until every
        // other slot has been used since.
        let count = patcher.patches.slots.count
        guard let offset = (0..<count).first(where: { patcher.patches.slots[(patcher.patches.nextSlot + $0) % count] == nil })
        else { return failNull(LPError.noMemory) }
        let slot = (patcher.patches.nextSlot + offset) % count
        patcher.patches.nextSlot = (slot + 1) % count
        patcher.patches.slots[slot] = Patch(slot: slot, name: bytes, model: decoded,
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

/// Starts the transition that enables the patch (Patches/Enable.swift).
/// C: `lp_patch_enable`.
@c public func lp_patch_enable(_ p: UnsafeMutablePointer<lp_patch_t>?) -> Int32 { enablePatch(p) }

/// Starts the transition that disables the patch (Patches/Enable.swift).
/// C: `lp_patch_disable`.
@c public func lp_patch_disable(_ p: UnsafeMutablePointer<lp_patch_t>?) -> Int32 { disablePatch(p) }

/// Frees a disabled patch. C: `lp_patch_destroy`.
@c public func lp_patch_destroy(_ p: UnsafeMutablePointer<lp_patch_t>?) -> Int32 {
    withPatcherLock {
        let (patch, err) = lookupPatch(p)
        guard let patch else { return err }
        if patch.frozen { return LPError.busy }
        patcher.patches.slots[patch.slot] = nil
        (patchTableBase + patch.slot).pointee.live = 0
        // A pad no patch names any more goes back to NOPs. Disarming only
        // rewrites a byte already written, on a page already made writable once.
        for function in patch.functions { _ = syncPad(function) }
        return 0
    }
}
