internal import CLivePatchShim

// Exact entry and exit counts per (thread, function), for lp_func_counts:
// the hooks' per-thread rows, and their flush when a retired record's slot
// is freed.

/// Counts an entry or exit of `f` in the thread's row for it (lps_shim.h,
/// lps_count_row_t): one increment of a word only this thread writes, in one
/// instruction, so a signal handler's counts never interleave with it.
/// lp_func_counts() sums the rows and the totals, so counts are exact
/// whenever no hook is running.
@inline(__always)
func countCall(_ t: ThreadRecord, _ f: FunctionRecord, entry: Bool) {
    let row = lps_rec_row(t, f.pointee.index)
    if entry { lps_local_inc_u64(&row.pointee.entries) } else { lps_local_inc_u64(&row.pointee.exits) }
}

/// An exit on a thread with no record: the exit of an entry that ran
/// uncounted (countUncountedEntry), or one with nothing to exit.
@inline(never)
func countExitUnregistered() {
    if lps_tls_take_uncounted_exit() { return }
    _ = lps_fetch_add_u64(&lps_global_ref().pointee.unbalanced_unregistered, 1)
}

/// An exit with nothing to exit on a registered thread, unless its entry ran
/// uncounted before the thread registered (a registration refused for
/// capacity, then one that succeeded in a nested call).
@inline(never)
func countUnbalanced(_ t: ThreadRecord) {
    if lps_tls_take_uncounted_exit() { return }
    lps_store_u64(&t.pointee.unbalanced, lps_load_u64(&t.pointee.unbalanced) &+ 1)
}

/// Adds a retired record's count rows to the functions' totals and zeroes
/// them, so that the slot's next thread starts from zero. Registry lock
/// held (the function count, and lp_func_counts sums rows and totals under
/// it: a flushed count is seen once).
func flushCounts(_ t: ThreadRecord) {
    for index in 0..<registry.functions.count {
        let row = lps_rec_row(t, index)
        let e = lps_load_u64(&row.pointee.entries), x = lps_load_u64(&row.pointee.exits)
        guard e | x != 0 else { continue }
        let totals = lps_func_totals_of(UInt32(index))
        _ = lps_fetch_add_u64(&totals.pointee.entries, e)
        _ = lps_fetch_add_u64(&totals.pointee.exits, x)
        lps_store_u64(&row.pointee.entries, 0)
        lps_store_u64(&row.pointee.exits, 0)
    }
}

@inline(never)
func countUnregisteredCall() {
    _ = lps_fetch_add_u64(&lps_global_ref().pointee.unregistered_calls, 1)
}

/// An entry (of a function or a kernel section) on a thread that could not
/// register: uncounted, and its exit expected.
@inline(never)
func countUncountedEntry() {
    lps_tls_note_uncounted_entry()
    countUnregisteredCall()
}
