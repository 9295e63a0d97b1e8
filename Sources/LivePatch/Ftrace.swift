internal import CLivePatchShim

// User-space ftrace (docs/FTRACE.md): functions compiled with
// -fpatchable-function-entry=5 are registered by name from their pads, and
// a pad is armed (a jump to the trampoline, which runs lp_func_enter, calls
// the implementation and runs lp_func_exit) exactly while some patch names
// its function (lp_patch_add_func, lp_patch_add_func_by_name or
// lp_patch_extend_set, until lp_patch_destroy). The text patching, the pad table and the trampolines
// are C (lp_ftrace_*.c, lps_ftrace_trampoline.S).

/// Arms or disarms the pad of function `index` (if it has one) to match
/// whether a patch names it. Patcher lock held: the only writer of pads.
/// 0, or LPError.invalid when the pad's page cannot be made writable.
func syncPad(_ index: UInt32) -> Int32 {
    let f = functionRecord(index)
    guard lps_ftrace_pad_of(f) != nil else { return 0 }
    let named = patchRegistry.patches.contains { $0?.contains(index) ?? false }
    if named && injectedBug == LP_BUG_PAD_NOT_WRITTEN { return 0 }
    return lps_ftrace_set_armed(f, named ? 1 : 0) == 0 ? 0 : LPError.invalid
}

/// The function registered at `address` (by lp_func_register, under any
/// name), if any.
func functionRegistered(at address: UnsafeRawPointer) -> FunctionRecord? {
    lps_lock_registry()
    defer { lps_unlock_registry() }
    for index in 0..<functionRegistry.count where functionRecord(index).pointee.orig == address {
        return functionRecord(index)
    }
    return nil
}

/// The function a pad belongs to: the one already registered at its
/// address, else registered now under its symbol name (or the fallback).
func padFunction(_ name: UnsafePointer<CChar>?, _ fallback: UnsafePointer<CChar>?,
                 _ address: UnsafeRawPointer) -> (FunctionRecord?, Int32) {
    if let f = functionRegistered(at: address) { return (f, 0) }
    var err = LPError.exists
    for candidate in [name, fallback] {
        guard let candidate else { continue }
        let (f, e) = tryRegisterFunction(candidate, address, byAddress: false)
        if let f { return (f, 0) }
        err = e
        guard err == LPError.exists else { break }
    }
    return (nil, err)
}

// MARK: - C API

/// Registers every function with a patchable entry in the loaded objects;
/// returns how many it registered. C: `lp_ftrace_discover`.
@c public func lp_ftrace_discover(_ flags: UInt32) -> Int32 {
    guard flags == 0 else { return LPError.invalid }
    var state: (registered: Int32, error: Int32) = (0, 0)
    let r = lps_ftrace_scan({ name, fallback, function, size, cell, ctx in
        let state = ctx!.assumingMemoryBound(to: (registered: Int32, error: Int32).self)
        let (found, err) = padFunction(name, fallback, function!)
        guard let f = found else {
            // A name taken by another function at another address: skipped.
            if err == LPError.exists { return 0 }
            state.pointee.error = err
            return 1
        }
        return withPatcherLock { () -> Int32 in
            let published = lps_ftrace_pad_publish(cell, function, size, f)
            if published == LPError.exists { return 0 } // two symbols at one address, or a second scan
            guard published == 0 else {
                state.pointee.error = LPError.noMemory
                return 1
            }
            state.pointee.registered += 1
            // A patch that named it before (lp_patch_add_func_by_name) covers it now.
            _ = syncPad(f.pointee.index)
            return 0
        }
    }, &state)
    if state.error != 0 { return state.error }
    return r < 0 ? r : state.registered
}

/// 1 when `f` was registered from a patchable entry (its calls can be
/// redirected without a hook), 0 when not. C: `lp_ftrace_patchable`.
@c public func lp_ftrace_patchable(_ f: UnsafePointer<lp_func_t>?) -> Int32 {
    guard f != nil else { return LPError.invalid }
    guard let index = validFunction(f) else { return LPError.notFound }
    return lps_ftrace_pad_of(functionRecord(index)) != nil ? 1 : 0
}

/// The address a frame returns to, the return trampoline of a hooked call
/// resolved. C: `lp_ftrace_return_address`.
@c public func lp_ftrace_return_address(_ ret: UnsafeRawPointer?, _ slot: UnsafeRawPointer?) -> UnsafeRawPointer? {
    lps_ftrace_real_return(ret, slot)
}
