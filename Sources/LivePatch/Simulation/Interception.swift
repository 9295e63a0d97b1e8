internal import CLivePatchShim

// The simulation's answers at the syscall seam (Core/Syscalls.swift): a
// simulated thread's futex waits and wakes, clock reads and signals.

func simFutexWait(_ word: UnsafeMutablePointer<UInt32>?, _ expected: UInt32, _ timeoutNs: UInt64) -> Int32 {
    guard let me = simSelfInRun(), let word else { return syscallPassThrough }
    // The check and the sleep are atomic: no other thread runs in between.
    if lps_load_u32(word) != expected { return LPError.again }
    let t = simulation.threads! + me
    t.pointee.state = SimThreadState.blocked
    t.pointee.blockedOn = word
    t.pointee.deadline = timeoutNs == 0 ? UInt64.max : simulation.run.now &+ min(timeoutNs, UInt64.max - simulation.run.now)
    t.pointee.wakeResult = 0
    yieldBaton(me, kind: simKindBlock)
    t.pointee.blockedOn = nil
    return t.pointee.wakeResult
}

func simFutexWake(_ word: UnsafeMutablePointer<UInt32>?, _ count: Int32) {
    guard simSelfInRun() != nil, let word else { return }
    let t = simulation.threads!
    var left = count
    for i in 0..<simulation.run.threadCount where left > 0 && t[i].state == SimThreadState.blocked && t[i].blockedOn == word {
        t[i].state = SimThreadState.runnable
        t[i].wakeResult = 0
        left -= 1
    }
}

func simNow() -> UInt64 {
    guard simSelfInRun() != nil else { return lps_sys_now_ns() }
    simulation.run.now &+= 1
    return simulation.run.now
}

func simKill(_ thread: UInt64, _ signo: Int32) -> Int32 {
    guard let me = simSelfInRun() else { return syscallPassThrough }
    let t = simulation.threads!
    for i in 0..<simulation.run.threadCount where i != me && t[i].pthread == thread
        && (t[i].state == SimThreadState.runnable || t[i].state == SimThreadState.blocked) {
        if signo == 0 { return 0 }
        t[i].pendingSignal = signo
        if t[i].state == SimThreadState.blocked {
            t[i].state = SimThreadState.runnable
            t[i].wakeResult = LPError.interrupted
        }
        return 0
    }
    return syscallPassThrough // not a simulated thread, or the caller itself: a real, synchronous signal
}
