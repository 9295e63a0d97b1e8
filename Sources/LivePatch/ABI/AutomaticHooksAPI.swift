internal import CLivePatchShim

// Registering a whole loaded object from its symbol table, for a program
// built with -finstrument-functions: static functions cannot be named from
// another file, and a position-independent executable's addresses are known
// only once it is loaded. The symbols are read in C (lps_elf_shim.c); each is
// registered as lp_func_register_auto would.

/// Registers the functions of a loaded object whose names match `nameGlob`,
/// for the cyg hooks; returns how many it registered.
/// C: `lp_func_register_object`.
@c public func lp_func_register_object(_ object: UnsafePointer<CChar>?, _ nameGlob: UnsafePointer<CChar>?,
                                       _ flags: UInt32) -> Int32 {
    guard flags == 0 else { return LPError.invalid }
    // The count so far, then (on a stop) the error: a C callback captures nothing.
    var state: (registered: Int32, error: Int32) = (0, 0)
    let r = lps_elf_for_each_function(object, nameGlob, { name, fallback, addr, ctx in
        let state = ctx!.assumingMemoryBound(to: (registered: Int32, error: Int32).self)
        var (f, err) = tryRegisterFunction(name, addr, byAddress: true)
        if f == nil && err == LPError.exists && fallback != nil {
            (f, err) = tryRegisterFunction(fallback, addr, byAddress: true)
        }
        if f != nil {
            state.pointee.registered += 1
        } else if err != LPError.exists {
            // An address already registered (a second call, an alias at one
            // address) is skipped; anything else stops the walk.
            state.pointee.error = err
            return 1
        }
        return 0
    }, &state)
    if state.error != 0 { return state.error }
    return r < 0 ? r : state.registered
}
