internal import CLivePatchShim

// The engine's syscall seam, as swift-system's Syscalls.swift with its
// Mocking.swift: every wait, clock read, thread signal and runnability check
// the engine makes goes through these, but the stack checker's wait for its
// answers (lps_stack_wait_answers: a plain futex wait, bounded by the round). A simulation run (Simulation/)
// intercepts them for its own threads, here in Swift; the shim's lps_sys_*
// are the plain system calls and know nothing of it.

/// What an interception returns to let the plain system call run.
let syscallPassThrough: Int32 = 1

/// A simulation's answers for its threads. C function types: installed once,
/// called from any thread, and free of captures.
struct SyscallInterception {
    var futexWait: @convention(c) (UnsafeMutablePointer<UInt32>?, UInt32, UInt64) -> Int32
    var futexWake: @convention(c) (UnsafeMutablePointer<UInt32>?, Int32) -> Void
    var now: @convention(c) () -> UInt64
    var signalThread: @convention(c) (UInt64, Int32) -> Int32
}


func interceptSyscalls(_ interception: SyscallInterception) {
    simulation.interception = interception
}

@inline(__always)
private func interception() -> SyscallInterception? {
    lps_sim_self() == 0 ? nil : simulation.interception
}

/// 0 woken, -ETIMEDOUT, -EAGAIN or -EINTR. `timeoutNs` 0: no timeout.
func futexWait(_ word: UnsafeMutablePointer<UInt32>, _ expected: UInt32, _ timeoutNs: UInt64) -> Int32 {
    if let i = interception() {
        let r = i.futexWait(word, expected, timeoutNs)
        if r != syscallPassThrough { return r }
    }
    return lps_sys_futex_wait(word, expected, timeoutNs)
}

/// Wakes simulated waiters through the simulation, and real ones (threads
/// outside the run) through the system.
func futexWake(_ word: UnsafeMutablePointer<UInt32>, _ count: Int32) {
    interception()?.futexWake(word, count)
    lps_sys_futex_wake(word, count)
}

/// CLOCK_MONOTONIC; on a simulated thread, the run's logical clock.
func monotonicNow() -> UInt64 {
    if let i = interception() { return i.now() }
    return lps_sys_now_ns()
}

/// pthread_kill; a nudge to a simulated thread is delivered when it next runs.
func signalThread(_ thread: UInt64, _ signo: Int32) -> Int32 {
    if let i = interception() {
        let r = i.signalThread(thread, signo)
        if r != syscallPassThrough { return r }
    }
    return lps_sys_pthread_kill(thread, signo)
}

/// Running or waiting for a CPU. A simulated caller is never told so: real
/// states are the scheduler's, not the run's, and would make a run depend on
/// them.
func threadRunnable(_ tid: Int32) -> Bool {
    lps_sim_self() == 0 && lps_sys_thread_runnable(tid) != 0
}
