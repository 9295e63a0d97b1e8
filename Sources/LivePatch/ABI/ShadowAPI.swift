internal import CLivePatchShim

// The C entry points of livepatch/shadow.h: shadow variables.

/// The data of the shadow variable <obj, id>, or NULL with errno ENOENT (none),
/// EINVAL (obj NULL), ENOMEM (the thread could not be registered with
/// liburcu). Lock-free. C: `lp_shadow_get`.
@c public func lp_shadow_get(_ obj: UnsafeMutableRawPointer?, _ id: UInt) -> UnsafeMutableRawPointer? {
    guard let obj else { return failNull(LPError.invalid) }
    guard let table = lps_sv_table() else { return failNull(LPError.notFound) }
    let (found, err) = lookupShadow(table, obj, id)
    guard let found else { return failNull(err != 0 ? err : LPError.notFound) }
    return lps_sv_data(found)
}

/// A new shadow variable <obj, id> of `size` zeroed bytes, constructed by
/// `ctor`; NULL with errno EEXIST when <obj, id> exists. C: `lp_shadow_alloc`.
@c public func lp_shadow_alloc(_ obj: UnsafeMutableRawPointer?, _ id: UInt, _ size: UInt,
                               _ ctor: lp_shadow_ctor_t?, _ ctorData: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    shadowGetOrAlloc(obj, id, size, ctor, ctorData, failIfExists: true)
}

/// The existing shadow variable <obj, id>, or a new one as lp_shadow_alloc
/// makes it. C: `lp_shadow_get_or_alloc`.
@c public func lp_shadow_get_or_alloc(_ obj: UnsafeMutableRawPointer?, _ id: UInt, _ size: UInt,
                                      _ ctor: lp_shadow_ctor_t?, _ ctorData: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    shadowGetOrAlloc(obj, id, size, ctor, ctorData, failIfExists: false)
}

/// Detaches <obj, id>, runs `dtor` on its data and frees it after a grace
/// period. C: `lp_shadow_free`.
@c public func lp_shadow_free(_ obj: UnsafeMutableRawPointer?, _ id: UInt, _ dtor: lp_shadow_dtor_t?) {
    guard let obj else { return shadowVoidFailure(LPError.invalid) }
    if insideShadowCallback() { return shadowVoidFailure(LPError.deadlock) }
    guard let table = lps_sv_table() else { return }
    withShadowWriter {
        let (found, err) = lookupShadow(table, obj, id)
        guard let found else {
            if err != 0 { shadowVoidFailure(err) }
            return
        }
        // Unlinked here; readers that found it keep reading it until the
        // grace period that lps_sv_retire waits for.
        _ = lps_sv_rcu_enter()
        lps_sv_del(table, found)
        lps_sv_rcu_exit()
        lps_sv_set_reap(found, nil)
        destroyShadows(found, dtor)
    }
}

/// Detaches every shadow variable with this id, as lp_shadow_free does each.
/// C: `lp_shadow_free_all`.
@c public func lp_shadow_free_all(_ id: UInt, _ dtor: lp_shadow_dtor_t?) {
    if insideShadowCallback() { return shadowVoidFailure(LPError.deadlock) }
    guard let table = lps_sv_table() else { return }
    withShadowWriter {
        let err = lps_sv_rcu_enter()
        guard err == 0 else { return shadowVoidFailure(err) }
        // Unlinked during the walk (rculfhash allows deleting the node an
        // iterator is on), destroyed after it, outside the read section.
        var chain: ShadowRecord? = nil
        var iter = cds_lfht_iter()
        var cursor = lps_sv_first(table, &iter)
        while let sv = cursor {
            cursor = lps_sv_next(table, &iter)
            if lps_sv_id(sv) == id {
                lps_sv_del(table, sv)
                lps_sv_set_reap(sv, chain)
                chain = sv
            }
        }
        lps_sv_rcu_exit()
        destroyShadows(chain, dtor)
    }
}

/// Opens a read section in which the data returned by lp_shadow_get stays
/// allocated even if another thread frees the shadow. Nests. 0, or -ENOMEM
/// when the thread could not be registered with liburcu.
/// C: `lp_shadow_read_lock`.
@c public func lp_shadow_read_lock() -> Int32 {
    let err = lps_sv_rcu_enter()
    guard err == 0 else { return err }
    lps_sv_tls()!.pointee.readers += 1
    return 0
}

/// Closes the innermost lp_shadow_read_lock section. -EINVAL when this thread
/// has none open. C: `lp_shadow_read_unlock`.
@c public func lp_shadow_read_unlock() -> Int32 {
    let tls = lps_sv_tls()!
    guard tls.pointee.readers > 0 else { return LPError.invalid }
    tls.pointee.readers -= 1
    lps_sv_rcu_exit()
    return 0
}
