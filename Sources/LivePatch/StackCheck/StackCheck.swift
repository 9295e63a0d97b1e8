internal import CLivePatchShim

// The stack-checking detector (LP_MODEL_F_STACK_CHECK): instead of reading
// counts the hooks kept, the patcher asks each thread, by a signal, whether
// a function of the set is on its stack (lps_stack_shim.c walks it). Per
// thread (klp_try_switch_task) a clean thread switches in its own handler;
// for SWITCH_KERNEL every thread parks in its handler, and when every stack
// is clean everything switches at once before they are released (kpatch's
// stop_machine). The hooks only route: see enterStackChecked.

/// The set's code ranges and the loaded executable mappings, for the
/// handlers of this transition. -ENOEXEC when an implementation has no
/// symbol (its code could not be recognised on a stack).
func prepareStackCheck(_ functions: [TransitionFunction]) -> Int32 {
    if lps_stack_install() != 0 || lps_stack_refresh_text() != 0 { return LPError.noMemory }
    lps_stack_set_skip_frame(injectedBug == LP_BUG_STACK_SKIP_FRAME ? 1 : 0)
    var ranges: [lps_stack_range_t] = []
    for fn in functions {
        for impl in [fn.old, fn.new] where !ranges.contains(where: { $0.lo == UInt(bitPattern: impl) && $0.func == fn.index }) {
            var lo: UInt = 0, hi: UInt = 0
            if lps_stack_symbol_range(impl, &lo, &hi) != 0 { return -Int32(LPS_ENOEXEC.rawValue) }
            ranges.append(lps_stack_range_t(lo: lo, hi: hi, func: fn.index))
        }
    }
    return lps_stack_set_ranges(ranges, UInt32(ranges.count))
}

/// The hook's decision for a call of `f` in stack-checked transition
/// `epoch`: the thread's own universe (SWITCH_THREAD) or everyone's
/// (SWITCH_KERNEL). Nothing is counted.
@c(lps_enter_stack_checked) @inline(never)
func enterStackChecked(_ f: FunctionRecord, _ t: ThreadRecord, epoch: UInt64) -> UnsafeRawPointer? {
    let universe = lps_load_u32(&lps_global_ref().pointee.sw) == LP_SWITCH_KERNEL.rawValue
        ? lps_load_u32(&lps_global_ref().pointee.kuniv)
        : lps_stack_universe(t, epoch, lps_load_u64(&t.pointee.generation))
    let old = lps_load_ptr(&f.pointee.tx_old)
    let new = lps_load_ptr(&f.pointee.tx_new)
    // Seqlock-style re-check, as in enterInTransition.
    lps_acquire_fence()
    guard lps_load_u64(&f.pointee.tx_epoch) == epoch else { return lps_load_ptr(&f.pointee.impl) }
    return universe == universeNew ? new : old
}

/// Whether the transition of `fe` (a function's tx_epoch, nonzero) checks
/// stacks. Pairs with the release store of lps_global.epoch in
/// startTransition(): reading that epoch sees the flags stored before it.
@inline(__always)
func stackChecked(_ fe: UInt64) -> Bool {
    lps_load_acquire_u64(&lps_global_ref().pointee.epoch) == fe
        && lps_load_u32(&lps_global_ref().pointee.flags) & LP_MODEL_F_STACK_CHECK != 0
}

/// UPSTREAM_STACK's switch point (an outermost lp_kernel_exit): the thread
/// declares no set function on its stack and takes the target universe,
/// unless a hooked set activation encloses the kernel section (a nested
/// call would then run the other universe). Re-read after the store: a
/// reverse or a new transition in between (its membarrier pairs with the
/// fence) either is seen here, or its scan sees this universe.
func stackSwitchPoint(_ t: ThreadRecord) {
    var epoch: UInt64
    var target: UInt32
    repeat {
        epoch = lps_load_acquire_u64(&lps_global_ref().pointee.epoch)
        if oldFramesMayHoldSet(t, below: lps_load_u32(&t.pointee.fdepth), epoch: epoch) { return }
        target = lps_load_u32(&lps_global_ref().pointee.target)
        lps_stack_set_universe(t, epoch, target)
        lps_thread_side_fence()
    } while lps_load_u32(&lps_global_ref().pointee.target) != target
        || lps_load_acquire_u64(&lps_global_ref().pointee.epoch) != epoch
    if lps_load_u32(&lps_global_ref().pointee.waiting) != 0 { notifyPatcher() }
}

/// A thread the patcher asks: its record, the generation it was live under.
struct StackTarget {
    let thread: ThreadRecord
    let generation: UInt64
}

/// The live threads a round asks: for SWITCH_THREAD those not yet in the
/// target universe, for SWITCH_KERNEL all of them.
func stackTargets(_ tx: Transition, all: Bool) -> [StackTarget] {
    var targets: [StackTarget] = []
    forEachLiveThread { t in
        let generation = lps_load_u64(&t.pointee.generation)
        if all || lps_stack_universe(t, tx.epoch, generation) != tx.target {
            targets.append(StackTarget(thread: t, generation: generation))
        }
    }
    targets.reserveCapacity(targets.count) // no allocation once threads are parked
    return targets
}

