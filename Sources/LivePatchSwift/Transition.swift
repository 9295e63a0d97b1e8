import LivePatchEngine

/// The one transition in flight at a time (an enable or a disable), and the
/// calls that drive it.
public enum Transition {
    /// Drives the transition until it completes (or none is in flight), for
    /// `timeout` at most (nil: no limit). Throws `.timedOut`, `.deadlock`
    /// (the caller is inside a kernel section or a hooked function).
    /// C: `lp_transition_wait`.
    public static func wait(timeout: Duration? = nil) throws(LivePatchError) {
        try LivePatchError.check(lp_transition_wait(timeout.map(nanoseconds) ?? 0))
    }

    /// As `wait`, without blocking a thread of the concurrency pool between
    /// steps: one completion step (`lp_transition_try_complete`, which may
    /// hold new entries back for up to the switch policy's hold bound), then
    /// a sleep of `poll`, until the transition completes or `timeout` runs
    /// out (`.timedOut`). Task cancellation ends the wait with CancellationError.
    public static func completion(timeout: Duration? = nil, poll: Duration = .milliseconds(1)) async throws {
        let clock = ContinuousClock()
        let deadline = timeout.map { clock.now + $0 }
        while try LivePatchError.check(lp_transition_try_complete()) == 0 {
            if let deadline, clock.now >= deadline { throw LivePatchError.timedOut }
            try await Task.sleep(for: poll)
        }
    }

    /// Turns the transition in flight around. Throws `.invalidArgument` when
    /// none is in flight. C: `lp_transition_reverse`.
    public static func reverse() throws(LivePatchError) { try LivePatchError.check(lp_transition_reverse()) }

    /// Completes the transition now; the model's promise is void for the
    /// activations already running. C: `lp_transition_force`.
    public static func force() throws(LivePatchError) { try LivePatchError.check(lp_transition_force()) }

    /// Counters and the state of the transition in flight (or of the last
    /// one). C: `lp_transition_status`.
    public static var status: lp_transition_status_t {
        var status = lp_transition_status_t()
        _ = lp_transition_status(&status)
        return status
    }

    /// True while a transition is in flight.
    public static var inFlight: Bool { status.state != Int32(LP_TRANSITION_IDLE) }
}

/// A duration in whole nanoseconds, at least 1 (0 means "no limit" to the C API).
func nanoseconds(_ d: Duration) -> UInt64 {
    let (seconds, attoseconds) = d.components
    guard seconds >= 0 else { return 1 }
    let ns = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
    if ns.overflow { return .max }
    return max(1, ns.partialValue.addingReportingOverflow(UInt64(attoseconds / 1_000_000_000)).partialValue)
}
