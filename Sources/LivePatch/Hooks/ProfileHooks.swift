internal import CLivePatchShim

// ftrace-style automatic hooks: a C program compiled with
// -finstrument-functions calls __cyg_profile_func_enter/exit around every
// function it compiled. Those registered with lp_func_register_auto() (keyed
// by the address of their original implementation) are counted exactly as
// lp_func_enter/lp_func_exit count them: the same code runs, so an unmodified
// caller can be part of a patched set (lp_patch_extend_set) and its
// activations begin, fix and end the universe of the LP_CALLs inside it.
//
// Limits:
// - Counting only. The implementation lp_func_enter returns is dropped: the
//   instrumented code has already been called, so nothing is redirected.
//   Redirection goes through lp_func_enter/LP_CALL, as before.
// - One rule against double counting: a function counts through the cyg
//   hooks only if it was registered with lp_func_register_auto(), and such a
//   function must not also be called through LP_CALL (its instrumented body
//   would count a second time). A function registered with lp_func_register()
//   is not in the address table: its instrumented body counts nothing, and
//   LP_CALL counts it once, whichever implementation it runs (a new
//   implementation has another address anyway).
// - Register before any thread can be inside the function: an exit whose
//   entry was not counted would end the enclosing activation early.
//
// The library itself is not compiled with -finstrument-functions (Swift never
// instruments), so the hooks cannot recurse into themselves. A miss (an
// unregistered address, most calls) reads one or two slots of a static table
// and touches no thread-local state: it is safe before lp_thread_register,
// in signal handlers, and before main. A hit runs lp_func_enter/lp_func_exit,
// whose first call on a thread registers it lazily.

/// The slot of `addr` in lps_addr_table, and whether it holds `addr` (else it
/// is the empty slot where `addr` would go: the table is never full, at most
/// LP_MAX_FUNCS of its 2 x LP_MAX_FUNCS slots are used).
@inline(__always)
func probeAddress(_ addr: UnsafeRawPointer) -> (slot: UnsafeMutablePointer<lps_addr_slot_t>, found: Bool) {
    var slot = lps_addr_first(addr)!
    while true {
        // Pairs with the release store of the key in lps_addr_publish(): a
        // key seen here implies the func stored before it.
        let key = lps_addr_key(slot)
        if key == addr { return (slot, true) }
        if key == nil { return (slot, false) }
        slot = lps_addr_next(slot)
    }
}

/// The function registered with lp_func_register_auto() at `addr`, if any.
@inline(__always)
func autoFunction(at addr: UnsafeRawPointer) -> FunctionRecord? {
    // The first slot decides, unless it holds a function 2 MiB away: tested
    // before the probe loop, so that a hit or a miss makes no loop setup.
    // Pairs with the release store of the key in lps_addr_publish(), as in
    // probeAddress.
    let first = lps_addr_first(addr)!
    let key = lps_addr_key(first)
    if key == addr { return lps_addr_func(first) }
    if key == nil { return nil }
    let (slot, found) = probeAddress(addr)
    return found ? lps_addr_func(slot) : nil
}

/// Whether function `index` was registered with lp_func_register_auto().
func isAutoRegistered(_ index: UInt32) -> Bool {
    let f = functionRecord(index)
    guard let orig = f.pointee.orig else { return false }
    return autoFunction(at: orig) == f
}

/// Counts an entry of `fn` if it was registered with lp_func_register_auto().
/// C: `__cyg_profile_func_enter`.
@c(__cyg_profile_func_enter)
public func cygProfileFuncEnter(_ fn: UnsafeMutableRawPointer?, _ callSite: UnsafeMutableRawPointer?) {
    guard let fn, let f = autoFunction(at: fn) else { return }
    _ = lp_func_enter(f)
}

/// Counts an exit of `fn` if it was registered with lp_func_register_auto().
/// C: `__cyg_profile_func_exit`.
@c(__cyg_profile_func_exit)
public func cygProfileFuncExit(_ fn: UnsafeMutableRawPointer?, _ callSite: UnsafeMutableRawPointer?) {
    guard let fn, let f = autoFunction(at: fn) else { return }
    lp_func_exit(f)
}
