internal import CLivePatchShim

// Thread records: one 512-byte slot of lps_thread_table per live registered
// thread, linked into liburcu's RCU list that the patcher scans under the
// memb read lock. A record is unlinked when its thread exits and its slot
// returns to the free list from a call_rcu callback, once no scan can still
// see it. Slots are static so that registering needs no malloc.

/// Registry state, guarded by lps_lock_registry().
struct ThreadRegistry {
    var freeSlots: [UInt32] = []
    var highWater: UInt32 = 0
    var live: UInt64 = 0
    /// Every registration so far: a stack check's stop_machine lists its
    /// targets without the lock, and sees by it that none was added since.
    var registrations: UInt64 = 0
    var exitedInside: UInt64 = 0
    var unbalancedOfExited: UInt64 = 0
    var initialized = false
}


/// What registerCurrentThread did.
enum Registration {
    case registered(ThreadRecord)
    /// A signal handler's hook registered the thread after its caller found
    /// no record, and before the claim.
    case existing(ThreadRecord)
    /// The claim was refused (lps_tls_claim_registration): a signal handler
    /// nested in the thread's registration, in its exit, or in a registry
    /// section.
    case refused
    /// LP_MAX_THREADS live threads, or no memory for the count rows.
    case full

    var record: ThreadRecord? {
        switch self {
        case .registered(let t), .existing(let t): return t
        case .refused, .full: return nil
        }
    }
}

/// Registers the calling thread, which its caller found without a record.
func registerCurrentThread(name: UnsafePointer<CChar>?) -> Registration {
    guard lps_tls_claim_registration() else { return .refused }
    defer { lps_tls_end_registration() }
    if let t = lps_tls_rec() { return .existing(t) }
    lps_lock_registry()
    initializeOnce()
    var slot: UInt32
    if let reused = registry.threads.freeSlots.popLast() {
        slot = reused
    } else if registry.threads.highWater < UInt32(LP_MAX_THREADS) {
        slot = registry.threads.highWater
        registry.threads.highWater += 1
    } else {
        lps_unlock_registry()
        return .full
    }
    let t = lps_thread_table_base() + Int(slot)
    if t.pointee.rows == nil {
        guard let rows = lps_sys_thread_map() else {
            registry.threads.freeSlots.append(slot)
            lps_unlock_registry()
            return .full
        }
        // A plain store: published to scans (lp_func_counts) by the release
        // store of state below, which pairs with their acquire load of it.
        t.pointee.rows = rows
    }
    resetRecord(t, slot: slot, name: name)
    clearFunctionCounters(slot: slot)
    // Pairs with the acquire load of state in the scans: a scan that sees
    // LIVE sees the fields stored above.
    lps_store_release_u32(&t.pointee.state, UInt32(LPS_REC_LIVE))
    lps_thread_list_add(t)
    registry.threads.live += 1
    registry.threads.registrations &+= 1
    lps_unlock_registry()
    lps_tls_set_rec(t)
    lps_sys_thread_exit_arm(t)
    return .registered(t)
}

@inline(never)
func registerFromHook() -> ThreadRecord? {
    registerCurrentThread(name: nil).record
}

func resetRecord(_ t: ThreadRecord, slot: UInt32, name: UnsafePointer<CChar>?) {
    let left = lps_load_u32(&t.pointee.fdepth)
    lps_store_u32(&t.pointee.fdepth, 0)
    freeAllFrames(t, left: left)
    lps_store_u32(&t.pointee.kdepth, 0)
    lps_store_u64(&t.pointee.fepoch, 0)
    lps_store_u64(&t.pointee.kepoch, 0)
    lps_store_u64(&t.pointee.act, Act.none)
    lps_store_u32(&t.pointee.offline, 0)
    lps_store_u64(&t.pointee.unbalanced, 0)
    lps_store_u32(&t.pointee.slot, slot)
    lps_store_u64(&t.pointee.generation, lps_load_u64(&t.pointee.generation) &+ 1)
    t.pointee.tid = lps_sys_gettid()
    t.pointee.exited_inside = 0
    t.pointee.pthread = lps_sys_pthread_self()
    withUnsafeMutableBytes(of: &t.pointee.name) { buf in
        buf.initializeMemory(as: UInt8.self, repeating: 0)
        if let name {
            var i = 0
            while i < buf.count - 1 && name[i] != 0 {
                buf[i] = UInt8(bitPattern: name[i])
                i += 1
            }
        } else {
            writeDefaultName(into: buf, tid: t.pointee.tid)
        }
    }
}

/// "tid-N", written in place: registration may run in a signal handler, so
/// no String formatting and no array (both allocate).
func writeDefaultName(into buf: UnsafeMutableRawBufferPointer, tid: Int32) {
    let prefix: StaticString = "tid-"
    var n = 0
    for i in 0..<prefix.utf8CodeUnitCount where n < buf.count - 1 {
        buf[n] = prefix.utf8Start[i]
        n += 1
    }
    var v = UInt32(bitPattern: tid), digits = 1
    while v >= 10 { v /= 10; digits += 1 }
    v = UInt32(bitPattern: tid)
    var i = min(n + digits, buf.count - 1)
    let end = i
    while i > n {
        i -= 1
        buf[i] = UInt8(48 + v % 10)
        v /= 10
    }
    if end < buf.count { buf[end] = 0 }
}

