internal import CLivePatchShim

// The C entry points of livepatch.h's section "callbacks, system state, late
// targets and the log". Each validates its arguments and calls the engine.

/// Sets (NULL: clears) the patch's callbacks and their context.
/// C: `lp_patch_set_callbacks`.
@c public func lp_patch_set_callbacks(_ p: UnsafeMutablePointer<lp_patch_t>?, _ cb: UnsafePointer<lp_callbacks_t>?,
                                      _ ctx: UnsafeMutableRawPointer?) -> Int32 {
    withPatcherLock {
        let (patch, err) = lookupPatch(p)
        guard let patch else { return err }
        if patch.frozen { return LPError.busy }
        patch.callbacks = cb?.pointee ?? lp_callbacks_t()
        patch.callbackContext = ctx
        return 0
    }
}

/// Replaces the function called `name`, registered now or later, with
/// `newImpl` while the patch is enabled. C: `lp_patch_add_func_by_name`.
@c public func lp_patch_add_func_by_name(_ p: UnsafeMutablePointer<lp_patch_t>?, _ name: UnsafePointer<CChar>?,
                                         _ newImpl: UnsafeRawPointer?) -> Int32 {
    withPatcherLock {
        let (patch, err) = lookupPatch(p)
        guard let patch else { return err }
        guard let name, let newImpl else { return LPError.invalid }
        lps_lock_registry()
        let registered = registeredIndex(name)
        lps_unlock_registry()
        if let index = registered {
            let (patch, function, err) = patchForEditing(p, functionRecord(index), replacing: newImpl)
            guard let patch else { return err }
            patch.replacements.append((function, newImpl))
            let armed = syncPad(function)
            if armed != 0 { patch.replacements.removeLast() }
            return armed
        }
        // Registration takes the patcher lock first, so the name cannot be
        // registered between the lookup above and this.
        if patch.frozen { return LPError.busy }
        guard let bytes = copyName(name) else { return LPError.invalid }
        if patch.pendingByName.contains(where: { $0.name == bytes }) { return LPError.exists }
        if patch.functions.count + patch.pendingByName.count >= Int(LP_MAX_FUNCS) { return LPError.noMemory }
        patch.pendingByName.append((bytes, newImpl))
        return 0
    }
}

/// Sends the engine's log lines to `fn` (NULL: off). C: `lp_set_log_handler`.
@c public func lp_set_log_handler(_ fn: (@convention(c) (UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void)?,
                                  _ ctx: UnsafeMutableRawPointer?) -> Int32 {
    withPatcherLock {
        patcher.events.handler = fn
        patcher.events.handlerContext = ctx
    }
    return 0
}

/// Declares that the patch modifies system state `id` at `version`.
/// C: `lp_patch_add_state`.
@c public func lp_patch_add_state(_ p: UnsafeMutablePointer<lp_patch_t>?, _ id: CUnsignedLong, _ version: UInt32,
                                  _ data: UnsafeMutableRawPointer?) -> Int32 {
    withPatcherLock {
        let (patch, err) = lookupPatch(p)
        guard let patch else { return err }
        if id == 0 { return LPError.invalid }
        if patch.frozen { return LPError.busy }
        if patch.states.contains(where: { $0.id == id }) { return LPError.exists }
        patch.states.append(SystemState(id: id, version: version, data: data))
        return 0
    }
}

/// The version and data of state `id` in the newest enabled patch that has
/// it. C: `lp_state_get`.
@c public func lp_state_get(_ id: CUnsignedLong, _ version: UnsafeMutablePointer<UInt32>?,
                            _ data: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 {
    withPatcherLock {
        for slot in patcher.patches.enabledOrder.reversed() {
            guard let state = patcher.patches.slots[slot]?.states.first(where: { $0.id == id }) else { continue }
            version?.pointee = state.version
            data?.pointee = state.data
            return 0
        }
        return LPError.notFound
    }
}
