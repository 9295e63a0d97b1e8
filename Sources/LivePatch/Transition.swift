import CLivePatchShim

// The transition engine, in the kernel's verbs: start (publish), try
// complete, reverse, force, complete. Guarded by the patcher lock; the
// hooks read what it publishes in lp_global and the function records.

struct TransitionFunction {
    let index: UInt32
    let old: UnsafeRawPointer
    let new: UnsafeRawPointer
}

struct Transition {
    let patch: Patch
    let enabling: Bool
    let model: Model
    let epoch: UInt64
    /// The functions it switches; late targets registered meanwhile join.
    var functions: [TransitionFunction]
    /// The stack before and after (parity): the patch alone for atomic
    /// replace, else the stack with the patch added or removed.
    let from: [Int]
    let to: [Int]
    /// Functions registered during the transition that a patch of the stack
    /// replaces (lp_patch_add_func_by_name): complete() gives them their
    /// final implementation.
    var late: [UInt32] = []
    var target: UInt32 = universeNew
    /// SWITCH_KERNEL / SWITCH_FUNCTION: no hold before this time.
    var nextHoldAt: UInt64 = 0
    /// Holds that timed out so far: each one doubles the next hold's bound.
    var holdTimeouts: UInt32 = 0
    let startedAt: UInt64 = lp_sys_now_ns()
    var checks: UInt64 = 0
    var reversals: UInt32 = 0
    /// The model asked to be asked again by this time (0: no such request).
    var recheckAt: UInt64 = 0

    /// The bound on the next hold: the policy's, doubled after each hold
    /// that timed out, up to a second (or the policy's, if longer). Under
    /// heavy load the threads inside the area need more CPU time to leave
    /// it than a short hold gives them; the doubling makes a busy program
    /// switch in the end instead of retrying forever.
    var holdBound: UInt64 {
        let base = switchPolicy.holdNs
        let cap = max(base, 1_000_000_000)
        return min(base << min(UInt64(holdTimeouts), 20), cap)
    }

    /// Heading to the state with the patch applied: enabling, or a reversed disable.
    var isPatching: Bool { enabling == (target == universeNew) }

    mutating func holdTimedOut() {
        holdTimeouts += 1
        nextHoldAt = lp_sys_now_ns() &+ switchPolicy.retryNs
    }
}

struct SwitchPolicy {
    var holdNs: UInt64 = 2_000_000
    var retryNs: UInt64 = 5_000_000
}

struct TransitionStats {
    var started: UInt64 = 0
    var completed: UInt64 = 0
    var reversed: UInt64 = 0
    var forced: UInt64 = 0
    var checks: UInt64 = 0
    var holdAttempts: UInt64 = 0
    var holdTimeouts: UInt64 = 0
    var lastModel: lp_model_t = 0
    var lastPatchName: [UInt8] = []
    var lastPending: UInt64 = 0
    var lastPendingFunctions: UInt64 = 0
}

nonisolated(unsafe) var transition: Transition? = nil
/// LP_BUG_*: a protocol break the torture checker must catch (testing only).
nonisolated(unsafe) var injectedBug: Int32 = 0
nonisolated(unsafe) var switchPolicy = SwitchPolicy()
nonisolated(unsafe) var transitionStats = TransitionStats()
/// SWITCH_FUNCTION counter rows outgrown by a larger patch. A hook that read
/// the old pointer may still write to it, so they are kept, not freed; each
/// is at least twice the size of the one before.
nonisolated(unsafe) var retiredCounterRows: [UnsafeMutablePointer<UInt64>] = []

