internal import CLivePatchShim

// The hooks: the only code on the callers' hot path. They write only the
// calling thread's record, read the read-mostly line of lps_global and of the
// function, and never allocate, lock, or call into the Swift runtime
// (scripts/check-hot-path disassembles them to keep it so).

/// The implementation the calling thread must run now, counting an entry.
/// C: `lp_func_enter`. Every way off the fast path is a tail call that
/// takes what it needs as arguments, so the fast path keeps nothing in
/// callee-saved registers.
@c public func lp_func_enter(_ f: UnsafeMutablePointer<lp_func_t>?) -> UnsafeRawPointer? {
    let key = lps_frame_key()
    guard let f, let t = lps_tls_rec() else { return enterWithoutRecord(f, key: key) }
    let depth = lps_load_u32(&t.pointee.fdepth)
    if mayHaveLeftFrames(t, key: key, depth: depth) { return enterAfterJump(t, f, key: key, depth: depth) }
    return enterFrame(t, f, key: key, depth: depth)
}

/// The fast path's test for frames left by a jump: the deepest frame's key
/// is below `key`, or the thread is deeper than its shadow stack (where
/// topFrameKey decides, out of line).
@inline(__always)
func mayHaveLeftFrames(_ t: ThreadRecord, key: UInt64, depth: UInt32) -> Bool {
    depth &- 1 < UInt32(LP_FRAMES_KNOWN) ? key > (lps_rec_frames(t) + Int(depth &- 1)).pointee.key : depth != 0
}

/// lp_func_enter on a thread with no record yet (it registers now), or
/// with no function.
@inline(never)
func enterWithoutRecord(_ f: FunctionRecord?, key: UInt64) -> UnsafeRawPointer? {
    guard let f else { return failNull(LPError.invalid) }
    guard let t = registerFromHook() else {
        countUnregisteredCall()
        return lps_load_ptr(&f.pointee.impl)
    }
    return enterFrame(t, f, key: key, depth: lps_load_u32(&t.pointee.fdepth))
}

/// lp_func_enter above frames that a jump may have left: they are exited
/// first.
@inline(never)
func enterAfterJump(_ t: ThreadRecord, _ f: FunctionRecord, key: UInt64, depth: UInt32) -> UnsafeRawPointer? {
    let live = key > topFrameKey(t, depth: depth) ? dropAbandoned(t, key: key, depth: depth, exiting: nil) : depth
    return enterFrame(t, f, key: key, depth: live)
}

/// Pushes the frame of `f` above `depth`, counts the entry, and picks the
/// implementation.
@inline(__always)
func enterFrame(_ t: ThreadRecord, _ f: FunctionRecord, key: UInt64, depth: UInt32) -> UnsafeRawPointer? {
    if depth == 0 {
        // Announce the activation before reading the epoch (the thread half
        // of the store-then-load pair with startTransition's membarrier):
        // a scan either sees this depth, or this entry sees the new epoch.
        // Until the epoch is read, fepoch says "unknown"; the release store
        // of the depth makes a scan that sees it see that too, so it retries
        // instead of mistaking a fresh entry for an old one (Verification/
        // README, finding B1).
        lps_store_u64(&t.pointee.fepoch, epochUnknown)
        lps_store_release_u32(&t.pointee.fdepth, 1)
        lps_thread_side_fence()
        snapshotEpoch(&t.pointee.fepoch)
        // After the epoch: "unknown" makes scans retry, so its window stays
        // short. The frame is still stored before tx_epoch is read below.
        pushFrame(t, f, key: key, at: 0)
        lps_thread_side_fence()
    } else {
        // The depth before the frame: a signal handler landing between the
        // two stores pushes its frames above this one, never over it. A scan
        // that sees the depth but not yet the frame reads a stale entry; it
        // can only do so if this entry's load of tx_epoch below sees the
        // transition (the membarrier), and then enterOldActivation decides.
        lps_store_release_u32(&t.pointee.fdepth, depth &+ 1)
        pushFrame(t, f, key: key, at: depth)
        lps_thread_side_fence() // the frame is stored before tx_epoch is read
    }
    countCall(t, f, entry: true)
    // Pairs with the release stores of tx_epoch in startTransition() and
    // Transition.complete(): a hook that reads 0 sees the final impl.
    let fe = lps_load_acquire_u64(&f.pointee.tx_epoch)
    if fe == 0 {
        // No transition: the steady implementation.
        return lps_load_ptr(&f.pointee.impl)
    }
    if stackChecked(fe) { return enterStackChecked(t, f, epoch: fe) }
    if fe != lps_load_u64(&t.pointee.fepoch) { return enterOldActivation(t, f, epoch: fe, depth: depth) }
    return enterInTransition(t, f, epoch: fe, depth: depth)
}

