internal import CLivePatchShim

// One-time set-up of the engine, on the first registration.

/// One-time set-up: membarrier registration, the thread-exit key, fork
/// handlers. Called with the registry lock held.
func initializeOnce() {
    guard !registry.threads.initialized else { return }
    registry.threads.initialized = true
    lps_patcher_side_fence_init()
    _ = lps_sys_thread_exit_hook { value in
        if let value { threadExited(value.assumingMemoryBound(to: lps_thread_rec_t.self)) }
    }
    _ = lps_sys_atfork({ forkPrepare() }, { forkParent() }, { forkChild() })
    lps_rcu_set_free_callback { slotIsFree($0) }
    initializeGlobals()
}

/// Runs the one-time initializer of every lazily initialized global of the
/// engine now, before fork handlers exist: Embedded Swift's swift_once
/// spins while another thread runs an initializer, so a child forked in
/// the middle of one would spin forever at its first use of that global.
/// Each read goes to lps_sys_keep so that the optimizer keeps it; a global
/// with a non-constant initializer added to the engine belongs here.
func initializeGlobals() {
    lps_sys_keep(UInt64(UInt(bitPattern: patchTableBase)))
    lps_sys_keep(UInt64(UInt(bitPattern: functionTableBase)))
    // The shared state, one value per lock (Core/SharedState.swift).
    lps_sys_keep(UInt64(patcher.patches.nextSlot))
    lps_sys_keep(UInt64(registry.threads.highWater))
    lps_sys_keep(UInt64(simulation.run.threadCount))
    lps_sys_keep(UInt64(builtinModelNames.count))
    lps_sys_keep(UInt64(SwitchPoints.all.rawValue))
    for cell in [Cell.immediate, Cell.kgraft, Cell.kpatch, Cell.renew] {
        lps_sys_keep(UInt64(cell.switchPoints.rawValue))
    }
}

func ensureInitialized() {
    lps_lock_registry()
    initializeOnce()
    lps_unlock_registry()
}
