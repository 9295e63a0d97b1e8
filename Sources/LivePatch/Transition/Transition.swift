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
    /// replaces (lp_patch_add_func_by_name): completeTransition() gives them their
    /// final implementation.
    var late: [UInt32] = []
    var target: UInt32 = universeNew
    /// SWITCH_KERNEL / SWITCH_FUNCTION: no hold before this time.
    var nextHoldAt: UInt64 = 0
    /// Holds that timed out or stalled so far: each one doubles the next hold's bound.
    var holdTimeouts: UInt32 = 0
    /// Stalled holds since the last one that did not stall.
    var stalledHolds: UInt32 = 0
    /// Set by startTransition once the fence has run (what a model's
    /// pending() is told has elapsed counts from there).
    var startedAt: UInt64 = 0
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
        let base = patcher.policy.holdNs
        let cap = max(base, patcher.policy.limitNs)
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
        var pause = patcher.policy.retryNs
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