@inline(__always)
func pushFrame(_ t: ThreadRecord, _ f: FunctionRecord, key: UInt64, at depth: UInt32) {
    guard depth < UInt32(LP_FRAMES_KNOWN) else { return }
    let frame = lps_rec_frames(t) + Int(depth)
    lps_frame_set_func(frame, f)
    frame.pointee.key = key // only the owner reads keys
}

/// The key of the deepest frame the shadow stack holds (depth > 0).
@inline(__always)
func topFrameKey(_ t: ThreadRecord, depth: UInt32) -> UInt64 {
    (lps_rec_frames(t) + Int(min(depth, UInt32(LP_FRAMES_KNOWN)) &- 1)).pointee.key
}

/// A hook runs above frames the thread still counts: they were left without
/// their exit hooks (longjmp, siglongjmp, an exception through instrumented
/// code). Each is exited now, as its exit hook would have, and counted in
/// lps_global.abandoned_exits; returns the depth that remains. `exiting`: the
/// function an exit hook is ending, whose own frame stays for that exit; if
/// no frame of it is found where it should be, nothing is dropped (a
/// mismatched exit, which counts as before). Frames beyond the shadow stack
/// are dropped with the deepest known one; their functions are unknown, so
/// their exits are not counted. A handler on the alternate signal stack says
/// nothing about the interrupted frames: nothing is dropped there.
@inline(never)
func dropAbandoned(_ t: ThreadRecord, key: UInt64, depth: UInt32, exiting: FunctionRecord?) -> UInt32 {
    if lps_sys_on_altstack() != 0 { return depth }
    let frames = lps_rec_frames(t)
    let known = min(depth, UInt32(LP_FRAMES_KNOWN))
    var live = known
    while live > 0 && frames[Int(live) - 1].key < key { live -= 1 }
    var keep = live
    if let f = exiting {
        let own = live > 0 && frames[Int(live) - 1].key == key && lps_frame_func(frames + Int(live) - 1) == UnsafePointer(f)
        if !own {
            guard live < known, lps_frame_func(frames + Int(live)) == UnsafePointer(f) else { return depth }
            keep = live + 1
        }
    }
    var d = depth
    while d > keep {
        if d <= UInt32(LP_FRAMES_KNOWN), let g = lps_frame_func(frames + Int(d) - 1) {
            exitFrame(t, UnsafeMutablePointer(mutating: g), depth: d)
        } else {
            lps_store_u32(&t.pointee.fdepth, d &- 1)
        }
        _ = lps_fetch_add_u64(&lps_global_ref().pointee.abandoned_exits, 1)
        d -= 1
    }
    return keep
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
@inline(never)
func enterOldActivation(_ t: ThreadRecord, _ f: FunctionRecord, epoch: UInt64, depth: UInt32) -> UnsafeRawPointer? {
    if lps_load_u64(&t.pointee.fepoch) == epochUnknown {
        if injectedBug == LP_BUG_HANDLER_STEADY { return lps_load_ptr(&f.pointee.impl) }
        snapshotEpoch(&t.pointee.fepoch)
    }
    var fepoch = lps_load_u64(&t.pointee.fepoch)
    if fepoch != epoch && !oldFramesMayHoldSet(t, below: depth, epoch: epoch) {
        lps_store_u64(&t.pointee.fepoch, epoch)
        // Pairs with the membarrier after lps_global.waiting is set: a scan
        // that saw the old fepoch and this frame counted the thread as
        // blocking, and waits for a wake.
        lps_thread_side_fence()
        if lps_load_u32(&lps_global_ref().pointee.waiting) != 0 { notifyPatcher() }
        fepoch = epoch
    }
    if fepoch != epoch { return lps_load_ptr(&f.pointee.impl) }
    return enterInTransition(t, f, epoch: epoch, depth: depth)
}

/// Whether a frame of `t` below `depth` may be in the set of transition
/// `epoch`: one is, or some are beyond the shadow stack. Read by the owner
/// (its own frames) and by scans (frames that may be changing: an entry
/// below the depth read is stable while that frame lives).
func oldFramesMayHoldSet(_ t: ThreadRecord, below depth: UInt32, epoch: UInt64) -> Bool {
    // Pairs with the release store of lps_global.epoch in startTransition(),
    // which follows every tx_epoch store of the transition: a function of
    // the set read below reads as such.
    guard depth <= UInt32(LP_FRAMES_KNOWN), lps_load_acquire_u64(&lps_global_ref().pointee.epoch) == epoch else { return true }
    let frames = lps_rec_frames(t)
    for i in 0..<Int(depth) {
        guard let g = lps_frame_func(frames + i) else { continue }
        if lps_load_u64(&UnsafeMutablePointer(mutating: g).pointee.tx_epoch) == epoch { return true }
    }
    return false
}

/// Counts an exit of `f`. C: `lp_func_exit`. As in lp_func_enter, every
/// way off the fast path is a tail call.
@c public func lp_func_exit(_ f: UnsafeMutablePointer<lp_func_t>?) {
    let key = lps_frame_key()
    guard let t = lps_tls_rec() else { return countUnbalancedUnregistered() }
    let depth = lps_load_u32(&t.pointee.fdepth)
    guard let f, depth != 0 else { return countUnbalanced(t) }
    if exitMayHaveLeftFrames(t, f, key: key, depth: depth) { return exitAfterJump(t, f, key: key, depth: depth) }
    exitFrame(t, f, depth: depth)
}

/// mayHaveLeftFrames for an exit of `f`: a deepest frame that is f's own
/// is the one this exit ends, whatever the keys. GCC's
/// -finstrument-functions calls __cyg_profile_func_exit after the
/// function's epilogue (a tail call), so the exit's key lies above the one
/// its entry hook had, inside the prologue.
@inline(__always)
func exitMayHaveLeftFrames(_ t: ThreadRecord, _ f: FunctionRecord, key: UInt64, depth: UInt32) -> Bool {
    guard depth &- 1 < UInt32(LP_FRAMES_KNOWN) else { return true }
    let top = lps_rec_frames(t) + Int(depth &- 1)
    return key > top.pointee.key && lps_frame_func(top) != UnsafePointer(f)
}

/// lp_func_exit above frames that a jump may have left: they are exited
/// first.
@inline(never)
func exitAfterJump(_ t: ThreadRecord, _ f: FunctionRecord, key: UInt64, depth: UInt32) {
    exitFrame(t, f, depth: key > topFrameKey(t, depth: depth) ? dropAbandoned(t, key: key, depth: depth, exiting: f) : depth)
}

/// The calling thread's frames whose keys lie below `key`, the frame key of
/// an exported call, were left by a jump: exits them. For the calls that
/// would otherwise find the thread inside them (lp_transition_wait,
/// lp_thread_unregister). From a frame deeper than the exported call's the
/// key is lower, and fewer frames are dropped, never a live one.
@inline(never)
func dropFramesBelow(_ t: ThreadRecord, key: UInt64) {
    let depth = lps_load_u32(&t.pointee.fdepth)
    if depth != 0 && key > topFrameKey(t, depth: depth) { _ = dropAbandoned(t, key: key, depth: depth, exiting: nil) }
}

/// Ends the activation of `f` at `depth` (> 0).
@inline(__always)
func exitFrame(_ t: ThreadRecord, _ f: FunctionRecord, depth: UInt32) {
    let outer = depth &- 1
    lps_store_u32(&t.pointee.fdepth, outer)
    // The depth is stored before waiting is read. Pairs with the membarrier
    // after lps_global.waiting is set: either a scan sees the frame gone, or
    // this exit wakes it.
    lps_thread_side_fence()
    countCall(t, f, entry: false)
    let a = lps_load_u64(&t.pointee.act)
    let fe = lps_load_u64(&f.pointee.tx_epoch)
    // Steady state: no activation, f in no transition, and (at the outermost
    // exit, or back within the shadow stack) no patcher waiting. Everything
    // else is out of line.
    if a | fe != 0 || ((outer == 0 || outer == UInt32(LP_FRAMES_KNOWN)) && lps_load_u32(&lps_global_ref().pointee.waiting) != 0) {
        exitSlow(t, f, outer: outer, act: a, txEpoch: fe)
    }
}

@inline(never)
func exitSlow(_ t: ThreadRecord, _ f: FunctionRecord, outer: UInt32, act a: UInt64, txEpoch fe: UInt64) {
    let fepoch = lps_load_u64(&t.pointee.fepoch)
    // PATCHED_SET x FUNCTION begins no activations: with one of this
    // transition live, its counters are not in use.
    if !Act.belongs(a, to: fe) && fe != 0 && fe == fepoch && lps_load_u32(&lps_global_ref().pointee.leave) == LP_LEAVE_PATCHED_SET.rawValue
        && lps_load_u32(&lps_global_ref().pointee.sw) == LP_SWITCH_FUNCTION.rawValue {
        return exitCountedFunctionActivation(t, f, outer: outer, act: a, txEpoch: fe, fepoch: fepoch)
    }
    exitActivation(t, outer: outer, act: a, txEpoch: fe, fepoch: fepoch)
}

@inline(never)
func exitCountedFunctionActivation(_ t: ThreadRecord, _ f: FunctionRecord, outer: UInt32, act a: UInt64, txEpoch fe: UInt64,
                                   fepoch: UInt64) {
    exitCountedFunction(t, f, epoch: fe)
    exitActivation(t, outer: outer, act: a, txEpoch: fe, fepoch: fepoch)
}

/// The exit's part in area activations: ends the one this frame began, or
/// tells a waiting patcher that the thread passed a switch point. Every call
/// is in tail position.
@inline(__always)
func exitActivation(_ t: ThreadRecord, outer: UInt32, act a: UInt64, txEpoch fe: UInt64, fepoch: UInt64) {
    if a != Act.none && !Act.isKernel(a) && Act.marker(a) == outer {
        lps_store_u64(&t.pointee.act, Act.none)
        // Pairs with the lps_patcher_side_fence() the patcher runs after it sets
        // lps_global.waiting: either it sees act cleared, or we see waiting.
        lps_thread_side_fence()
        if lps_load_u32(&t.pointee.kdepth) != 0 && lps_load_u32(&lps_global_ref().pointee.kernel_area) != 0
            && lps_load_u64(&t.pointee.kepoch) == fepoch {
            return kernelSectionOutlives(t, ended: a, epoch: fepoch)
        }
        if lps_load_u32(&lps_global_ref().pointee.waiting) != 0 { wakeIfBlocking(a) }
    } else if lps_load_u32(&lps_global_ref().pointee.waiting) != 0 && fepoch != lps_load_u64(&lps_global_ref().pointee.epoch)
                && (outer == 0 || outer == UInt32(LP_FRAMES_KNOWN) || fe != 0) {
        // Leaving an activation that predates the transition, a set function
        // inside one, or the frames beyond the shadow stack: a switch point.
        notifyPatcher()
    }
}

/// A kernel section begun inside the function activation `ended` (already
/// cleared) outlives it: it becomes an activation of its own, so that no
/// kernel section of a LEAVE_KERNEL transition is ever without one.
@inline(never)
func kernelSectionOutlives(_ t: ThreadRecord, ended a: UInt64, epoch: UInt64) {
    if lps_load_u32(&lps_global_ref().pointee.waiting) != 0 { wakeIfBlocking(a) }
    _ = beginActivation(t, epoch: epoch, kernel: true, marker: 0)
}

/// Enters a kernel section. C: `lp_kernel_enter`.
@c public func lp_kernel_enter() {
    guard let t = lps_tls_rec() ?? registerFromHook() else { return countUnregisteredCall() }
    let depth = lps_load_u32(&t.pointee.kdepth)
    if depth == 0 {
        // Announce, then read the epoch, as in lp_func_enter.
        lps_store_u64(&t.pointee.kepoch, epochUnknown)
        lps_store_release_u32(&t.pointee.kdepth, 1)
        lps_thread_side_fence()
        snapshotEpoch(&t.pointee.kepoch)
        let epoch = lps_load_u64(&t.pointee.kepoch)
        if lps_load_u32(&lps_global_ref().pointee.kernel_area) != 0 && lps_load_u64(&t.pointee.act) == Act.none {
            _ = beginActivation(t, epoch: epoch, kernel: true, marker: 0)
        }
    } else {
        lps_store_u32(&t.pointee.kdepth, depth &+ 1)
    }
}

/// Leaves a kernel section; the outermost exit is a switch point.
/// C: `lp_kernel_exit`.
@c public func lp_kernel_exit() {
    guard let t = lps_tls_rec() else { return countUnbalancedUnregistered() }
    let depth = lps_load_u32(&t.pointee.kdepth)
    guard depth != 0 else { return countUnbalanced(t) }
    lps_store_u32(&t.pointee.kdepth, depth &- 1)
    guard depth == 1 else { return }
    let a = lps_load_u64(&t.pointee.act)
    if a != Act.none && Act.isKernel(a) {
        endActivation(t, a)
    } else if lps_load_u32(&lps_global_ref().pointee.flags) & (LP_MODEL_F_KERNEL_EXIT_SWITCHES | LP_MODEL_F_STACK_CHECK)
                == LP_MODEL_F_KERNEL_EXIT_SWITCHES | LP_MODEL_F_STACK_CHECK {
        stackSwitchPoint(t)
    } else if lps_load_u32(&lps_global_ref().pointee.flags) & LP_MODEL_F_KERNEL_EXIT_SWITCHES != 0 {
        // UPSTREAM: the return to "user space" proves no set function is on
        // this thread's stack, so its function activations re-arm here.
        lps_store_u64(&t.pointee.fepoch, lps_load_acquire_u64(&lps_global_ref().pointee.epoch))
        lps_thread_side_fence() // pairs with the membarrier after lps_global.waiting is set
        if lps_load_u32(&lps_global_ref().pointee.waiting) != 0 { notifyPatcher() }
    } else if lps_load_u32(&lps_global_ref().pointee.waiting) != 0
                && lps_load_u64(&t.pointee.kepoch) != lps_load_u64(&lps_global_ref().pointee.epoch) {
        notifyPatcher()
    }
}

/// A long-running thread is outside the kernel and the patched set right
/// now: its activation ends, it takes the current universe, and its kernel
/// section (if any) begins again. C: `lp_safe_point`.
@c public func lp_safe_point() {
    guard let t = lps_tls_rec() ?? registerFromHook() else { return countUnregisteredCall() }
    rearm(t)
}

/// The thread will block outside every patched function and the kernel; the
/// patcher may switch it meanwhile. C: `lp_thread_offline`.
@c public func lp_thread_offline() {
    guard let t = lps_tls_rec() ?? registerFromHook() else { return countUnregisteredCall() }
    lps_store_u64(&t.pointee.act, Act.none)
    lps_store_u32(&t.pointee.offline, 1)
    // Pairs with the membarrier after lps_global.waiting is set.
    lps_thread_side_fence()
    if lps_load_u32(&lps_global_ref().pointee.waiting) != 0 { notifyPatcher() }
}

/// The thread runs again and takes the current universe.
/// C: `lp_thread_online`.
@c public func lp_thread_online() {
    guard let t = lps_tls_rec() ?? registerFromHook() else { return countUnregisteredCall() }
    lps_store_u32(&t.pointee.offline, 0)
    rearm(t)
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
/// and the thread counts for it.
@inline(never)
func enterInTransition(_ t: ThreadRecord, _ f: FunctionRecord, epoch: UInt64, depth: UInt32) -> UnsafeRawPointer? {
    // Reached through enterOldActivation when the epoch was published
    // after lp_func_enter's check: a stack-checked transition still decides
    // by the thread's stack-checked universe, never by an activation.
    if stackChecked(epoch) { return enterStackChecked(t, f, epoch: epoch) }
    let leave = lps_load_u32(&lps_global_ref().pointee.leave)
    var universe: UInt32? = nil
    if leave == LP_LEAVE_FUNCTION.rawValue {
        universe = lps_load_u32(&lps_global_ref().pointee.target)
    } else if leave == LP_LEAVE_PATCHED_SET.rawValue && lps_load_u32(&lps_global_ref().pointee.sw) == LP_SWITCH_FUNCTION.rawValue {
        universe = enterCountedFunction(t, f, epoch: epoch)
    } else {
        universe = activationUniverse(t, epoch: epoch, depth: depth, leave: leave)
    }
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

// MARK: - entry/exit counts

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

/// An exit on a thread that never entered anything (it has no record).
@inline(never)
func countUnbalancedUnregistered() {
    _ = lps_fetch_add_u64(&lps_global_ref().pointee.unbalanced_unregistered, 1)
}

@inline(never)
func countUnbalanced(_ t: ThreadRecord) {
    lps_store_u64(&t.pointee.unbalanced, lps_load_u64(&t.pointee.unbalanced) &+ 1)
}

