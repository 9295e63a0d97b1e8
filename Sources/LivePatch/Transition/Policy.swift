internal import CLivePatchShim

// The switch policy (hold length, retry pause, hold limit) and the
// statistics lp_transition_status reports.

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

/// The policy's figures may not exceed one second.
let switchPolicyMaxNs: UInt64 = 1_000_000_000
