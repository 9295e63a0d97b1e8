internal import CLivePatchShim

// The prepare handler takes every lock a child could need, in the engine's
// lock order, and pauses liburcu's call_rcu worker between the fork gate
// and the registry lock: after the gate, because liburcu holds its own
// mutex from the pause to the fork and a retire() inside the gate may need
// that mutex to start the worker; before the registry lock, because the
// worker may be waiting for it (slotIsFree) and pauses only between frees.
func forkPrepare() {
    lockPatcher()
    lps_fork_gate_lock()
    lps_rcu_before_fork()
    lps_lock_registry()
}

func forkParent() {
    lps_unlock_registry()
    lps_rcu_after_fork_parent()
    lps_fork_gate_unlock()
    unlockPatcher()
}

/// In the child only the forking thread exists: every other live record is
/// dropped (no grace period is needed, no other thread can be reading), so a
/// transition in flight waits for this thread alone. A DEAD record keeps
/// its slot until its queued free runs, in the child, after liburcu's
/// grace period (the gate made sure it was queued).
func forkChild() {
    lps_locks_reinit_after_fork()
    let me = lps_tls_rec()
    lps_thread_list_reset()
    registry.threads.freeSlots.removeAll()
    registry.threads.live = 0
    var slot: UInt32 = 0
    while slot < registry.threads.highWater {
        let t = lps_thread_table_base() + Int(slot)
        if t == me {
            lps_thread_list_add(t)
            registry.threads.live = 1
        } else if lps_load_u32(&t.pointee.state) != UInt32(LPS_REC_DEAD) {
            // Its thread is not in the child, and never flushed its rows.
            lps_sys_thread_map_discard(t.pointee.rows)
            lps_store_u32(&t.pointee.state, UInt32(LPS_REC_FREE))
            registry.threads.freeSlots.append(slot)
        }
        slot += 1
    }
    // No waiter of the parent's exists here.
    lps_store_u32(&lps_global_ref().pointee.waiting, 0)
    patcherEventsAfterFork()
    // Last: this starts the child's call_rcu worker, whose slotIsFree
    // appends to the free list that the loop above rebuilt.
    lps_rcu_after_fork_child()
}
