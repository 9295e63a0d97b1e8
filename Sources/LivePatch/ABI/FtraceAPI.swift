internal import CLivePatchShim

// The C entry points of livepatch/ftrace.h: user-space ftrace.

/// Registers every function with a patchable entry in the loaded objects;
/// returns how many it registered. C: `lp_ftrace_discover`.
@c public func lp_ftrace_discover(_ flags: UInt32) -> Int32 {
    guard flags == 0 else { return LPError.invalid }
    var state: (registered: Int32, error: Int32) = (0, 0)
    let r = lps_ftrace_scan({ name, fallback, function, cell, ctx in
        let state = ctx!.assumingMemoryBound(to: (registered: Int32, error: Int32).self)
        let (found, err) = padFunction(name, fallback, function!)
        guard let f = found else {
            // A name taken by another function at another address: skipped.
            if err == LPError.exists { return 0 }
            state.pointee.error = err
            return 1
        }
        return withPatcherLock { () -> Int32 in
            let published = lps_ftrace_pad_publish(cell, f)
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
