import CLivePatchShim

// Thread records: one 512-byte slot of lp_thread_table per live registered
// thread, linked into liburcu's RCU list that the patcher scans under the
// memb read lock. A record is unlinked when its thread exits and its slot
// returns to the free list from a call_rcu callback, once no scan can still
// see it. Slots are static so that registering needs no malloc.

/// Registry state, guarded by lp_lock_registry().
struct ThreadRegistry {
    var freeSlots: [UInt32] = []
    var highWater: UInt32 = 0
    var live: UInt64 = 0
    var exitedInside: UInt64 = 0
    var unbalancedOfExited: UInt64 = 0
    var initialized = false
}

@exclusivity(unchecked) nonisolated(unsafe) var threadRegistry = ThreadRegistry()

/// One-time set-up: membarrier registration, the thread-exit key, fork
/// handlers. Called with the registry lock held.
func initializeOnce() {
    guard !threadRegistry.initialized else { return }
    threadRegistry.initialized = true
    lp_sys_membarrier_init()
    _ = lp_sys_thread_exit_hook { value in
        if let value { threadExited(value.assumingMemoryBound(to: lp_thread_rec_t.self)) }
    }
    _ = lp_sys_atfork({ forkPrepare() }, { forkParent() }, { forkChild() })
    lp_rcu_set_free_callback { slotIsFree($0) }
    initializeGlobals()
}

/// Runs the one-time initializer of every lazily initialized global of the
/// engine now, before fork handlers exist: Embedded Swift's swift_once
/// spins while another thread runs an initializer, so a child forked in
/// the middle of one would spin forever at its first use of that global.
/// Each read goes to lp_sys_keep so that the optimizer keeps it; a global
/// with a non-constant initializer added to the engine belongs here.
func initializeGlobals() {
    lp_sys_keep(UInt64(UInt(bitPattern: patchTableBase)))
    lp_sys_keep(UInt64(UInt(bitPattern: functionTableBase)))
    lp_sys_keep(UInt64(patchRegistry.nextSlot))
    lp_sys_keep(UInt64(patcherEvents.busy))
    lp_sys_keep(UInt64(threadRegistry.highWater))
    lp_sys_keep(transitionStats.started)
    lp_sys_keep(UInt64(lastStalled.count))
    lp_sys_keep(UInt64(retiredCounterRows.count))
    lp_sys_keep(UInt64(userModels.count))
    lp_sys_keep(UInt64(builtinModelNames.count))
    lp_sys_keep(UInt64(sim.threadCount))
    lp_sys_keep(UInt64(SwitchPoints.all.rawValue))
    for cell in [Cell.immediate, Cell.kgraft, Cell.kpatch, Cell.renew] {
        lp_sys_keep(UInt64(cell.switchPoints.rawValue))
    }
}

func ensureInitialized() {
    lp_lock_registry()
    initializeOnce()
    lp_unlock_registry()
}

/// Registers the calling thread; nil when the capacity is exhausted, or when
/// a signal handler interrupted this thread's own registration.
func registerCurrentThread(name: UnsafePointer<CChar>?) -> ThreadRecord? {
    let tls = lp_tls_block()!
    guard tls.pointee.registering == 0 else { return nil }
    tls.pointee.registering = 1
    defer { tls.pointee.registering = 0 }
    lp_lock_registry()
    initializeOnce()
    var slot: UInt32
    if let reused = threadRegistry.freeSlots.popLast() {
        slot = reused
    } else if threadRegistry.highWater < UInt32(LP_MAX_THREADS) {
        slot = threadRegistry.highWater
        threadRegistry.highWater += 1
    } else {
        lp_unlock_registry()
        return nil
    }
    let t = lp_thread_table_base() + Int(slot)
    if t.pointee.rows == nil {
        guard let rows = lp_sys_rows_map() else {
            threadRegistry.freeSlots.append(slot)
            lp_unlock_registry()
            return nil
        }
        // A plain store: published to scans (lp_func_counts) by the release
        // store of state below, which pairs with their acquire load of it.
        t.pointee.rows = rows
    }
    resetRecord(t, slot: slot, name: name)
    clearFunctionCounters(slot: slot)
    // Pairs with the acquire load of state in the scans: a scan that sees
    // LIVE sees the fields stored above.
    lp_store_release_u32(&t.pointee.state, UInt32(LP_REC_LIVE))
    lp_thread_list_add(t)
    threadRegistry.live += 1
    lp_unlock_registry()
    tls.pointee.rec = t
    tls.pointee.generation = lp_load_u64(&t.pointee.generation)
    lp_sys_thread_exit_arm(t)
    return t
}

