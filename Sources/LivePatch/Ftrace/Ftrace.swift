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
    let named = patcher.patches.slots.contains { $0?.contains(index) ?? false }
    if named && injectedBug == LP_BUG_PAD_NOT_WRITTEN { return 0 }
    return lps_ftrace_set_armed(f, named ? 1 : 0) == 0 ? 0 : LPError.invalid
}

/// The function registered at `address` (by lp_func_register, under any
/// name), if any.
func functionRegistered(at address: UnsafeRawPointer) -> FunctionRecord? {
    lps_lock_registry()
    defer { lps_unlock_registry() }
    for index in 0..<registry.functions.count where functionRecord(index).pointee.orig == address {
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
