internal import CLivePatchShim

// The hooks: the only code on the callers' hot path. They write only the
// calling thread's record, read the read-mostly line of lps_global and of the
// function, and never allocate, lock, or call into the Swift runtime
// (scripts/check-hot-path disassembles them to keep it so).

/// The implementation the calling thread must run now, counting an entry.
/// C: `lp_func_enter`. Every way off the fast path is a tail call that
/// takes what it needs as arguments, so the fast path keeps nothing in
/// callee-saved registers. Those that return the implementation are @c: a
/// Swift function returns an optional pointer as an integer, and the
/// conversion back to a pointer would stand between its call and the
/// return, which stops LLVM from making it a tail call. They take the
/// function first, where the caller passed it, and the thread record second:
/// the fast path then moves neither.
@c public func lp_func_enter(_ f: UnsafeMutablePointer<lp_func_t>?) -> UnsafeRawPointer? {
    enterHook(f, key: lps_frame_key())
}

/// lp_func_enter for the frame at `key` (the ftrace trampoline passes the
/// key of the pad function's call site).
@inline(__always)
func enterHook(_ f: FunctionRecord?, key: UInt64) -> UnsafeRawPointer? {
    guard let f, let t = lps_tls_rec() else { return enterWithoutRecord(f, key: key) }
    let depth = lps_load_u32(&t.pointee.fdepth)
    if mayHaveLeftFrames(t, key: key, depth: depth) { return enterAfterJump(f, t, key: key, depth: depth) }
    return enterFrame(t, f, key: key, depth: depth)
}

/// lp_func_enter on a thread with no record yet (it registers now), or
/// with no function.
@c(lps_enter_without_record) @inline(never)
func enterWithoutRecord(_ f: FunctionRecord?, key: UInt64) -> UnsafeRawPointer? {
    guard let f else { return failNull(LPError.invalid) }
    guard let t = registerFromHook() else {
        countUncountedEntry()
        return lps_load_ptr(&f.pointee.impl)
    }
    return enterFrame(t, f, key: key, depth: lps_load_u32(&t.pointee.fdepth))
}

/// lp_func_enter above frames that a jump may have left: they are exited
/// first.
@c(lps_enter_after_jump) @inline(never)
func enterAfterJump(_ f: FunctionRecord, _ t: ThreadRecord, key: UInt64, depth: UInt32) -> UnsafeRawPointer? {
    let live = key > topFrameKey(t, depth: depth) ? dropAbandoned(t, key: key, depth: depth, exiting: nil) : depth
    return enterFrame(t, f, key: key, depth: live)
}

/// Pushes the frame of `f` above `depth`, counts the entry, and picks the
/// implementation.
@inline(__always)
func enterFrame(_ t: ThreadRecord, _ f: FunctionRecord, key: UInt64, depth: UInt32) -> UnsafeRawPointer? {
    let fe = beginFrame(t, f, key: key, depth: depth)
    if _fastPath(fe == 0) {
        // No transition: the steady implementation.
        return lps_load_ptr(&f.pointee.impl)
    }
    return enterFrameInTransition(t, f, epoch: fe, depth: depth)
}

/// Pushes the frame of `f` above `depth` and counts the entry; returns f's
/// tx_epoch as read after both (0: f is in no transition).
@inline(__always)
func beginFrame(_ t: ThreadRecord, _ f: FunctionRecord, key: UInt64, depth: UInt32) -> UInt64 {
    if _fastPath(depth == 0) {
        // Announce the activation before reading the epoch (the thread half
        // of the store-then-load pair with startTransition's
        // lps_patcher_side_fence()):
        // a scan either sees this depth, or this entry sees the new epoch.
        // Until the epoch is read, fepoch says "unknown"; the release store
        // of the depth makes a scan that sees it see that too, so it retries
        // instead of mistaking a fresh entry for an old one (Verification/
        // README, finding B1).
        lps_store_u64(&t.pointee.fepoch, epochUnknown)
        lps_store_release_u32(&t.pointee.fdepth, 1)
        lps_thread_side_fence()
        snapshotOutermostEpoch(t)
        // After the epoch: "unknown" makes scans retry, so its window stays
        // short. The frame is still stored before tx_epoch is read below.
        pushFrame(t, f, key: key, at: 0)
        lps_thread_side_fence()
    } else {
        // The depth before the frame: a signal handler landing between the
        // two stores pushes its frames above this one, never over it, and
        // reads this slot's key as free (freeFrame), never abandoned. A scan
        // that sees the depth but not yet the frame reads a stale entry; it
        // can only do so if this entry's load of tx_epoch below sees the
        // transition (startTransition's lps_patcher_side_fence()), and then
        // enterOldActivation decides.
        lps_store_release_u32(&t.pointee.fdepth, depth &+ 1)
        pushFrame(t, f, key: key, at: depth)
        lps_thread_side_fence() // the frame is stored before tx_epoch is read
    }
    countCall(t, f, entry: true)
    // Pairs with the release stores of tx_epoch in publish() (from
    // startTransition and a late target's join) and completeTransition():
    // a hook that reads 0 sees the final impl.
    return lps_load_acquire_u64(&f.pointee.tx_epoch)
}