/// init + start: computes each function's old and new implementation,
/// publishes them and the model, then the epoch, and fences every thread.
func startTransition(_ patch: Patch, enabling: Bool, from: [Int], to: [Int]) -> Int32 {
    ensureInitialized()
    if threadRegistry.membarrierError != 0 { return LPError.notPermitted }
    let functions = changedFunctions(from: from, to: to).map {
        TransitionFunction(index: $0, old: effectiveImpl($0, order: from), new: effectiveImpl($0, order: to))
    }
    let model = patch.model
    if model.countsPerFunction && !ensureCounterRows(functions.count) { return LPError.noMemory }
    let epoch = lp_load_u64(&lp_global.epoch) &+ 1
    for (i, fn) in functions.enumerated() {
        let f = functionRecord(fn.index)
        lp_store_release_ptr(&f.pointee.tx_old, fn.old)
        lp_store_release_ptr(&f.pointee.tx_new, fn.new)
        lp_store_u32(&f.pointee.tx_index, UInt32(i))
        lp_store_u32(&f.pointee.hold, 0)
        lp_store_u32(&f.pointee.fn_universe, universeOld)
        lp_store_release_u64(&f.pointee.tx_epoch, epoch)
    }
    lp_store_u32(&lp_global.leave, model.leave)
    lp_store_u32(&lp_global.sw, model.effectiveSwitch)
    lp_store_u32(&lp_global.flags, model.flags)
    lp_store_u32(&lp_global.target, universeNew)
    lp_store_u32(&lp_global.kuniv, universeOld)
    lp_store_u32(&lp_global.hold, 0)
    lp_store_u32(&lp_global.kernel_area, model.leave == LP_LEAVE_KERNEL.rawValue ? 1 : 0)
    // Pairs with the acquire loads of lp_global.epoch at every outermost
    // entry (Hooks.swift): a thread that reads this epoch sees all of the above.
    lp_store_release_u64(&lp_global.epoch, epoch)
    // Pairs with lp_signal_fence() in the hooks: after this, every thread's
    // next outermost entry reads the new epoch, and every activation it had
    // begun is visible to the scans.
    if injectedBug != LP_BUG_SKIP_GRACE_PERIOD { lp_sys_membarrier() }
    patch.inTransition = true
    transition = Transition(patch: patch, enabling: enabling, model: model, epoch: epoch, functions: functions,
                            from: from, to: to)
    transitionStats.started += 1
    transitionStats.lastModel = model.raw
    transitionStats.lastPatchName = patch.name
    return 0
}

/// Every function of the patches that are on one stack and not the other:
/// the patch enabled or disabled, or with atomic replace the new patch and
/// every patch it replaces. Each once, in patch order.
func changedFunctions(from: [Int], to: [Int]) -> [UInt32] {
    let changed = from.filter { !to.contains($0) } + to.filter { !from.contains($0) }
    if changed.count == 1 { return patchRegistry.patches[changed[0]]!.functions }
    var seen = [Bool](repeating: false, count: Int(LP_MAX_FUNCS))
    var result: [UInt32] = []
    for slot in changed {
        for f in patchRegistry.patches[slot]!.functions where !seen[Int(f)] {
            seen[Int(f)] = true
            result.append(f)
        }
    }
    return result
}

/// SWITCH_FUNCTION rows: one per thread slot, a counter word per function,
/// padded to whole cache lines so that no two threads share a line.
func ensureCounterRows(_ count: Int) -> Bool {
    // Eight spare words per row for late targets that join the transition.
    let needed = UInt64((count + 8 + 7) & ~7)
    if lp_global_fn_counts() != nil && lp_load_u64(&lp_global.fn_stride) >= needed { return true }
    let stride = max(needed, 2 * lp_load_u64(&lp_global.fn_stride))
    guard let raw = lp_sys_calloc(Int(LP_MAX_THREADS) * Int(stride), MemoryLayout<UInt64>.size) else { return false }
    if let old = lp_global_fn_counts() { retiredCounterRows.append(old) }
    // Published before the epoch (release) in startTransition().
    lp_global_set_fn_counts(raw.assumingMemoryBound(to: UInt64.self), stride)
    return true
}

/// One completion step. Returns 1 done, 0 pending. Patcher lock held.
func tryCompleteLocked() -> Int32 {
    guard var tx = transition else { return 1 }
    transitionStats.checks += 1
    tx.checks += 1
    let model = tx.model
    var done: Bool
    if model.countsNothing {
        done = true
    } else if model.countsPerFunction {
        done = switchFunctions(&tx)
    } else if model.effectiveSwitch == LP_SWITCH_KERNEL.rawValue {
        done = lp_load_u32(&lp_global.kuniv) == tx.target || holdAndSwitchKernel(&tx)
    } else {
        done = scan(tx).blocked == 0
    }
    if !done { done = applyModelDecision(&tx) }
    transition = tx
    if done { complete() }
    return done ? 1 : 0
}

