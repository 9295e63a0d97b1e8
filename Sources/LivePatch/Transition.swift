internal import CLivePatchShim

// The transition engine, in the kernel's verbs: start (publish), try
// complete, reverse, force, complete. Guarded by the patcher lock; the
// hooks read what it publishes in lps_global and the function records.

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
    /// Holds that timed out or stalled so far: each one doubles the next hold's bound.
    var holdTimeouts: UInt32 = 0
    /// Stalled holds since the last one that did not stall.
    var stalledHolds: UInt32 = 0
    let startedAt: UInt64 = monotonicNow()
    var checks: UInt64 = 0
    var reversals: UInt32 = 0
    /// The model asked to be asked again by this time (0: no such request).
    var recheckAt: UInt64 = 0

    /// The bound on the next hold: the policy's, doubled after each hold
    /// that failed, up to the policy's limit. Under heavy load the threads
    /// inside the area need more CPU time to leave it than a short hold gives
    /// them; the doubling makes a busy program switch in the end instead of
    /// retrying forever. Only a hold whose count keeps falling lasts that
    /// long: one that stops falling ends after holdNs (see holding()).
    var holdBound: UInt64 {
        let base = switchPolicy.holdNs
        let cap = max(base, switchPolicy.limitNs)
        let shift = min(UInt64(holdTimeouts), 63)
        return base > cap >> shift ? cap : base << shift
    }

    /// Heading to the state with the patch applied: enabling, or a reversed disable.
    var isPatching: Bool { enabling == (target == universeNew) }

    /// SWITCH_KERNEL and SWITCH_FUNCTION switch under holds; stack checks
    /// run in rounds on the same schedule (nextHoldAt): no thread reports
    /// progress to the patcher between them.
    var holdsEntries: Bool {
        model.countsPerFunction || model.checksStacks || model.effectiveSwitch == LP_SWITCH_KERNEL.rawValue
    }

    /// Schedules the next hold after one that began at `startedAt` and did
    /// not switch. A stalled hold may be one whose threads inside wait for
    /// the very threads it keeps out (a lock taken inside the set and
    /// released through a set function): the pause after it is 1, 3, 7, 15,
    /// 31, then 39 times its length as stalls follow each other, so that a lone
    /// stall (a sleeper that would have left a little later) costs little and
    /// a lasting one takes at most 1/holdDuty of the program's time.
    mutating func holdFailed(_ outcome: HoldOutcome, startedAt: UInt64) {
        let now = monotonicNow()
        var pause = switchPolicy.retryNs
        switch outcome {
        case .switched, .cutShort:
            break
        case .timedOut:
            holdTimeouts += 1
            stalledHolds = 0
        case .stalled:
            holdTimeouts += 1
            stalledHolds += 1
            let times = min(holdDuty - 1, (1 << UInt64(min(stalledHolds, 8))) - 1)
            let held = now &- startedAt
            pause = max(pause, held > UInt64.max / times ? UInt64.max : held * times)
        }
        nextHoldAt = saturatingAdd(now, pause)
    }
}

/// How a hold ended.
enum HoldOutcome {
    case switched
    /// It reached its bound while the count still fell.
    case timedOut
    /// The count did not fall for the policy's holdNs.
    case stalled
    /// The caller's deadline (lp_transition_wait's timeout) came first.
    case cutShort
}

/// Stalled holds take at most one part in holdDuty of the program's time.
let holdDuty: UInt64 = 40

/// a + b, or UInt64.max where that overflows: deadlines from huge timeouts.
func saturatingAdd(_ a: UInt64, _ b: UInt64) -> UInt64 {
    let (sum, overflow) = a.addingReportingOverflow(b)
    return overflow ? UInt64.max : sum
}