/// The implementation for an entry whose frame beginFrame pushed while `f`
/// was in transition `fe`.
@inline(__always)
func enterFrameInTransition(_ t: ThreadRecord, _ f: FunctionRecord, epoch fe: UInt64, depth: UInt32) -> UnsafeRawPointer? {
    if stackChecked(fe) { return enterStackChecked(f, t, epoch: fe) }
    if fe != lps_load_u64(&t.pointee.fepoch) { return enterOldActivation(f, t, epoch: fe, depth: depth) }
    return enterInTransition(f, t, epoch: fe, depth: depth)
}

/// Reads the epoch for the outermost function activation that beginFrame
/// announced. A plain store, where snapshotEpoch makes a local CAS: a
/// signal handler that lands between this load and the store, and calls a
/// function in transition, finds "unknown" and snapshots a later epoch
/// itself (enterOldActivation); its activation ends before it returns, and
/// this store then puts back the epoch read first, which the entry's own
/// frame was announced before. The thread then reads as an activation that
/// predates that transition, which it is, and re-arms at its next set entry
/// as any such activation does (enterOldActivation). The spin models run
/// this order under -DHANDLER (Verification/README.md). The CAS cost the
/// pair about 0.2x the floor (Benchmarks/README.md, "Where the hook pair's
/// cost is").
@inline(__always)
func snapshotOutermostEpoch(_ t: ThreadRecord) {
    // Pairs with the release store of lps_global.epoch in startTransition(),
    // as in snapshotEpoch.
    lps_store_u64(&t.pointee.fepoch, lps_load_acquire_u64(&lps_global_ref().pointee.epoch))
}

/// Reads the epoch for an outermost function activation or kernel section
/// (`word`: fepoch or kepoch), unless a signal handler nested in this very
/// entry already did: the handler's calls and the interrupted thread's belong
/// to one activation, so the first reader fixes its epoch for both (the
/// local CAS is atomic against handlers).
@inline(__always)
func snapshotEpoch(_ word: UnsafeMutablePointer<UInt64>) {
    // Pairs with the release store of lps_global.epoch in startTransition():
    // seeing epoch e implies seeing the tx_* fields of every function of
    // transition e.
    _ = lps_local_cas_u64(word, epochUnknown, lps_load_acquire_u64(&lps_global_ref().pointee.epoch))
}

/// `f` is in transition `epoch`, and the thread's outermost activation did
/// not read that epoch: it predates the transition, or it is this thread's
/// own outermost entry, interrupted by the signal handler now running.
/// Nested in an activation of a set function that predates the transition,
/// the call stays in that activation's (old) universe. Otherwise this is the
/// outermost set entry: the frames below it are outside the set, so the
/// thread re-arms (as at UPSTREAM's kernel exit) and the call begins a set
/// activation in the transition.
@c(lps_enter_old_activation) @inline(never)
func enterOldActivation(_ f: FunctionRecord, _ t: ThreadRecord, epoch: UInt64, depth: UInt32) -> UnsafeRawPointer? {
    if lps_load_u64(&t.pointee.fepoch) == epochUnknown {
        if injectedBug == LP_BUG_HANDLER_STEADY { return lps_load_ptr(&f.pointee.impl) }
        snapshotEpoch(&t.pointee.fepoch)
    }
    var fepoch = lps_load_u64(&t.pointee.fepoch)
    if fepoch != epoch && !oldFramesMayHoldSet(t, below: depth, epoch: epoch) {
        lps_store_u64(&t.pointee.fepoch, epoch)
        // Pairs with lps_patcher_side_fence() after lps_global.waiting is set
        // (lp_transition_wait): a scan that saw the old fepoch and this frame
        // counted the thread as blocking, and waits for a wake.
        lps_thread_side_fence()
        if lps_load_u32(&lps_global_ref().pointee.waiting) != 0 { notifyPatcher() }
        fepoch = epoch
    }
    if fepoch != epoch { return lps_load_ptr(&f.pointee.impl) }
    // The epoch may have been published after lp_func_enter's check: a
    // stack-checked transition still decides by the thread's stack-checked
    // universe, never by an activation.
    if stackChecked(epoch) { return enterStackChecked(f, t, epoch: epoch) }
    return enterInTransition(f, t, epoch: epoch, depth: depth)
}

