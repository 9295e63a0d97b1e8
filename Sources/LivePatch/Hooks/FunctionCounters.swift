internal import CLivePatchShim

// PATCHED_SET x FUNCTION: per-thread rows of one counter per function of
// the transition, their growth, and what the patcher reads of them.

/// PATCHED_SET x FUNCTION: counts an execution of `f` in the thread's row of
/// per-function counters and returns f's universe. A counter word holds the
/// low 32 bits of its epoch above a 32-bit count, so rows need no clearing
/// between transitions.
@inline(never)
func enterCountedFunction(_ t: ThreadRecord, _ f: FunctionRecord, epoch: UInt64) -> UInt32? {
    guard let word = functionCounter(t, f, epoch: epoch) else { return nil }
    let tag = epoch << 32
    while true {
        var v = lps_load_u64(word)
        if v & ~UInt64(0xffff_ffff) != tag { v = tag }
        lps_store_u64(word, v &+ 1)
        if v != tag {
            // A recursive entry: this thread already executes f, so f cannot
            // switch before it returns; holding it would wait for itself.
            return lps_load_u32(&f.pointee.fn_universe)
        }
        // Thread half of the store-then-load pair: the count is stored before
        // f.hold is read. Pairs with lps_patcher_side_fence() in holding()
        // (Transition/Hold.swift, from switchFunctions), run after the
        // patcher sets f.hold and before it sums the counts.
        lps_thread_side_fence()
        if lps_load_acquire_u32(&f.pointee.hold) != 0 {
            lps_store_u64(word, lps_load_u64(word) &- 1)
            // As in beginActivation: a later transition's hold is not ours.
            if lps_load_u64(&lps_global_ref().pointee.epoch) != epoch { return nil }
            notifyPatcher()
            waitWhileHeld(&f.pointee.hold, epoch: epoch)
            continue
        }
        return lps_load_u32(&f.pointee.fn_universe)
    }
}

/// The exit half of enterCountedFunction.
@inline(never)
func exitCountedFunction(_ t: ThreadRecord, _ f: FunctionRecord, epoch: UInt64) {
    guard let word = functionCounter(t, f, epoch: epoch) else { return }
    let v = lps_load_u64(word)
    guard v >> 32 == epoch & 0xffff_ffff, v & 0xffff_ffff != 0 else { return }
    lps_store_u64(word, v &- 1)
    // Pairs with lps_patcher_side_fence() after f.hold is set, in holding()
    // (Transition/Hold.swift; see enterCountedFunction).
    lps_thread_side_fence()
    if lps_load_u32(&lps_global_ref().pointee.waiting) != 0 && lps_load_u32(&f.pointee.hold) != 0 {
        notifyPatcher()
    }
}

@inline(__always)
func functionCounter(_ t: ThreadRecord, _ f: FunctionRecord, epoch: UInt64) -> UnsafeMutablePointer<UInt64>? {
    // Pairs with the release store of lps_global.epoch in startTransition():
    // the rows of this transition are published before it.
    guard lps_load_acquire_u64(&lps_global_ref().pointee.epoch) == epoch,
          let rows = lps_global_fn_rows() else { return nil }
    let index = UInt64(lps_load_u32(&f.pointee.tx_index))
    guard index < rows.pointee.stride else { return nil }
    return lps_fn_row(rows, lps_load_u32(&t.pointee.slot)) + Int(index)
}

/// PATCHED_SET x FUNCTION: `t` blocks if it executes a pending function, or
/// if an activation that predates the transition may hold one.
func countedBlockReason(_ t: ThreadRecord, _ tx: Transition, rows: UnsafeMutablePointer<lps_fn_rows_t>?) -> Int32 {
    if lps_load_u32(&t.pointee.offline) != 0 { return 0 }
    if tx.target == universeNew && injectedBug != LP_BUG_SKIP_GRACE_PERIOD && oldActivationBlocks(t, tx.epoch) != nil {
        return Int32(LP_STALL_NO_SWITCH_POINT)
    }
    guard let rows else { return 0 }
    let row = lps_fn_row(rows, lps_load_u32(&t.pointee.slot))
    for fn in tx.functions {
        let f = functionRecord(fn.index)
        guard lps_load_u32(&f.pointee.fn_universe) != tx.target else { continue }
        let v = lps_load_u64(row + Int(lps_load_u32(&f.pointee.tx_index)))
        if v >> 32 == tx.epoch & 0xffff_ffff && v & 0xffff_ffff != 0 { return Int32(LP_STALL_IN_SET) }
    }
    return 0
}

/// PATCHED_SET x FUNCTION: executions in flight of each function of the
/// transition, summed over threads (index = tx_index). A thread whose
/// activation predates the transition and may be inside a set function
/// makes every count unknown (max).
func liveCounts(_ tx: Transition) -> [UInt64] {
    var counts = [UInt64](repeating: 0, count: tx.functions.count)
    let rows = lps_global_fn_rows()
    let tag = tx.epoch & 0xffff_ffff
    var unknown = false
    forEachLiveThread { t in
        if lps_load_u32(&t.pointee.offline) != 0 { return }
        // Its calls of every set function run the old universe uncounted
        // (enterOldActivation), so no function may switch. Outside the set,
        // its set calls begin counted activations.
        if tx.target == universeNew && injectedBug != LP_BUG_SKIP_GRACE_PERIOD && oldActivationBlocks(t, tx.epoch) != nil {
            unknown = true
            return
        }
        guard let rows else { return }
        let row = lps_fn_row(rows, lps_load_u32(&t.pointee.slot))
        for i in 0..<counts.count {
            let v = lps_load_u64(row + i)
            if v >> 32 == tag { counts[i] &+= v & 0xffff_ffff }
        }
    }
    if unknown { return [UInt64](repeating: UInt64.max, count: counts.count) }
    return counts
}

/// Zeroes a slot's SWITCH_FUNCTION counter row, so that a reused slot
/// never inherits counts.
func clearFunctionCounters(slot: UInt32) {
    guard let rows = lps_global_fn_rows() else { return }
    let row = lps_fn_row(rows, slot)
    for i in 0..<Int(rows.pointee.stride) { lps_store_u64(row + i, 0) }
}


/// SWITCH_FUNCTION rows: one per thread slot, a counter word per function,
/// padded to whole cache lines so that no two threads share a line.
func ensureCounterRows(_ count: Int) -> Bool {
    // Eight spare words per row for late targets that join the transition.
    let needed = UInt64((count + 8 + 7) & ~7)
    let current = lps_global_fn_rows()
    if let current, current.pointee.stride >= needed { return true }
    let stride = max(needed, 2 * (current?.pointee.stride ?? 0))
    let bytes = MemoryLayout<lps_fn_rows_t>.size + Int(LP_MAX_THREADS) * Int(stride) * MemoryLayout<UInt64>.size
    // Page-aligned, so every row begins a line (the header fills the
    // first); and backed only where a row is touched, though there is room
    // for every thread slot.
    guard let raw = lps_sys_map_zeroed(bytes) else { return false }
    let rows = raw.assumingMemoryBound(to: lps_fn_rows_t.self)
    rows.pointee.stride = stride
    if let current { patcher.retiredCounterRows.append(current) }
    // Published with the stride in it (release, lps_global_set_fn_rows), and
    // before the epoch (release) in startTransition().
    lps_global_set_fn_rows(rows)
    return true
}
