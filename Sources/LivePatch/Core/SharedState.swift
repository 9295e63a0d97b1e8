internal import CLivePatchShim

// The engine's shared state, one value per lock that guards it. The hooks
// read none of it (they read the shim's records, lps_records.h, with
// atomics), except the injected bug below. docs/DESIGN.md section 8 has the
// lock order: patcher, then the fork gate, then registry; the simulation's
// lock is taken alone.

/// Guarded by the patcher lock (Core/PatcherLock.swift): the slow paths that
/// decide (patches, transitions, callbacks, policy, introspection).
struct PatcherGuarded {
    /// The transition in flight (Transition/).
    var transition: Transition? = nil
    /// Every patch, and the stack of the enabled ones (Patches/).
    var patches = PatchRegistry()
    /// Log lines and callbacks queued for delivery (Patches/EventQueue.swift).
    var events = PatcherEvents()
    /// lp_set_switch_policy and lp_set_hold_limit.
    var policy = SwitchPolicy()
    /// What lp_transition_status reports of transitions so far.
    var stats = TransitionStats()
    /// The threads the last scan found blocking, and whether every block was
    /// transient (Transition/Scan.swift).
    var stalled: [Stalled] = []
    var scanTransient = false
    /// lp_set_nudge_signal's signal (0: none), and the nudges sent with it.
    var nudgeSignal: Int32 = 0
    var nudgesSent: UInt64 = 0
    /// lp_model_register's models, in id order (Models/UserModels.swift).
    var userModels: [UserModel] = []
    /// SWITCH_FUNCTION counter rows outgrown by a larger patch. A hook that
    /// read the old pointer may still write to it, so they stay mapped;
    /// each is at least twice the size of the one before.
    var retiredCounterRows: [UnsafeMutablePointer<lps_fn_rows_t>] = []
}

@exclusivity(unchecked) nonisolated(unsafe) var patcher = PatcherGuarded()

/// Guarded by the registry lock (lps_lock_registry): registration of
/// threads and functions, which runs from the hooks' slow paths.
struct RegistryGuarded {
    var threads = ThreadRegistry()
    var functions = FunctionRegistry()
}

@exclusivity(unchecked) nonisolated(unsafe) var registry = RegistryGuarded()

/// The simulation (Simulation/): written under the simulation lock before a
/// run begins, then only by the thread that holds the baton; the baton's
/// release/acquire hand-over orders one holder's writes before the next's
/// reads (Simulation/Scheduler.swift).
struct SimulationGuarded {
    var run = Simulation()
    /// Allocated once, never freed: a thread of an earlier run may still read
    /// its own entry while it finishes after being let go.
    var threads: UnsafeMutablePointer<SimThread>? = nil
    /// The baton words: 1 while that thread may run.
    var words: UnsafeMutablePointer<UInt32>? = nil
    /// Set once, before the first thread joins a run; never cleared. Read
    /// only by a simulated thread (Core/Syscalls.swift), whose id was set
    /// under the simulation lock after the store.
    var interception: SyscallInterception? = nil
}

@exclusivity(unchecked) nonisolated(unsafe) var simulation = SimulationGuarded()

/// LP_BUG_*: a protocol break a checker must catch (livepatch/debug.h).
/// Written under the patcher lock, read by hooks without it: a harness sets
/// it before its threads run, and no program sets it at all.
@exclusivity(unchecked) nonisolated(unsafe) var injectedBug: Int32 = 0