/// Whether a frame of `t` below `depth` may be in the set of transition
/// `epoch`: one is, or some are beyond the shadow stack. Read by the owner
/// (its own frames) and by scans (frames that may be changing: an entry
/// below the depth read is stable while that frame lives).
func oldFramesMayHoldSet(_ t: ThreadRecord, below depth: UInt32, epoch: UInt64) -> Bool {
    // Pairs with the release store of lps_global.epoch in startTransition(),
    // which follows every tx_epoch store of the transition: a function of
    // the set read below reads as such.
    guard depth <= framesKnown, lps_load_acquire_u64(&lps_global_ref().pointee.epoch) == epoch else { return true }
    for i in 0..<depth {
        guard let g = lps_frame_func(lps_rec_frame(t, i)) else { continue }
        if lps_load_u64(&UnsafeMutablePointer(mutating: g).pointee.tx_epoch) == epoch { return true }
    }
    return false
}

/// Counts an exit of `f`. C: `lp_func_exit`. As in lp_func_enter, every
/// way off the fast path is a tail call.
@c public func lp_func_exit(_ f: UnsafeMutablePointer<lp_func_t>?) {
    exitHook(f, key: lps_frame_key())
}

/// lp_func_exit for the frame at `key`, as enterHook.
@inline(__always)
func exitHook(_ f: FunctionRecord?, key: UInt64) {
    guard let t = lps_tls_rec() else { return countExitUnregistered() }
    let depth = lps_load_u32(&t.pointee.fdepth)
    guard let f else { return countUnbalanced(t) }
    if _slowPath(exitMayHaveLeftFrames(t, f, key: key, depth: depth)) { return exitOffShadowStackTop(f, t, key: key, depth: depth) }
    exitFrame(t, f, depth: depth)
}

/// lp_func_exit where the deepest frame is not the exiting one, or not in
/// the shadow stack: no frame at all (an unbalanced exit), frames that a
/// jump may have left above it (exited first), or frames beyond the shadow
/// stack.
@inline(never)
func exitOffShadowStackTop(_ f: FunctionRecord, _ t: ThreadRecord, key: UInt64, depth: UInt32) {
    guard depth != 0 else { return countUnbalanced(t) }
    exitFrame(t, f, depth: exitLeftFrames(t, f, key: key, depth: depth) ? dropAbandoned(t, key: key, depth: depth, exiting: f) : depth)
}

/// Ends the activation of `f` at `depth` (> 0).
@inline(__always)
func exitFrame(_ t: ThreadRecord, _ f: FunctionRecord, depth: UInt32) {
    finishExit(t, f, outer: popFrame(t, f, depth: depth))
}

/// Pops the frame of `f` at `depth` (> 0) and counts the exit; returns the
/// depth left.
@inline(__always)
func popFrame(_ t: ThreadRecord, _ f: FunctionRecord, depth: UInt32) -> UInt32 {
    let outer = depth &- 1
    lps_store_u32(&t.pointee.fdepth, outer)
    freeFrame(t, at: outer)
    // The depth is stored before waiting is read. Pairs with lps_patcher_side_fence()
    // after lps_global.waiting is set: either a scan sees the frame gone, or
    // this exit wakes it.
    lps_thread_side_fence()
    countCall(t, f, entry: false)
    return outer
}