/// Asks the model what a pending transition does, and does it. Returns
/// true if the transition is to complete now (forced).
func applyModelDecision(_ tx: inout Transition) -> Bool {
    let progress = TransitionProgress(
        patch: patchTableBase + tx.patch.slot, patching: tx.isPatching, enabling: tx.enabling,
        elapsedNs: lp_sys_now_ns() &- tx.startedAt, checks: tx.checks,
        pendingThreads: transitionStats.lastPending, pendingFunctions: transitionStats.lastPendingFunctions,
        reversals: tx.reversals, holdTimeouts: tx.holdTimeouts)
    let decision = tx.model.pending(progress)
    tx.recheckAt = 0
    switch decision.action {
    case .wait:
        if decision.recheckInNs != 0 { tx.recheckAt = lp_sys_now_ns() &+ decision.recheckInNs }
        return false
    case .reverse:
        reverseLocked(&tx)
        return false
    case .force:
        forceSwitch(tx)
        return true
    }
}

/// SWITCH_KERNEL: hold new outermost activations back, wait (bounded) for
/// the live ones to drain, and switch everything at the instant none is left.
func holdAndSwitchKernel(_ tx: inout Transition) -> Bool {
    let now = lp_sys_now_ns()
    guard now >= tx.nextHoldAt else {
        transitionStats.lastPending = UInt64(scan(tx).blocked)
        return false
    }
    transitionStats.holdAttempts += 1
    let current = tx
    let switched = holding(&lp_global.hold, bound: tx.holdBound) {
        scan(current).blocked == 0 || injectedBug == LP_BUG_FLIP_BUSY_KERNEL
    }
    if switched {
        lp_store_u32(&lp_global.kuniv, tx.target)
    } else {
        tx.holdTimedOut()
    }
    releaseHold(&lp_global.hold)
    return switched
}

/// PATCHED_SET x FUNCTION: switch the pending functions one at a time, each
/// under a hold of its own, at an instant when no thread executes it.
///
/// One at a time, because a thread held at the entry of one function may be
/// inside another: with two functions held at once, a thread inside f
/// waiting for g's hold and one inside g waiting for f's would block both
/// counts until the hold ran out. With one held function, every thread
/// inside it can run to its exit (a recursive entry is never held).
func switchFunctions(_ tx: inout Transition) -> Bool {
    var pending = tx.functions.filter { lp_load_u32(&functionRecord($0.index).pointee.fn_universe) != tx.target }
    transitionStats.lastPendingFunctions = UInt64(pending.count)
    if pending.isEmpty { return true }
    guard lp_sys_now_ns() >= tx.nextHoldAt else { return false }
    _ = scan(tx) // names the threads to nudge
    let current = tx
    while let fn = pending.first {
        transitionStats.holdAttempts += 1
        let f = functionRecord(fn.index)
        let slot = Int(lp_load_u32(&f.pointee.tx_index))
        let switched = holding(&f.pointee.hold, bound: tx.holdBound) {
            liveCounts(current)[slot] == 0 || injectedBug == LP_BUG_SWITCH_BUSY_THREAD
        }
        if switched { lp_store_u32(&f.pointee.fn_universe, tx.target) }
        releaseHold(&f.pointee.hold)
        guard switched else {
            tx.holdTimedOut()
            transitionStats.lastPendingFunctions = UInt64(pending.count)
            return false
        }
        pending.removeFirst()
    }
    transitionStats.lastPendingFunctions = 0
    return true
}

/// Sets the hold flag `word`, then runs `check` after a fence and again each
/// time a thread reports progress, until it returns true or `bound` passes.
/// The caller releases the hold.
func holding(_ word: UnsafeMutablePointer<UInt32>, bound: UInt64, _ check: () -> Bool) -> Bool {
    lp_store_u32(word, 1)
    _ = lp_fetch_add_u32(&lp_global.waiting, 1)
    defer { _ = lp_fetch_add_u32(&lp_global.waiting, UInt32.max) }
    // Pairs with lp_signal_fence() in beginActivation / enterCountedFunction:
    // after it, a thread either is visible in the scan or sees the hold.
    lp_sys_membarrier()
    let deadline = lp_sys_now_ns() &+ bound
    var nudged = false
    while true {
        let seq = lp_load_u32(&lp_global.wake_seq)
        if check() { return true }
        if !nudged {
            // Sleepers inside the area would outlast the hold: wake them now.
            nudgeStalled()
            nudged = true
        }
        let now = lp_sys_now_ns()
        if now >= deadline {
            transitionStats.holdTimeouts += 1
            return false
        }
        _ = lp_sys_futex_wait(&lp_global.wake_seq, seq, min(deadline - now, 50_000))
    }
}

