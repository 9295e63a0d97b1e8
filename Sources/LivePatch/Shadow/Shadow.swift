internal import CLivePatchShim

// Shadow variables, with the semantics of the kernel's
// Documentation/livepatch/shadow-vars.rst (kernel/livepatch/shadow.c): data
// attached to an existing object, keyed by <obj, id>, so that a patch can add
// fields to structures it cannot change.
//
// The records sit in liburcu's lock-free hash table (rculfhash, memb
// flavour; lps_shadow_shim.h). Readers (lp_shadow_get) take no lock: a memb
// read section around the lookup. Writers serialise on one mutex, the
// kernel's klp_shadow_lock; as in the kernel the constructor runs under it on
// the new record before the record is added (so two racing get_or_alloc
// calls for one key make exactly one shadow and run one constructor: the
// loser finds the winner's record in its second look under the lock, throws
// its own speculative allocation away and never runs its constructor), and the
// destructor runs under it right after the record is unlinked, before the
// grace period: a reader that found the record earlier may still see the
// destructor's work, never freed memory, which is reclaimed by call_rcu.
// Constructors and destructors never run inside a read section of ours.

typealias ShadowRecord = UnsafeMutablePointer<lps_sv_t>

/// A deterministic hash of <obj, id> for the table: the two words combined,
/// then MurmurHash3's 64-bit finaliser, so that the low bits rculfhash
/// buckets on depend on every bit of both (heap addresses differ mostly in
/// their middle bits, ids are often small and consecutive).
@inline(__always)
func shadowHash(_ obj: UnsafeMutableRawPointer, _ id: UInt) -> UInt {
    var h = UInt64(UInt(bitPattern: obj)) ^ (UInt64(id) &* 0x9E37_79B9_7F4A_7C15)
    h ^= h >> 33
    h &*= 0xFF51_AFD7_ED55_8CCD
    h ^= h >> 33
    h &*= 0xC4CE_B9FE_1A85_EC53
    h ^= h >> 33
    return UInt(h)
}

/// The record of <obj, id>, looked up in one memb read section; `err` is
/// negative when the thread could not be registered with liburcu.
@inline(__always)
func lookupShadow(_ table: OpaquePointer, _ obj: UnsafeMutableRawPointer, _ id: UInt) -> (record: ShadowRecord?, err: Int32) {
    let err = lps_sv_rcu_enter()
    guard err == 0 else { return (nil, err) }
    let record = lps_sv_lookup(table, shadowHash(obj, id), obj, id)
    lps_sv_rcu_exit()
    return (record, 0)
}

/// The constructor's failure as the negative errno the call fails with: its
/// return value with the sign removed (constructors return -errno, as in the
/// kernel, or a positive code).
func constructorFailure(_ ret: Int32) -> Int32 {
    if ret == Int32.min { return LPError.invalid }
    return ret < 0 ? ret : -ret
}

/// Runs `body` as the writer: under the writer lock, with this thread marked
/// as writing so that a constructor or destructor that calls back into a
/// writer is refused (EDEADLK) instead of deadlocking on the lock.
func withShadowWriter<T>(_ body: () -> T) -> T {
    let tls = lps_sv_tls()!
    lps_sv_lock()
    tls.pointee.writing = 1
    defer {
        tls.pointee.writing = 0
        lps_sv_unlock()
    }
    return body()
}

func insideShadowCallback() -> Bool { lps_sv_tls()!.pointee.writing != 0 }

/// lp_shadow_alloc and lp_shadow_get_or_alloc: the kernel's
/// __klp_shadow_get_or_alloc, with `failIfExists` as its warn_on_exist.
func shadowGetOrAlloc(_ obj: UnsafeMutableRawPointer?, _ id: UInt, _ size: UInt,
                      _ ctor: lp_shadow_ctor_t?, _ ctorData: UnsafeMutableRawPointer?,
                      failIfExists: Bool) -> UnsafeMutableRawPointer? {
    guard let obj else { return failNull(LPError.invalid) }
    if insideShadowCallback() { return failNull(LPError.deadlock) }
    // An existing shadow costs no allocation and no lock.
    if let table = lps_sv_table() {
        let (found, err) = lookupShadow(table, obj, id)
        if err != 0 { return failNull(err) }
        if let found { return failIfExists ? failNull(LPError.exists) : lps_sv_data(found) }
    }
    // Allocated before the lock, as the kernel does; thrown away if another
    // thread adds <obj, id> first.
    guard let fresh = lps_sv_new(obj, id, Int(bitPattern: size)) else { return failNull(LPError.noMemory) }
    return withShadowWriter { () -> UnsafeMutableRawPointer? in
        guard let table = lps_sv_table() ?? lps_sv_table_create() else {
            lps_sv_drop(fresh)
            return failNull(LPError.noMemory)
        }
        // The second look, under the lock: no writer can add <obj, id> now.
        let (found, err) = lookupShadow(table, obj, id)
        if err != 0 || found != nil {
            lps_sv_drop(fresh)
            if err != 0 { return failNull(err) }
            return failIfExists ? failNull(LPError.exists) : lps_sv_data(found!)
        }
        if let ctor {
            let ret = ctor(obj, lps_sv_data(fresh), ctorData)
            if ret != 0 {
                lps_sv_drop(fresh)
                return failNull(constructorFailure(ret))
            }
        }
        // Registered by the lookup above, so this cannot fail. cds_lfht_add
        // publishes with rcu_assign_pointer: a reader that finds the record
        // sees what the constructor wrote (pairs with lps_sv_lookup).
        _ = lps_sv_rcu_enter()
        lps_sv_add(table, shadowHash(obj, id), fresh)
        lps_sv_rcu_exit()
        return lps_sv_data(fresh)
    }
}

/// Runs `dtor` on each unlinked record of the chain, then hands it to
/// call_rcu. Writer lock held; outside any read section.
func destroyShadows(_ chain: ShadowRecord?, _ dtor: lp_shadow_dtor_t?) {
    var cursor = chain
    while let sv = cursor {
        cursor = lps_sv_reap(sv)
        dtor?(lps_sv_obj(sv), lps_sv_data(sv))
        lps_sv_retire(sv)
    }
}

/// Errno for the calls that return nothing; they have no other channel.
func shadowVoidFailure(_ negativeErrno: Int32) {
    lps_sys_set_errno(-negativeErrno)
}