/// The rest of an exit whose frame popFrame popped: nothing in the steady
/// state.
@inline(__always)
func finishExit(_ t: ThreadRecord, _ f: FunctionRecord, outer: UInt32) {
    let a = lps_load_u64(&t.pointee.act)
    let fe = lps_load_u64(&f.pointee.tx_epoch)
    guard _slowPath(!exitIsSteady(outer: outer, act: a, txEpoch: fe)) else { return }
    // A transition's commonest case, here rather than a jump away: the exit
    // ends the function activation that its entry began.
    if Act.isFunctionActivation(a, epoch: fe, marker: outer) { return endFunctionActivation(t, a) }
    exitSlow(f, t, outer: outer, act: a, txEpoch: fe)
}

/// Steady state: no activation, f in no transition, and (at the outermost
/// exit, or back within the shadow stack) no patcher waiting. Everything
/// else is out of line.
@inline(__always)
func exitIsSteady(outer: UInt32, act a: UInt64, txEpoch fe: UInt64) -> Bool {
    _fastPath(a | fe == 0) && !((outer == 0 || outer == framesKnown) && _slowPath(lps_load_u32(&lps_global_ref().pointee.waiting) != 0))
}

@inline(never)
func exitSlow(_ f: FunctionRecord, _ t: ThreadRecord, outer: UInt32, act a: UInt64, txEpoch fe: UInt64) {
    // The commonest case first, with the fewest loads (finishExit ended the
    // function activation that the entry began, if this exit ends one): no
    // activation to end, and only a waiting patcher (this may be a switch
    // point) or PATCHED_SET x FUNCTION's counters need the rest.
    let counted = transitionCountsPerFunction()
    if a == Act.none && lps_load_u32(&lps_global_ref().pointee.waiting) == 0 && !counted { return }
    // PATCHED_SET x FUNCTION begins no activations: with one of this
    // transition live, its counters are not in use.
    if counted && fe != 0 && fe == lps_load_u64(&t.pointee.fepoch) && !Act.belongs(a, to: fe) {
        return exitCountedFunctionActivation(t, f, outer: outer, act: a, txEpoch: fe)
    }
    exitActivation(t, outer: outer, act: a, txEpoch: fe)
}

@inline(never)
func exitCountedFunctionActivation(_ t: ThreadRecord, _ f: FunctionRecord, outer: UInt32, act a: UInt64, txEpoch fe: UInt64) {
    exitCountedFunction(t, f, epoch: fe)
    exitActivation(t, outer: outer, act: a, txEpoch: fe)
}

/// The exit's part in area activations: ends the one this frame began, or
/// tells a waiting patcher that the thread passed a switch point. Every call
/// is in tail position.
@inline(__always)
func exitActivation(_ t: ThreadRecord, outer: UInt32, act a: UInt64, txEpoch fe: UInt64) {
    if a != Act.none && !Act.isKernel(a) && Act.marker(a) == outer {
        endFunctionActivation(t, a)
    } else if lps_load_u32(&lps_global_ref().pointee.waiting) != 0
                && lps_load_u64(&t.pointee.fepoch) != lps_load_u64(&lps_global_ref().pointee.epoch)
                && (outer == 0 || outer == framesKnown || fe != 0) {
        // Leaving an activation that predates the transition, a set function
        // inside one, or the frames beyond the shadow stack: a switch point.
        notifyPatcher()
    }
}

/// Ends the function activation `a` that the exiting frame began.
@inline(__always)
func endFunctionActivation(_ t: ThreadRecord, _ a: UInt64) {
    if lps_load_u32(&t.pointee.kdepth) != 0 { return endActivationInKernelSection(t, ended: a) }
    endActivation(t, a)
}

/// Re-reads the epoch as if the thread had just left every activation, and
/// restarts its kernel section's activation.
@inline(never)
func rearm(_ t: ThreadRecord) {
    let a = lps_load_u64(&t.pointee.act)
    if a != Act.none { lps_store_u64(&t.pointee.act, Act.none) }
    // Thread half of the store-then-load pair: offline and act are stored
    // before the epoch is read. Pairs with lps_patcher_side_fence() in
    // startTransition(), after the epoch store and before act is read.
    lps_thread_side_fence()
    let epoch = lps_load_acquire_u64(&lps_global_ref().pointee.epoch)
    lps_store_u64(&t.pointee.fepoch, epoch)
    let inKernel = lps_load_u32(&t.pointee.kdepth) != 0
    if inKernel { lps_store_u64(&t.pointee.kepoch, epoch) }
    if lps_load_u32(&lps_global_ref().pointee.waiting) != 0 { notifyPatcher() }
    if inKernel && lps_load_u32(&lps_global_ref().pointee.kernel_area) != 0 {
        _ = beginActivation(t, epoch: epoch, kernel: true, marker: 0)
    }
}

