internal import CLivePatchShim

// Holds: SWITCH_KERNEL and SWITCH_FUNCTION keep new activations (or
// entries) waiting on a futex while the patcher looks for a switch instant.

/// SWITCH_KERNEL: hold new outermost activations back, wait (bounded) for
/// the live ones to drain, and switch everything at the instant none is left.
func holdAndSwitchKernel(_ tx: inout Transition, deadline: UInt64) -> Bool {
    let now = monotonicNow()
    guard now >= tx.nextHoldAt else {
        patcher.stats.lastPending = UInt64(scan(tx).blocked)
        return false
    }
    patcher.stats.holdAttempts += 1
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
    patcher.stats.lastPendingFunctions = UInt64(pending.count)
    if pending.isEmpty { return true }
    guard monotonicNow() >= tx.nextHoldAt else { return false }
    _ = scan(tx) // names the threads to nudge
    let current = tx
    while let fn = pending.first {
        patcher.stats.holdAttempts += 1
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
            patcher.stats.lastPendingFunctions = UInt64(pending.count)
            return false
        }
        pending.removeFirst()
    }
    patcher.stats.lastPendingFunctions = 0
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
            patcher.stats.holdTimeouts += 1
            return .timedOut
        }
        var stallAt = saturatingAdd(lastFall, patcher.policy.holdNs)
        if now >= stallAt {
            _ = scan(tx)
            guard patcher.stalled.contains(where: { threadRunnable($0.thread.pointee.tid) }) else {
                patcher.stats.holdTimeouts += 1
                return .stalled
            }
            lastFall = now
            stallAt = saturatingAdd(now, patcher.policy.holdNs)
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
