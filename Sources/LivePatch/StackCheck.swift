import CLivePatchShim

// The stack-checking detector (LP_MODEL_F_STACK_CHECK): instead of reading
// counts the hooks kept, the patcher asks each thread, by a signal, whether
// a function of the set is on its stack (lp_stack_shim.c walks it). Per
// thread (klp_try_switch_task) a clean thread switches in its own handler;
// for SWITCH_KERNEL every thread parks in its handler, and when every stack
// is clean everything switches at once before they are released (kpatch's
// stop_machine). The hooks only route: see enterStackChecked.

/// The set's code ranges and the loaded executable mappings, for the
/// handlers of this transition. -ENOEXEC when an implementation has no
/// symbol (its code could not be recognised on a stack).
func prepareStackCheck(_ functions: [TransitionFunction]) -> Int32 {
    if lp_stack_install() != 0 || lp_stack_refresh_text() != 0 { return LPError.noMemory }
    lp_stack_set_skip_frame(injectedBug == LP_BUG_STACK_SKIP_FRAME ? 1 : 0)
    var ranges: [lp_stack_range_t] = []
    for fn in functions {
        for impl in [fn.old, fn.new] where !ranges.contains(where: { $0.lo == UInt(bitPattern: impl) && $0.func == fn.index }) {
            var lo: UInt = 0, hi: UInt = 0
            if lp_stack_symbol_range(impl, &lo, &hi) != 0 { return -Int32(LP_ENOEXEC.rawValue) }
            ranges.append(lp_stack_range_t(lo: lo, hi: hi, func: fn.index))
        }
    }
    return lp_stack_set_ranges(ranges, UInt32(ranges.count))
}

/// The hook's decision for a call of `f` in stack-checked transition
/// `epoch`: the thread's own universe (SWITCH_THREAD) or everyone's
/// (SWITCH_KERNEL). Nothing is counted.
@inline(never)
func enterStackChecked(_ t: ThreadRecord, _ f: FunctionRecord, epoch: UInt64) -> UnsafeRawPointer? {
    let universe = lp_load_u32(&lp_global_ref().pointee.sw) == LP_SWITCH_KERNEL.rawValue
        ? lp_load_u32(&lp_global_ref().pointee.kuniv)
        : lp_stack_universe(t, epoch, lp_load_u64(&t.pointee.generation))
    let old = lp_load_ptr(&f.pointee.tx_old)
    let new = lp_load_ptr(&f.pointee.tx_new)
    // Seqlock-style re-check, as in enterInTransition.
    lp_acquire_fence()
    guard lp_load_u64(&f.pointee.tx_epoch) == epoch else { return lp_load_ptr(&f.pointee.impl) }
    return universe == universeNew ? new : old
}

/// Whether the transition of `fe` (a function's tx_epoch, nonzero) checks
/// stacks. Pairs with the release store of lp_global.epoch in
/// startTransition(): reading that epoch sees the flags stored before it.
@inline(__always)
func stackChecked(_ fe: UInt64) -> Bool {
    lp_load_acquire_u64(&lp_global_ref().pointee.epoch) == fe
        && lp_load_u32(&lp_global_ref().pointee.flags) & LP_MODEL_F_STACK_CHECK != 0
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
        epoch = lp_load_acquire_u64(&lp_global_ref().pointee.epoch)
        if oldFramesMayHoldSet(t, below: lp_load_u32(&t.pointee.fdepth), epoch: epoch) { return }
        target = lp_load_u32(&lp_global_ref().pointee.target)
        lp_stack_set_universe(t, epoch, target)
        lp_signal_fence()
    } while lp_load_u32(&lp_global_ref().pointee.target) != target
        || lp_load_acquire_u64(&lp_global_ref().pointee.epoch) != epoch
    if lp_load_u32(&lp_global_ref().pointee.waiting) != 0 { notifyPatcher() }
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
        let generation = lp_load_u64(&t.pointee.generation)
        if all || lp_stack_universe(t, tx.epoch, generation) != tx.target {
            targets.append(StackTarget(thread: t, generation: generation))
        }
    }
    targets.reserveCapacity(targets.count) // no allocation once threads are parked
    return targets
}

/// Signals each target with `mode`; the caller holds the registry lock, so
/// that none finishes exiting meanwhile. The patcher's own thread answers
/// for itself (lp_stack_answer_self).
func sendStackRequests(_ targets: [StackTarget], _ tx: Transition, mode: Int32) {
    let me = lp_tls_rec()
    for s in targets where lp_load_u32(&s.thread.pointee.state) == UInt32(LP_REC_LIVE)
        && lp_load_u64(&s.thread.pointee.generation) == s.generation {
        if s.thread == me {
            lp_stack_answer_self(s.thread, mode, tx.epoch, tx.target)
            continue
        }
        lp_stack_learn_bounds(s.thread, s.thread.pointee.pthread, s.generation)
        _ = lp_stack_request(s.thread, s.thread.pointee.pthread, mode, tx.epoch, tx.target) // a thread gone never answers
    }
}