/// Removes the calling thread's record; shared by lp_thread_unregister()
/// and the thread-exit destructor. Until its last step the record stays the
/// thread's: a hook in one of the thread's signal handlers runs in its
/// universe and counts into its rows, which stay counted (forEachRecordWithCounts)
/// until the slot's free flushes them.
func retire(_ t: ThreadRecord, exiting: Bool) {
    let inside = lps_load_u32(&t.pointee.fdepth) != 0 || lps_load_u32(&t.pointee.kdepth) != 0
    lps_store_u64(&t.pointee.act, Act.none)
    clearFunctionCounters(slot: lps_load_u32(&t.pointee.slot))
    // From DEAD to the queued free, under the fork gate: a fork child finds
    // every DEAD record's free queued (liburcu runs it in the child), never
    // one a vanished thread was about to queue.
    lps_fork_gate_enter()
    defer { lps_fork_gate_exit() }
    lps_lock_registry()
    if inside && exiting {
        registry.threads.exitedInside += 1
        t.pointee.exited_inside = 1
    }
    // A scan that still holds this record sees DEAD and skips it.
    lps_store_release_u32(&t.pointee.state, UInt32(LPS_REC_DEAD))
    lps_thread_list_del(t)
    registry.threads.live -= 1
    lps_unlock_registry()
    // The destructor is disarmed before the record leaves the thread: a
    // handler's hook in between still finds the record; one after it
    // registers the thread afresh and arms the destructor for that record.
    lps_sys_thread_exit_arm(nil)
    lps_tls_set_rec(nil)
    // It may have been the last thread a waiting patcher waited for.
    if lps_load_u32(&lps_global_ref().pointee.waiting) != 0 { notifyPatcher() }
    lps_rcu_reader_online() // liburcu's call_rcu() runs on a registered reader
    defer { lps_rcu_reader_offline() }
    lps_rcu_free_thread(t)
}

/// call_rcu callback: no scan can see the record any more, and no hook
/// writes it: its counts go to the totals, and its slot is free.
func slotIsFree(_ rec: ThreadRecord?) {
    guard let rec else { return }
    lps_lock_registry()
    flushCounts(rec)
    registry.threads.unbalancedOfExited &+= lps_load_u64(&rec.pointee.unbalanced)
    lps_store_u32(&rec.pointee.state, UInt32(LPS_REC_FREE))
    registry.threads.freeSlots.append(lps_load_u32(&rec.pointee.slot))
    lps_unlock_registry()
}

func threadExited(_ t: ThreadRecord) {
    guard lps_tls_rec() == t else { return }
    // Never released: nothing later in the thread's teardown (a signal
    // handler, another library's destructor) may register it again, with
    // perhaps no destructor round left to retire that record; such a hook
    // runs uncounted. It cannot fail: nothing registers or holds the
    // registry on an exiting thread.
    _ = lps_tls_claim_registration()
    retire(t, exiting: true)
}

/// Whether `t` is still the record of the thread it was at `generation`:
/// live, and its slot not reused since. Registry lock held, so that it
/// stays so while the caller uses it.
func isStillLive(_ t: ThreadRecord, generation: UInt64) -> Bool {
    lps_load_u32(&t.pointee.state) == UInt32(LPS_REC_LIVE) && lps_load_u64(&t.pointee.generation) == generation
}

/// Calls `body` for each record whose rows hold counts that the totals do
/// not: the live ones, and the retired ones whose slot is not free yet
/// (slotIsFree flushes them). Registry lock held: no record changes state.
func forEachRecordWithCounts(_ body: (ThreadRecord) -> Void) {
    for slot in 0..<Int(registry.threads.highWater) {
        let t = lps_thread_table_base() + slot
        if lps_load_u32(&t.pointee.state) != UInt32(LPS_REC_FREE) { body(t) }
    }
}

/// Calls `body` for each live record, under the memb read lock.
func forEachLiveThread(_ body: (ThreadRecord) -> Void) {
    // The fork gate: a fork child never inherits this thread's liburcu
    // registration or read section (a grace period there would wait forever).
    // Its fork handlers exist even in a program that scans before any
    // thread registers.
    ensureInitialized()
    lps_fork_gate_enter()
    defer { lps_fork_gate_exit() }
    lps_rcu_reader_online()
    lps_rcu_read_lock()
    var cursor = lps_thread_list_first()
    while let t = cursor {
        // Pairs with the release store of LIVE in registerCurrentThread().
        if lps_load_acquire_u32(&t.pointee.state) == UInt32(LPS_REC_LIVE) { body(t) }
        cursor = lps_thread_list_next(t)
    }
    lps_rcu_read_unlock()
    lps_rcu_reader_offline()
}