/// Lets held threads go on. Pairs with the acquire load in waitWhileHeld():
/// every store before this one (the new universe) is seen by them.
func releaseHold(_ word: UnsafeMutablePointer<UInt32>) {
    lp_store_release_u32(word, 0)
    lp_sys_futex_wake(word, Int32.max)
}

/// complete: every function takes its final implementation, then leaves the
/// transition; the patch stack and states follow, and the completion's log
/// lines and post_* callback are queued (run after the lock is released).
func complete() {
    guard let tx = transition else { return }
    for fn in tx.functions {
        let f = functionRecord(fn.index)
        lp_store_release_ptr(&f.pointee.impl, tx.target == universeNew ? fn.new : fn.old)
    }
    for fn in tx.functions {
        // Release: a hook that reads tx_epoch == 0 (acquire) sees impl above.
        lp_store_release_u64(&functionRecord(fn.index).pointee.tx_epoch, 0)
    }
    lp_store_u32(&lp_global.kernel_area, 0)
    let switchedOver = tx.target == universeNew
    if switchedOver {
        // Atomic replace: the replaced patches leave the stack disabled.
        for slot in tx.from where !tx.to.contains(slot) { patchRegistry.patches[slot]?.enabled = false }
        for slot in tx.to { patchRegistry.patches[slot]?.enabled = true }
        patchRegistry.enabledOrder = tx.to
    }
    for index in tx.late {
        // Late functions that could not join: they started in the target's
        // implementation, which is the final one unless the transition was
        // reversed. The hooks load impl relaxed (tx_epoch is 0 for them), so
        // nothing orders this store for them: they see it eventually.
        lp_store_release_ptr(&functionRecord(index).pointee.impl, effectiveImpl(index, order: patchRegistry.enabledOrder))
    }
    tx.patch.inTransition = false
    transition = nil
    transitionStats.completed += 1
    transitionStats.lastPending = 0
    transitionStats.lastPendingFunctions = 0
    // The kernel's order: "completing", the post_* callback, "complete".
    let patched = tx.enabling == switchedOver
    logPatch(tx.patch, patched ? "completing patching transition" : "completing unpatching transition")
    queueCallback(tx.patch, patched ? .postPatch : .postUnpatch)
    logPatch(tx.patch, patched ? "patching complete" : "unpatching complete")
    // A patcher asleep in lp_transition_wait() on another thread may go.
    notifyPatcher()
}

/// The caller would wait for itself.
@inline(__always) // the frame key is the exported call's: see dropFramesBelow
func callerIsInside() -> Bool {
    guard let t = lp_tls_rec() else { return false }
    dropFramesBelow(t, key: lp_frame_key())
    return lp_load_u32(&t.pointee.fdepth) != 0 || lp_load_u32(&t.pointee.kdepth) != 0
}

// MARK: - C API

/// One completion step: 1 done (or nothing in flight), 0 pending.
/// C: `lp_transition_try_complete`.
@c public func lp_transition_try_complete() -> Int32 {
    if callerIsInside() { return LPError.deadlock }
    return withPatcher { tryCompleteLocked() }
}