/// Signals each target with `mode`; the caller holds the registry lock, so
/// that none finishes exiting meanwhile. The patcher's own thread answers
/// for itself (lps_stack_answer_self).
func sendStackRequests(_ targets: [StackTarget], _ tx: Transition, mode: Int32) {
    let me = lps_tls_rec()
    for s in targets where isStillLive(s.thread, generation: s.generation) {
        if s.thread == me {
            lps_stack_answer_self(s.thread, mode, tx.epoch, tx.target)
            continue
        }
        lps_stack_learn_bounds(s.thread, s.thread.pointee.pthread, s.generation)
        _ = lps_stack_request(s.thread, s.thread.pointee.pthread, mode, tx.epoch, tx.target) // a thread gone never answers
    }
}

/// Sleeps until every target answered, or `bound` passes (the rest are
/// counted as not answering: unreliable). Allocates nothing: threads may be
/// parked holding the allocator's lock.
func awaitStackAnswers(_ targets: [StackTarget], bound: UInt64) {
    let end = saturatingAdd(monotonicNow(), bound)
    while true {
        let seen = lps_stack_answer_seq()
        var pending = false
        for s in targets where lps_stack_answered(s.thread) == 0 { pending = true }
        let now = monotonicNow()
        if !pending || now >= end { return }
        lps_stack_wait_answers(seen, end - now)
    }
}

/// Why `t` blocks stack-checked transition `tx` (0: it does not): its
/// last answer, which may be a round older than the request in flight (a
/// thread that never answered is unreliable).
func stackBlockReason(_ t: ThreadRecord, _ tx: Transition) -> Int32 {
    let kernel = tx.model.effectiveSwitch == LP_SWITCH_KERNEL.rawValue
    if kernel {
        if lps_load_u32(&lps_global_ref().pointee.kuniv) == tx.target { return 0 }
    } else if lps_stack_universe(t, tx.epoch, lps_load_u64(&t.pointee.generation)) == tx.target {
        return 0
    }
    let answered = lps_stack_answered(t) != 0
    // After the acquire load in lps_stack_answered: the handler's verdict.
    switch lps_load_u32(&lps_stack_cell(t)!.pointee.verdict) {
    case UInt32(LPS_STACK_IN_SET.rawValue): return Int32(LP_STALL_IN_SET)
    // SWITCH_THREAD: a clean thread switched in its handler, so one still
    // in the other universe answered before a reverse.
    case UInt32(LPS_STACK_CLEAN.rawValue) where kernel && answered: return 0
    default: return Int32(LP_STALL_UNRELIABLE_STACK)
    }
}

/// SWITCH_THREAD: asks every thread not yet switched; each clean one
/// switches in its handler. Returns true when none is left.
func stackSwitchThreads(_ tx: inout Transition, deadline: UInt64) -> Bool {
    guard monotonicNow() >= tx.nextHoldAt else { return scan(tx).blocked == 0 }
    let targets = stackTargets(tx, all: false)
    if !targets.isEmpty {
        lps_lock_registry()
        sendStackRequests(targets, tx, mode: Int32(LPS_STACK_SWITCH.rawValue))
        lps_unlock_registry()
        awaitStackAnswers(targets, bound: min(tx.holdBound, deadline &- min(deadline, monotonicNow())))
    }
    let done = scan(tx).blocked == 0
    if !done { tx.holdFailed(.timedOut, startedAt: monotonicNow()) }
    return done
}

/// SWITCH_KERNEL: the user-space stop_machine. Every thread parks in its
/// handler and answers; if every stack is clean the kernel-wide universe
/// switches while they are parked; then all are released. On failure the
/// next round comes after the policy's pause (kpatch retries the same way).
/// Done only once the universe switched: clean answers prove nothing once
/// their threads run again (the scans here only name the stalled threads).
/// A scan that found every last answer clean once completed the
/// transition unswitched, with threads inside old code: a thread that
/// answered after the round's bound, clean, left no thread blocking.
func stackStopMachine(_ tx: inout Transition, deadline: UInt64) -> Bool {
    guard monotonicNow() >= tx.nextHoldAt else {
        _ = scan(tx)
        return false
    }
    patcher.stats.holdAttempts += 1
    let startedAt = monotonicNow()
    // Held from the first signal to the release: no thread registers
    // meanwhile (one that would is held in its first hook, before it runs
    // any implementation) and none finishes exiting. The targets are listed
    // before the lock (the listing enters the fork gate, which fork takes
    // before this lock), so the lock is taken again until no thread
    // registered since the listing began: then every registered thread is
    // among the targets (one registered in between would run unparked, in
    // the old universe, through the switch).
    var targets: [StackTarget]
    while true {
        lps_lock_registry()
        let registrations = registry.threads.registrations
        lps_unlock_registry()
        targets = stackTargets(tx, all: true)
        lps_lock_registry()
        if registry.threads.registrations == registrations { break }
        lps_unlock_registry()
    }
    sendStackRequests(targets, tx, mode: Int32(LPS_STACK_PARK.rawValue))
    awaitStackAnswers(targets, bound: min(tx.holdBound, deadline &- min(deadline, startedAt)))
    var clean = true
    for s in targets where stackBlockReason(s.thread, tx) != 0 { clean = false }
    if clean || injectedBug == LP_BUG_FLIP_BUSY_KERNEL {
        // A parked thread reads it after lps_stack_release() (release, paired
        // with its acquire); a running one is the patcher's own thread.
        lps_store_u32(&lps_global_ref().pointee.kuniv, tx.target)
    }
    lps_stack_release()
    lps_unlock_registry()
    _ = scan(tx)
    let done = lps_load_u32(&lps_global_ref().pointee.kuniv) == tx.target
    if !done {
        patcher.stats.holdTimeouts += 1
        tx.holdFailed(.timedOut, startedAt: startedAt)
    }
    return done
}
