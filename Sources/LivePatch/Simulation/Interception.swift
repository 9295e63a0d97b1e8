internal import CLivePatchShim

func simFutexWait(_ word: UnsafeMutablePointer<UInt32>?, _ expected: UInt32, _ timeoutNs: UInt64) -> Int32 {
    guard let me = simSelfInRun(), let word else { return syscallPassThrough }
    // The check and the sleep are atomic: no other thread runs in between.
    if lps_load_u32(word) != expected { return LPError.again }
    let t = simThreads! + me
    t.pointee.state = SimThreadState.blocked
    t.pointee.blockedOn = word
    t.pointee.deadline = timeoutNs == 0 ? UInt64.max : sim.now &+ min(timeoutNs, UInt64.max - sim.now)
    t.pointee.wakeResult = 0
    yieldBaton(me, kind: simKindBlock)
    t.pointee.blockedOn = nil
    return t.pointee.wakeResult
}

func simFutexWake(_ word: UnsafeMutablePointer<UInt32>?, _ count: Int32) {
    guard simSelfInRun() != nil, let word else { return }
    let t = simThreads!
    var left = count
    for i in 0..<sim.threadCount where left > 0 && t[i].state == SimThreadState.blocked && t[i].blockedOn == word {
        t[i].state = SimThreadState.runnable
        t[i].wakeResult = 0
        left -= 1
    }
}

func simNow() -> UInt64 {
    guard simSelfInRun() != nil else { return lps_sys_now_ns() }
    sim.now &+= 1
    return sim.now
}

func simKill(_ thread: UInt64, _ signo: Int32) -> Int32 {
    guard let me = simSelfInRun() else { return syscallPassThrough }
    let t = simThreads!
    for i in 0..<sim.threadCount where i != me && t[i].pthread == thread
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
