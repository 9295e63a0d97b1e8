internal import CLivePatchShim



// Nudges: a signal to the threads that block a transition
// (lp_set_nudge_signal), as the kernel's klp_send_signals.

let nudgePeriodNs: UInt64 = 10_000_000

/// Sends the nudge signal to each thread of the last scan that is still the
/// thread it was (same slot generation, still live). Patcher lock held; the
/// registry lock is taken so that a thread cannot finish exiting while we
/// signal it.
func nudgeStalled() {
    let signo = patcher.nudgeSignal
    guard signo != 0 else { return }
    let targets = patcher.stalled
    lps_lock_registry()
    for s in targets where isStillLive(s.thread, generation: s.generation) {
        if signalThread(s.thread.pointee.pthread, signo) == 0 { patcher.nudgesSent &+= 1 }
    }
    lps_unlock_registry()
}