/// The implementation for a call to `f` while it is in transition `epoch`
/// and the thread counts for it. The common cases (a call that begins a
/// function activation, or one inside a decided activation) make no call,
/// so they keep nothing in callee-saved registers; the rest are tail calls.
@c(lps_enter_in_transition) @inline(never)
func enterInTransition(_ f: FunctionRecord, _ t: ThreadRecord, epoch: UInt64, depth: UInt32) -> UnsafeRawPointer? {
    // Not stack-checked: both callers tested that (for an epoch equal to
    // the thread's fepoch, the answer cannot change: the global epoch only
    // grows, and its flags are stored before it).
    let leave = lps_load_u32(&lps_global_ref().pointee.leave)
    if leave == LP_LEAVE_FUNCTION.rawValue {
        return implementation(f, epoch: epoch, universe: lps_load_u32(&lps_global_ref().pointee.target))
    }
    if _slowPath(transitionCountsPerFunction(leave: leave)) {
        return enterCountedInTransition(f, t, epoch: epoch)
    }
    let a = lps_load_u64(&t.pointee.act)
    if _fastPath(a == Act.none) {
        // Under LEAVE_KERNEL a kernel section's activation decides. kdepth
        // is read either way, so that the test needs no branch of its own.
        let kdepth = lps_load_u32(&t.pointee.kdepth)
        if _fastPath(leave != LP_LEAVE_KERNEL.rawValue || kdepth == 0), case .began(let u) = tryBeginActivation(t, epoch: epoch, kernel: false, marker: depth) {
            return implementation(f, epoch: epoch, universe: u)
        }
    } else if Act.belongs(a, to: epoch) && Act.isDecided(a) {
        return implementation(f, epoch: epoch, universe: Act.universe(a))
    }
    // Every other outcome of the begin leaves act holding this activation
    // (undecided, or decided by a signal handler): beginning again out of
    // line tells them apart.
    return enterActivationInTransition(f, t, epoch: epoch, depth: depth)
}

/// Whether the transition in flight counts per function (Model.countsPerFunction),
/// from the cell lps_global publishes; both words lie on one line.
@inline(__always)
func transitionCountsPerFunction(leave: UInt32 = lps_load_u32(&lps_global_ref().pointee.leave)) -> Bool {
    Model.countsPerFunction(leave: leave, switchUnit: lps_load_u32(&lps_global_ref().pointee.sw))
}

@c(lps_enter_counted_in_transition) @inline(never)
func enterCountedInTransition(_ f: FunctionRecord, _ t: ThreadRecord, epoch: UInt64) -> UnsafeRawPointer? {
    implementation(f, epoch: epoch, universe: enterCountedFunction(t, f, epoch: epoch))
}

@c(lps_enter_activation_in_transition) @inline(never)
func enterActivationInTransition(_ f: FunctionRecord, _ t: ThreadRecord, epoch: UInt64, depth: UInt32) -> UnsafeRawPointer? {
    implementation(f, epoch: epoch, universe: activationUniverse(t, epoch: epoch, depth: depth))
}

/// The implementation of `f` for `universe`, decided while `f` was in
/// transition `epoch`: its steady one if no universe was decided.
@inline(__always)
func implementation(_ f: FunctionRecord, epoch: UInt64, universe: UInt32?) -> UnsafeRawPointer? {
    let old = lps_load_ptr(&f.pointee.tx_old)
    let new = lps_load_ptr(&f.pointee.tx_new)
    // Seqlock-style re-check: if the transition ended while we decided, what
    // we read may belong to the next one; the steady impl is then right.
    lps_acquire_fence()
    guard let u = universe, lps_load_u64(&f.pointee.tx_epoch) == epoch else {
        return lps_load_ptr(&f.pointee.impl)
    }
    return u == universeNew ? new : old
}