/// Drives the transition until it completes or `timeoutNs` passes (0: no
/// limit). C: `lp_transition_wait`.
@c public func lp_transition_wait(_ timeoutNs: UInt64) -> Int32 {
    if callerIsInside() { return LPError.deadlock }
    defer { drainPatcherEvents() } // the completion's log lines and post_* callback
    let start = lp_sys_now_ns()
    let deadline = timeoutNs == 0 ? UInt64.max : start &+ timeoutNs
    _ = lp_fetch_add_u32(&lp_global.waiting, 1)
    defer { _ = lp_fetch_add_u32(&lp_global.waiting, UInt32.max) }
    // Pairs with lp_signal_fence() after a thread leaves an activation: from
    // here on, a thread that unblocks us either is seen by the next scan or
    // sees `waiting` and bumps wake_seq.
    lp_sys_membarrier()
    var nextNudge = start &+ nudgePeriodNs
    while true {
        let seq = lp_load_u32(&lp_global.wake_seq)
        var wakeAt = deadline
        let state: (done: Bool, transient: Bool) = withPatcherLock {
            if tryCompleteLocked() == 1 { return (true, false) }
            if let tx = transition {
                let now = lp_sys_now_ns()
                if tx.nextHoldAt > now { wakeAt = min(wakeAt, tx.nextHoldAt) }
                if tx.recheckAt > now { wakeAt = min(wakeAt, tx.recheckAt) }
            }
            return (false, lastScanTransient)
        }
        if state.done { return 0 }
        let now = lp_sys_now_ns()
        if now >= deadline { return LPError.timedOut }
        if nudgeSignal != 0 {
            if now >= nextNudge {
                withPatcherLock { nudgeStalled() }
                nextNudge = now &+ nudgePeriodNs
            }
            wakeAt = min(wakeAt, nextNudge)
        }
        // A thread caught between storing "undecided" and deciding wakes no
        // one; look again shortly. Otherwise sleep until a thread reports
        // progress, the next hold, the next nudge or the deadline; the one
        // second cap is a backstop against a lost wake-up, not a poll.
        let cap: UInt64 = state.transient ? 20_000 : 1_000_000_000
        _ = lp_sys_futex_wait(&lp_global.wake_seq, seq, min(wakeAt &- now, cap))
    }
}

/// Turns the transition in flight around. C: `lp_transition_reverse`.
@c public func lp_transition_reverse() -> Int32 {
    withPatcher {
        guard var tx = transition else { return LPError.invalid }
        reverseLocked(&tx)
        transition = tx
        return 0
    }
}

/// reverse: the transition heads back to where it started. Patcher lock held.
func reverseLocked(_ tx: inout Transition) {
    logPatch(tx.patch, tx.isPatching ? "reversing transition from patching to unpatching"
                                : "reversing transition from unpatching to patching")
    tx.target ^= 1
    tx.nextHoldAt = 0
    tx.holdTimeouts = 0
    tx.reversals += 1
    transitionStats.reversed += 1
    lp_store_u32(&lp_global.target, tx.target)
    // Pairs with lp_signal_fence() in beginActivation: activations that
    // begin after this take the new target, earlier ones are scanned.
    lp_sys_membarrier()
    notifyPatcher()
}

/// Completes the transition now. C: `lp_transition_force`.
@c public func lp_transition_force() -> Int32 {
    withPatcher {
        guard let tx = transition else { return LPError.invalid }
        forceSwitch(tx)
        complete()
        return 0
    }
}

/// force: every unit takes the target now, whatever the counts say; the
/// caller completes. Patcher lock held.
func forceSwitch(_ tx: Transition) {
    logPatch(tx.patch, tx.isPatching ? "forcing remaining threads to the patched state"
                                : "forcing remaining threads to the unpatched state")
    lp_store_u32(&lp_global.kuniv, tx.target)
    for fn in tx.functions { lp_store_u32(&functionRecord(fn.index).pointee.fn_universe, tx.target) }
    transitionStats.forced += 1
}

/// Breaks the protocol on purpose (LP_BUG_*). C: `lp_debug_inject_bug`.
@c public func lp_debug_inject_bug(_ kind: Int32) -> Int32 {
    guard kind >= LP_BUG_NONE && kind <= LP_BUG_FLIP_BUSY_KERNEL else { return LPError.invalid }
    withPatcherLock { injectedBug = kind }
    return 0
}

/// The bound on one hold and the pause between holds.
/// C: `lp_set_switch_policy`.
@c public func lp_set_switch_policy(_ holdNs: UInt64, _ retryNs: UInt64) -> Int32 {
    let limit: UInt64 = 1_000_000_000
    guard holdNs != 0, retryNs != 0, holdNs <= limit, retryNs <= limit else { return LPError.invalid }
    return withPatcherLock {
        switchPolicy = SwitchPolicy(holdNs: holdNs, retryNs: retryNs)
        return 0
    }
}
