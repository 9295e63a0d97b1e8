internal import CLivePatchShim

// The simulation's state and constants (Scheduler.swift runs it).

let simTickNs: UInt64 = 1_000

/// Where the virtual clock starts: nonzero, since the engine treats 0 as "no time".
let simClockStart: UInt64 = 1_000_000_000

let simDefaultSteps: UInt64 = 1_000_000

let simDefaultDepth: UInt32 = 3

/// lp_sim_point kinds of the scheduler's own decisions (hashed like the others).
let simKindJoin: Int32 = 0

let simKindBlock: Int32 = 8

let simKindLeave: Int32 = 9

enum SimThreadState {
    static let absent: UInt8 = 0
    static let runnable: UInt8 = 1
    static let blocked: UInt8 = 2
    static let left: UInt8 = 3
}

struct SimThread {
    var state = SimThreadState.absent
    var pthread: UInt64 = 0
    var blockedOn: UnsafeMutablePointer<UInt32>? = nil
    var deadline: UInt64 = 0
    /// What the blocking wait returns: 0 woken, -ETIMEDOUT, -EINTR.
    var wakeResult: Int32 = 0
    /// A nudge sent while it did not run: raised on itself when it runs next.
    var pendingSignal: Int32 = 0
    /// PCT: the highest runnable priority runs.
    var priority: UInt64 = 0
}

struct Simulation {
    /// Between lp_sim_start and lp_sim_stop.
    var armed = false
    /// Every expected thread joined: decisions are being made.
    var started = false
    /// Deadlock or budget: the threads run freely; the ops pass through.
    var letGo = false
    var threadCount = 0
    var strategy: Int32 = Int32(LP_SIM_RANDOM)
    var maxSteps: UInt64 = simDefaultSteps
    var joined = 0
    var left = 0
    var rng: UInt64 = 0
    var steps: UInt64 = 0
    var switches: UInt64 = 0
    var hash: UInt64 = fnvOffset
    var now: UInt64 = simClockStart
    /// PCT: the steps at which the running thread's priority drops, ascending.
    var changePoints: [UInt64] = []
    var nextChange = 0
    var outcome: Int32 = Int32(LP_SIM_DONE)
}

let fnvOffset: UInt64 = 0xcbf2_9ce4_8422_2325

let fnvPrime: UInt64 = 0x0000_0100_0000_01b3




@inline(__always)
func splitmix(_ s: inout UInt64) -> UInt64 {
    s &+= 0x9e37_79b9_7f4a_7c15
    var z = s
    z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
    z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
    return z ^ (z >> 31)
}

@inline(__always)
func fnvMix(_ h: UInt64, _ v: UInt64) -> UInt64 {
    var h = h
    for i in 0..<8 { h = (h ^ ((v >> (UInt64(i) * 8)) & 0xff)) &* fnvPrime }
    return h
}

/// The calling thread's id if it is a simulated thread of a run being
/// decided (so it holds the baton); nil otherwise.
func simSelfInRun() -> Int? {
    let s = lps_sim_self()
    guard s != 0, simulation.run.started, !simulation.run.letGo else { return nil }
    return Int(s &- 1)
}