/// Sleeps until every target answered, or `bound` passes (the rest are
/// counted as not answering: unreliable). Allocates nothing: threads may be
/// parked holding the allocator's lock.
func awaitStackAnswers(_ targets: [StackTarget], bound: UInt64) {
    let end = saturatingAdd(lp_sys_now_ns(), bound)
    while true {
        let seen = lp_stack_answer_seq()
        var pending = false
        for s in targets where lp_stack_answered(s.thread) == 0 { pending = true }
        let now = lp_sys_now_ns()
        if !pending || now >= end { return }
        lp_stack_wait_answers(seen, end - now)
    }
}

/// Why `t` blocks stack-checked transition `tx` (0: it does not): its
/// last answer, which may be a round older than the request in flight (a
/// thread that never answered is unreliable).
func stackBlockReason(_ t: ThreadRecord, _ tx: Transition) -> Int32 {
    let kernel = tx.model.effectiveSwitch == LP_SWITCH_KERNEL.rawValue
    if kernel {
        if lp_load_u32(&lp_global_ref().pointee.kuniv) == tx.target { return 0 }
    } else if lp_stack_universe(t, tx.epoch, lp_load_u64(&t.pointee.generation)) == tx.target {
        return 0
    }
    let answered = lp_stack_answered(t) != 0
    // After the acquire load in lp_stack_answered: the handler's verdict.
    switch lp_load_u32(&lp_stack_cell(t)!.pointee.verdict) {
    case UInt32(LP_STACK_IN_SET.rawValue): return Int32(LP_STALL_IN_SET)
    // SWITCH_THREAD: a clean thread switched in its handler, so one still
    // in the other universe answered before a reverse.
    case UInt32(LP_STACK_CLEAN.rawValue) where kernel && answered: return 0
    default: return Int32(LP_STALL_UNRELIABLE_STACK)
    }
}

/// SWITCH_THREAD: asks every thread not yet switched; each clean one
/// switches in its handler. Returns true when none is left.
func stackSwitchThreads(_ tx: inout Transition, deadline: UInt64) -> Bool {
    guard lp_sys_now_ns() >= tx.nextHoldAt else { return scan(tx).blocked == 0 }
    let targets = stackTargets(tx, all: false)
    if !targets.isEmpty {
        lp_lock_registry()
        sendStackRequests(targets, tx, mode: Int32(LP_STACK_SWITCH.rawValue))
        lp_unlock_registry()
        awaitStackAnswers(targets, bound: min(tx.holdBound, deadline &- min(deadline, lp_sys_now_ns())))
    }
    let done = scan(tx).blocked == 0
    if !done { tx.holdFailed(.timedOut, startedAt: lp_sys_now_ns()) }
    return done
}

/// SWITCH_KERNEL: the user-space stop_machine. Every thread parks in its
/// handler and answers; if every stack is clean the kernel-wide universe
/// switches while they are parked; then all are released. On failure the
/// next round comes after the policy's pause (kpatch retries the same way).
func stackStopMachine(_ tx: inout Transition, deadline: UInt64) -> Bool {
    guard lp_sys_now_ns() >= tx.nextHoldAt else { return scan(tx).blocked == 0 }
    transitionStats.holdAttempts += 1
    let startedAt = lp_sys_now_ns()
    let targets = stackTargets(tx, all: true)
    // Held from the first signal to the release: no thread registers
    // meanwhile (one that would is held in its first hook, before it runs
    // any implementation) and none finishes exiting, so every registered
    // thread is among the targets.
    lp_lock_registry()
    sendStackRequests(targets, tx, mode: Int32(LP_STACK_PARK.rawValue))
    awaitStackAnswers(targets, bound: min(tx.holdBound, deadline &- min(deadline, startedAt)))
    var clean = true
    for s in targets where stackBlockReason(s.thread, tx) != 0 { clean = false }
    if clean || injectedBug == LP_BUG_FLIP_BUSY_KERNEL {
        // A parked thread reads it after lp_stack_release() (release, paired
        // with its acquire); a running one is the patcher's own thread.
        lp_store_u32(&lp_global_ref().pointee.kuniv, tx.target)
    }
    lp_stack_release()
    lp_unlock_registry()
    let done = scan(tx).blocked == 0
    if !done {
        transitionStats.holdTimeouts += 1
        tx.holdFailed(.timedOut, startedAt: startedAt)
    }
    return done
}