struct SwitchPolicy {
    var holdNs: UInt64 = 2_000_000
    var retryNs: UInt64 = 5_000_000
    var limitNs: UInt64 = 1_000_000_000
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

@exclusivity(unchecked) nonisolated(unsafe) var transition: Transition? = nil
/// LP_BUG_*: a protocol break the torture checker must catch (testing only).
@exclusivity(unchecked) nonisolated(unsafe) var injectedBug: Int32 = 0
@exclusivity(unchecked) nonisolated(unsafe) var switchPolicy = SwitchPolicy()
@exclusivity(unchecked) nonisolated(unsafe) var transitionStats = TransitionStats()
/// SWITCH_FUNCTION counter rows outgrown by a larger patch. A hook that read
/// the old pointer may still write to it, so they are kept, not freed; each
/// is at least twice the size of the one before.
@exclusivity(unchecked) nonisolated(unsafe) var retiredCounterRows: [UnsafeMutablePointer<UInt64>] = []

/// init + start: computes each function's old and new implementation,
/// publishes them and the model, then the epoch, and fences every thread.
func startTransition(_ patch: Patch, enabling: Bool, from: [Int], to: [Int]) -> Int32 {
    ensureInitialized()
    let functions = changedFunctions(from: from, to: to).map {
        TransitionFunction(index: $0, old: effectiveImpl($0, order: from), new: effectiveImpl($0, order: to))
    }
    let model = patch.model
    if model.countsPerFunction && !ensureCounterRows(functions.count) { return LPError.noMemory }
    if model.checksStacks {
        let r = prepareStackCheck(functions)
        if r != 0 { return r }
    }
    let epoch = lps_load_u64(&lps_global_ref().pointee.epoch) &+ 1
    for (i, fn) in functions.enumerated() {
        let f = functionRecord(fn.index)
        lps_store_release_ptr(&f.pointee.tx_old, fn.old)
        lps_store_release_ptr(&f.pointee.tx_new, fn.new)
        lps_store_u32(&f.pointee.tx_index, UInt32(i))
        lps_store_u32(&f.pointee.hold, 0)
        lps_store_u32(&f.pointee.fn_universe, universeOld)
        lps_store_release_u64(&f.pointee.tx_epoch, epoch)
    }
    lps_store_u32(&lps_global_ref().pointee.leave, model.leave)
    lps_store_u32(&lps_global_ref().pointee.sw, model.effectiveSwitch)
    lps_store_u32(&lps_global_ref().pointee.flags, model.flags)
    lps_store_u32(&lps_global_ref().pointee.target, universeNew)
    lps_store_u32(&lps_global_ref().pointee.kuniv, universeOld)
    lps_store_u32(&lps_global_ref().pointee.hold, 0)
    lps_store_u32(&lps_global_ref().pointee.kernel_area, model.leave == LP_LEAVE_KERNEL.rawValue ? 1 : 0)
    // Pairs with the acquire loads of lps_global.epoch at every outermost
    // entry (Hooks.swift): a thread that reads this epoch sees all of the above.
    lps_store_release_u64(&lps_global_ref().pointee.epoch, epoch)
    // Pairs with lps_thread_side_fence() in the hooks: after this, every thread's
    // next outermost entry reads the new epoch, and every activation it had
    // begun is visible to the scans.
    if injectedBug != LP_BUG_SKIP_GRACE_PERIOD { lps_patcher_side_fence() }
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
    if lps_global_fn_counts() != nil && lps_load_u64(&lps_global_ref().pointee.fn_stride) >= needed { return true }
    let stride = max(needed, 2 * lps_load_u64(&lps_global_ref().pointee.fn_stride))
    guard let raw = lps_sys_calloc(Int(LP_MAX_THREADS) * Int(stride), MemoryLayout<UInt64>.size) else { return false }
    if let old = lps_global_fn_counts() { retiredCounterRows.append(old) }
    // Published before the epoch (release) in startTransition().
    lps_global_set_fn_counts(raw.assumingMemoryBound(to: UInt64.self), stride)
    return true
}

/// One completion step. Returns 1 done, 0 pending. A hold it runs ends by
/// `deadline`. Patcher lock held.
func tryCompleteLocked(deadline: UInt64 = UInt64.max) -> Int32 {
    guard var tx = transition else { return 1 }
    transitionStats.checks += 1
    tx.checks += 1
    let model = tx.model
    var done: Bool
    if model.countsNothing {
        done = true
    } else if model.checksStacks && model.effectiveSwitch == LP_SWITCH_KERNEL.rawValue {
        done = lps_load_u32(&lps_global_ref().pointee.kuniv) == tx.target || stackStopMachine(&tx, deadline: deadline)
    } else if model.checksStacks {
        done = stackSwitchThreads(&tx, deadline: deadline)
    } else if model.countsPerFunction {
        done = switchFunctions(&tx, deadline: deadline)
    } else if model.effectiveSwitch == LP_SWITCH_KERNEL.rawValue {
        done = lps_load_u32(&lps_global_ref().pointee.kuniv) == tx.target || holdAndSwitchKernel(&tx, deadline: deadline)
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
        elapsedNs: monotonicNow() &- tx.startedAt, checks: tx.checks,
        pendingThreads: transitionStats.lastPending, pendingFunctions: transitionStats.lastPendingFunctions,
        reversals: tx.reversals, holdTimeouts: tx.holdTimeouts)
    let decision = tx.model.pending(progress)
    tx.recheckAt = 0
    switch decision.action {
    case .wait:
        if decision.recheckInNs != 0 { tx.recheckAt = saturatingAdd(monotonicNow(), decision.recheckInNs) }
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
func holdAndSwitchKernel(_ tx: inout Transition, deadline: UInt64) -> Bool {
    let now = monotonicNow()
    guard now >= tx.nextHoldAt else {
        transitionStats.lastPending = UInt64(scan(tx).blocked)
        return false
    }
    transitionStats.holdAttempts += 1
    let current = tx
    let outcome = holding(&lps_global_ref().pointee.hold, current, bound: tx.holdBound, deadline: deadline) {
        let blocked = UInt64(scan(current).blocked) // scanned either way: it names the stalled threads
        return injectedBug == LP_BUG_FLIP_BUSY_KERNEL ? 0 : blocked
    }
    if outcome == .switched {
        lps_store_u32(&lps_global_ref().pointee.kuniv, tx.target)
    } else {
        tx.holdFailed(outcome, startedAt: now)
    }
    releaseHold(&lps_global_ref().pointee.hold)
    return outcome == .switched
}

/// PATCHED_SET x FUNCTION: switch the pending functions one at a time, each
/// under a hold of its own, at an instant when no thread executes it.
///
/// One at a time, because a thread held at the entry of one function may be
/// inside another: with two functions held at once, a thread inside f
/// waiting for g's hold and one inside g waiting for f's would block both
/// counts until the hold ran out. With one held function, every thread
/// inside it can run to its exit (a recursive entry is never held).
func switchFunctions(_ tx: inout Transition, deadline: UInt64) -> Bool {
    var pending = tx.functions.filter { lps_load_u32(&functionRecord($0.index).pointee.fn_universe) != tx.target }
    transitionStats.lastPendingFunctions = UInt64(pending.count)
    if pending.isEmpty { return true }
    guard monotonicNow() >= tx.nextHoldAt else { return false }
    _ = scan(tx) // names the threads to nudge
    let current = tx
    while let fn = pending.first {
        transitionStats.holdAttempts += 1
        let f = functionRecord(fn.index)
        let slot = Int(lps_load_u32(&f.pointee.tx_index))
        let startedAt = monotonicNow()
        let outcome = holding(&f.pointee.hold, current, bound: tx.holdBound, deadline: deadline) {
            let live = liveCounts(current)[slot]
            return injectedBug == LP_BUG_SWITCH_BUSY_THREAD ? 0 : live
        }
        if outcome == .switched { lps_store_u32(&f.pointee.fn_universe, tx.target) }
        releaseHold(&f.pointee.hold)
        guard outcome == .switched else {
            tx.holdFailed(outcome, startedAt: startedAt)
            transitionStats.lastPendingFunctions = UInt64(pending.count)
            return false
        }
        pending.removeFirst()
    }
    transitionStats.lastPendingFunctions = 0
    return true
}

/// Sets the hold flag `word`, then reads `pending` (the count the hold
/// waits for) after a fence and again each time a thread reports progress,
/// until it is 0 (switched), `bound` or `deadline` passes, or it has not
/// fallen for the policy's holdNs while every thread of `tx` that blocks is
/// asleep (stalled: they may be waiting for the held ones; one that runs or
/// waits for a CPU is leaving, slowly, on a loaded machine). Sleeps between
/// reads: every thread that lowers the count, or is held, bumps wake_seq.
/// The caller releases the hold.
func holding(_ word: UnsafeMutablePointer<UInt32>, _ tx: Transition, bound: UInt64, deadline: UInt64,
             _ pending: () -> UInt64) -> HoldOutcome {
    lps_store_u32(word, 1)
    _ = lps_fetch_add_u32(&lps_global_ref().pointee.waiting, 1)
    defer { _ = lps_fetch_add_u32(&lps_global_ref().pointee.waiting, UInt32.max) }
    // Pairs with lps_thread_side_fence() in beginActivation / enterCountedFunction:
    // after it, a thread either is visible in the scan or sees the hold.
    lps_patcher_side_fence()
    let start = monotonicNow()
    let boundEnd = saturatingAdd(start, bound)
    let end = min(boundEnd, deadline)
    var fewest = UInt64.max
    var lastFall = start
    var nudged = false
    while true {
        let seq = lps_load_u32(&lps_global_ref().pointee.wake_seq)
        let count = pending()
        if count == 0 { return .switched }
        let now = monotonicNow()
        if count < fewest {
            fewest = count
            lastFall = now
        }
        if !nudged {
            // Sleepers inside the area would outlast the hold: wake them now.
            nudgeStalled()
            nudged = true
        }
        if now >= end {
            if end < boundEnd { return .cutShort }
            transitionStats.holdTimeouts += 1
            return .timedOut
        }
        var stallAt = saturatingAdd(lastFall, switchPolicy.holdNs)
        if now >= stallAt {
            _ = scan(tx)
            guard lastStalled.contains(where: { threadRunnable($0.thread.pointee.tid) }) else {
                transitionStats.holdTimeouts += 1
                return .stalled
            }
            lastFall = now
            stallAt = saturatingAdd(now, switchPolicy.holdNs)
        }
        // Both bounds lie ahead, so the timeout is never 0 (which would mean none).
        _ = futexWait(&lps_global_ref().pointee.wake_seq, seq, min(end, stallAt) - now)
    }
}

/// Lets held threads go on. Pairs with the acquire load in waitWhileHeld():
/// every store before this one (the new universe) is seen by them.
func releaseHold(_ word: UnsafeMutablePointer<UInt32>) {
    lps_store_release_u32(word, 0)
    futexWake(word, Int32.max)
}

/// complete: every function takes its final implementation, then leaves the
/// transition; the patch stack and states follow, and the completion's log
/// lines and post_* callback are queued (run after the lock is released).
func complete() {
    guard let tx = transition else { return }
    for fn in tx.functions {
        let f = functionRecord(fn.index)
        lps_store_release_ptr(&f.pointee.impl, tx.target == universeNew ? fn.new : fn.old)
    }
    for fn in tx.functions {
        // Release: a hook that reads tx_epoch == 0 (acquire) sees impl above.
        lps_store_release_u64(&functionRecord(fn.index).pointee.tx_epoch, 0)
    }
    lps_store_u32(&lps_global_ref().pointee.kernel_area, 0)
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
        lps_store_release_ptr(&functionRecord(index).pointee.impl, effectiveImpl(index, order: patchRegistry.enabledOrder))
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
    guard let t = lps_tls_rec() else { return false }
    dropFramesBelow(t, key: lps_frame_key())
    return lps_load_u32(&t.pointee.fdepth) != 0 || lps_load_u32(&t.pointee.kdepth) != 0
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
    let start = monotonicNow()
    let deadline = timeoutNs == 0 ? UInt64.max : saturatingAdd(start, timeoutNs)
    // Whether the threads bump wake_seq as they leave the area for us. A
    // hold-based transition switches only inside a hold, which asks for
    // wake-ups itself; between holds it waits for its next hold, and a
    // wake-up on every activation's end (a futex syscall each) would cost a
    // program whose lock functions are in the set most of its throughput.
    var askingWakes = false
    defer { if askingWakes { _ = lps_fetch_add_u32(&lps_global_ref().pointee.waiting, UInt32.max) } }
    var nextNudge = start &+ nudgePeriodNs
    while true {
        let seq = lps_load_u32(&lps_global_ref().pointee.wake_seq)
        var wakeAt = deadline
        let state: (done: Bool, wantsWakes: Bool, transient: Bool) = withPatcherLock {
            if tryCompleteLocked(deadline: deadline) == 1 { return (true, false, false) }
            guard let tx = transition else { return (false, false, false) }
            // A hold already due (a pause shorter than this step) runs at
            // once: the wake-up must not wait for the backstop.
            if tx.holdsEntries { wakeAt = min(wakeAt, tx.nextHoldAt) }
            if tx.recheckAt != 0 { wakeAt = min(wakeAt, tx.recheckAt) }
            return (false, !tx.holdsEntries, !tx.holdsEntries && lastScanTransient)
        }
        if state.done { return 0 }
        if state.wantsWakes != askingWakes {
            askingWakes = state.wantsWakes
            _ = lps_fetch_add_u32(&lps_global_ref().pointee.waiting, askingWakes ? 1 : UInt32.max)
            if askingWakes {
                // Pairs with lps_thread_side_fence() after a thread leaves an
                // activation: from here on, a thread that unblocks us either
                // is seen by the next check (run now) or sees `waiting` and
                // bumps wake_seq.
                lps_patcher_side_fence()
                continue
            }
        }
        let now = monotonicNow()
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
        if wakeAt <= now { continue }
        let cap: UInt64 = state.transient ? 20_000 : 1_000_000_000
        _ = futexWait(&lps_global_ref().pointee.wake_seq, seq, min(wakeAt - now, cap))
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
    tx.stalledHolds = 0
    tx.reversals += 1
    transitionStats.reversed += 1
    lps_store_u32(&lps_global_ref().pointee.target, tx.target)
    // Pairs with lps_thread_side_fence() in beginActivation: activations that
    // begin after this take the new target, earlier ones are scanned.
    lps_patcher_side_fence()
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
    lps_store_u32(&lps_global_ref().pointee.kuniv, tx.target)
    for fn in tx.functions { lps_store_u32(&functionRecord(fn.index).pointee.fn_universe, tx.target) }
    transitionStats.forced += 1
}

/// Breaks the protocol on purpose (LP_BUG_*). C: `lp_debug_inject_bug`.
@c public func lp_debug_inject_bug(_ kind: Int32) -> Int32 {
    guard kind >= LP_BUG_NONE && kind <= LP_BUG_STACK_SKIP_FRAME else { return LPError.invalid }
    withPatcherLock { injectedBug = kind }
    return 0
}

/// The policy's figures may not exceed one second.
let switchPolicyMaxNs: UInt64 = 1_000_000_000

/// The first hold's bound (and the stall window) and the pause between holds.
/// C: `lp_set_switch_policy`.
@c public func lp_set_switch_policy(_ holdNs: UInt64, _ retryNs: UInt64) -> Int32 {
    guard holdNs != 0, retryNs != 0, holdNs <= switchPolicyMaxNs, retryNs <= switchPolicyMaxNs else {
        return LPError.invalid
    }
    return withPatcherLock {
        switchPolicy.holdNs = holdNs
        switchPolicy.retryNs = retryNs
        return 0
    }
}

/// The most a hold's bound grows to by doubling. C: `lp_set_hold_limit`.
@c public func lp_set_hold_limit(_ limitNs: UInt64) -> Int32 {
    guard limitNs != 0, limitNs <= switchPolicyMaxNs else { return LPError.invalid }
    return withPatcherLock {
        switchPolicy.limitNs = limitNs
        return 0
    }
}
