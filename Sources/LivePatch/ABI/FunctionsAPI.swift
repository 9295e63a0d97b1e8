internal import CLivePatchShim

// The C entry points of livepatch.h's section "functions" (the hooks
// themselves are in Hooks/, beside their slow paths).

/// Registers a patchable function. C: `lp_func_register`.
@c public func lp_func_register(_ name: UnsafePointer<CChar>?, _ impl: UnsafeRawPointer?) -> UnsafeMutablePointer<lp_func_t>? {
    registerFunction(name, impl, byAddress: false)
}

/// Registers a function whose calls the -finstrument-functions hooks count,
/// keyed by `impl`, the address of its original implementation.
/// C: `lp_func_register_auto`.
@c public func lp_func_register_auto(_ name: UnsafePointer<CChar>?, _ impl: UnsafeRawPointer?) -> UnsafeMutablePointer<lp_func_t>? {
    registerFunction(name, impl, byAddress: true)
}

/// The function registered under `name`. C: `lp_func_lookup`.
@c public func lp_func_lookup(_ name: UnsafePointer<CChar>?) -> UnsafeMutablePointer<lp_func_t>? {
    guard let name else { return failNull(LPError.invalid) }
    guard nameLength(name) != nil else { return failNull(LPError.notFound) } // no name that long is registered
    lps_lock_registry()
    defer { lps_unlock_registry() }
    guard let index = registeredIndex(name) else { return failNull(LPError.notFound) }
    return functionRecord(index)
}

/// Entries and exits of `f` over all threads, exact at quiescence.
/// C: `lp_func_counts`.
@c public func lp_func_counts(_ f: UnsafePointer<lp_func_t>?, _ entries: UnsafeMutablePointer<UInt64>?,
                              _ exits: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guard f != nil, let entries, let exits else { return LPError.invalid }
    guard let index = validFunction(f) else { return LPError.notFound }
    let totals = lps_func_totals_of(index)
    lps_lock_registry()
    var e = lps_load_u64(&totals.pointee.entries)
    var x = lps_load_u64(&totals.pointee.exits)
    forEachRecordWithCounts { t in
        let row = lps_rec_row(t, index)
        e &+= lps_load_u64(&row.pointee.entries)
        x &+= lps_load_u64(&row.pointee.exits)
    }
    lps_unlock_registry()
    entries.pointee = e
    exits.pointee = x
    return 0
}