@inline(never)
func registerFromHook() -> ThreadRecord? {
    registerCurrentThread(name: nil)
}

func resetRecord(_ t: ThreadRecord, slot: UInt32, name: UnsafePointer<CChar>?) {
    lp_store_u32(&t.pointee.fdepth, 0)
    lp_store_u32(&t.pointee.kdepth, 0)
    lp_store_u64(&t.pointee.fepoch, 0)
    lp_store_u64(&t.pointee.kepoch, 0)
    lp_store_u64(&t.pointee.act, Act.none)
    lp_store_u32(&t.pointee.offline, 0)
    lp_store_u64(&t.pointee.unbalanced, 0)
    lp_store_u32(&t.pointee.slot, slot)
    lp_store_u64(&t.pointee.generation, lp_load_u64(&t.pointee.generation) &+ 1)
    t.pointee.tid = lp_sys_gettid()
    t.pointee.exited_inside = 0
    t.pointee.pthread = lp_sys_pthread_self()
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

/// Adds a record's count rows to the functions' totals and zeroes them, so
/// that the slot's next thread starts from zero. Registry lock held (the
/// function count).
func flushCounts(_ t: ThreadRecord) {
    for index in 0..<functionRegistry.count {
        let row = lp_rec_row(t, index)
        let e = lp_load_u64(&row.pointee.entries), x = lp_load_u64(&row.pointee.exits)
        guard e | x != 0 else { continue }
        let f = functionRecord(index)
        _ = lp_fetch_add_u64(&f.pointee.entries, e)
        _ = lp_fetch_add_u64(&f.pointee.exits, x)
        lp_store_u64(&row.pointee.entries, 0)
        lp_store_u64(&row.pointee.exits, 0)
    }
}

/// Removes the calling thread's record; shared by lp_thread_unregister()
/// and the thread-exit destructor.
func retire(_ t: ThreadRecord, exiting: Bool) {
    let inside = lp_load_u32(&t.pointee.fdepth) != 0 || lp_load_u32(&t.pointee.kdepth) != 0
    lp_store_u64(&t.pointee.act, Act.none)
    clearFunctionCounters(slot: lp_load_u32(&t.pointee.slot))
    // From DEAD to the queued free, under the fork gate: a fork child finds
    // every DEAD record's free queued (liburcu runs it in the child), never
    // one a vanished thread was about to queue.
    lp_fork_gate_enter()
    defer { lp_fork_gate_exit() }
    lp_lock_registry()
    flushCounts(t)
    if inside && exiting {
        threadRegistry.exitedInside += 1
        t.pointee.exited_inside = 1
    }
    threadRegistry.unbalancedOfExited &+= lp_load_u64(&t.pointee.unbalanced)
    // A scan that still holds this record sees DEAD and skips it.
    lp_store_release_u32(&t.pointee.state, UInt32(LP_REC_DEAD))
    lp_thread_list_del(t)
    threadRegistry.live -= 1
    lp_unlock_registry()
    lp_tls_block()!.pointee.rec = nil
    lp_sys_thread_exit_arm(nil)
    // It may have been the last thread a waiting patcher waited for.
    if lp_load_u32(&lp_global_ref().pointee.waiting) != 0 { notifyPatcher() }
    lp_rcu_reader_online() // liburcu's call_rcu() runs on a registered reader
    defer { lp_rcu_reader_offline() }
    lp_rcu_free_thread(t)
}

/// call_rcu callback: no scan can see the record any more; its slot is free.
func slotIsFree(_ rec: ThreadRecord?) {
    guard let rec else { return }
    lp_lock_registry()
    lp_store_u32(&rec.pointee.state, UInt32(LP_REC_FREE))
    threadRegistry.freeSlots.append(lp_load_u32(&rec.pointee.slot))
    lp_unlock_registry()
}

func threadExited(_ t: ThreadRecord) {
    guard lp_tls_rec() == t else { return }
    retire(t, exiting: true)
}

/// Zeroes a slot's SWITCH_FUNCTION counter row, so that a reused slot
/// never inherits counts.
func clearFunctionCounters(slot: UInt32) {
    guard let base = lp_global_fn_counts() else { return }
    let stride = lp_load_u64(&lp_global_ref().pointee.fn_stride)
    let row = base + Int(UInt64(slot) &* stride)
    for i in 0..<Int(stride) { lp_store_u64(row + i, 0) }
}

/// Calls `body` for each live record, under the memb read lock.
func forEachLiveThread(_ body: (ThreadRecord) -> Void) {
    // The fork gate: a fork child never inherits this thread's liburcu
    // registration or read section (a grace period there would wait forever).
    // Its fork handlers exist even in a program that scans before any
    // thread registers.
    ensureInitialized()
    lp_fork_gate_enter()
    defer { lp_fork_gate_exit() }
    lp_rcu_reader_online()
    lp_rcu_read_lock()
    var cursor = lp_thread_list_first()
    while let t = cursor {
        // Pairs with the release store of LIVE in registerCurrentThread().
        if lp_load_acquire_u32(&t.pointee.state) == UInt32(LP_REC_LIVE) { body(t) }
        cursor = lp_thread_list_next(t)
    }
    lp_rcu_read_unlock()
    lp_rcu_reader_offline()
}

// MARK: - fork

// The prepare handler takes every lock a child could need, in the engine's
// lock order, and pauses liburcu's call_rcu worker between the fork gate
// and the registry lock: after the gate, because liburcu holds its own
// mutex from the pause to the fork and a retire() inside the gate may need
// that mutex to start the worker; before the registry lock, because the
// worker may be waiting for it (slotIsFree) and pauses only between frees.
func forkPrepare() {
    lp_lock_patcher()
    lp_fork_gate_lock()
    lp_rcu_before_fork()
    lp_lock_registry()
}

func forkParent() {
    lp_unlock_registry()
    lp_rcu_after_fork_parent()
    lp_fork_gate_unlock()
    lp_unlock_patcher()
}

/// In the child only the forking thread exists: every other live record is
/// dropped (no grace period is needed, no other thread can be reading), so a
/// transition in flight waits for this thread alone. A DEAD record keeps
/// its slot until its queued free runs, in the child, after liburcu's
/// grace period (the gate made sure it was queued).
func forkChild() {
    lp_locks_reinit_after_fork()
    let me = lp_tls_rec()
    lp_thread_list_reset()
    threadRegistry.freeSlots.removeAll()
    threadRegistry.live = 0
    var slot: UInt32 = 0
    while slot < threadRegistry.highWater {
        let t = lp_thread_table_base() + Int(slot)
        if t == me {
            lp_thread_list_add(t)
            threadRegistry.live = 1
        } else if lp_load_u32(&t.pointee.state) != UInt32(LP_REC_DEAD) {
            // Its thread is not in the child, and never flushed its rows.
            lp_sys_rows_discard(t.pointee.rows)
            lp_store_u32(&t.pointee.state, UInt32(LP_REC_FREE))
            threadRegistry.freeSlots.append(slot)
        }
        slot += 1
    }
    // No waiter of the parent's exists here.
    lp_store_u32(&lp_global_ref().pointee.waiting, 0)
    patcherEventsAfterFork()
    // Last: this starts the child's call_rcu worker, whose slotIsFree
    // appends to the free list that the loop above rebuilt.
    lp_rcu_after_fork_child()
}

// MARK: - C API

/// Registers the calling thread under `name`. C: `lp_thread_register`.
@c public func lp_thread_register(_ name: UnsafePointer<CChar>?) -> Int32 {
    if lp_tls_rec() != nil { return LPError.exists }
    return registerCurrentThread(name: name) == nil ? LPError.noMemory : 0
}

/// Unregisters the calling thread. C: `lp_thread_unregister`.
@c public func lp_thread_unregister() -> Int32 {
    guard let t = lp_tls_rec() else { return LPError.notFound }
    dropFramesBelow(t, key: lp_frame_key())
    if lp_load_u32(&t.pointee.fdepth) != 0 || lp_load_u32(&t.pointee.kdepth) != 0 { return LPError.busy }
    retire(t, exiting: false)
    return 0
}

@inline(never)
func countUnregisteredCall() {
    _ = lp_fetch_add_u64(&lp_global_ref().pointee.unregistered_calls, 1)
}
