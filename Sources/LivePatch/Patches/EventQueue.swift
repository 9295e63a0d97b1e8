internal import CLivePatchShim

// The patcher's log (the kernel's pr_notice lines of kernel/livepatch/core.c
// and transition.c) and the callbacks, delivered in program order with no
// lock held. Both are decided under the patcher lock, where the engine
// knows what happened, but a user function run there could deadlock by
// calling the API; so they are queued there and run by the API call that
// queued them once it has unlocked (deliverEvents). Never on the hook
// path.

enum CallbackKind {
    case postPatch
    case postUnpatch
}

enum PatcherEvent {
    case line([UInt8])
    case callback(Patch, CallbackKind)
}

typealias LogHandler = @convention(c) (UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void

struct PatcherEvents {
    var queue: [PatcherEvent] = []
    /// A thread is running the queue: the others leave it to that thread,
    /// so that events run one at a time and in order.
    var draining = false
    /// That thread (pthread_self; a callback it runs may call the API again).
    var drainer: UInt64 = 0
    /// Events queued since the process began, and events run (a futex word:
    /// a caller whose events another thread runs sleeps on it until they have).
    var queued: UInt64 = 0
    var ran: UInt32 = 0
    /// The post_* callback the drainer runs now (its callbackEnds follows).
    var running: Patch? = nil
    /// Threads whose call queued a post_* callback: only they wait for the
    /// drainer, as the completion promises; any other call returns at once.
    var callbackOwners: [UInt64] = []
    /// The pre_* callback in flight and its thread (Callbacks.swift).
    var pre: (patch: Patch, thread: UInt64)? = nil
    /// Queued or running callbacks, plus one while a pre_* callback runs:
    /// the patcher is busy (enable and disable answer -EBUSY) until the
    /// callbacks of the last step have run.
    var busy = 0
    var handler: LogHandler? = nil
    var handlerContext: UnsafeMutableRawPointer? = nil
}


/// A log line under construction, built without String interpolation
/// (Embedded Swift).
struct LogLine {
    var bytes: [UInt8] = []

    init() {}

    /// "'name': "
    init(_ patch: Patch) {
        quoted(patch.name)
        text(": ")
    }

    mutating func text(_ s: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    mutating func quoted(_ name: [UInt8]) {
        bytes.append(UInt8(ascii: "'"))
        bytes.append(contentsOf: name)
        bytes.append(UInt8(ascii: "'"))
    }

    mutating func number(_ value: UInt64) {
        var digits: [UInt8] = []
        var v = value
        repeat {
            digits.append(UInt8(ascii: "0") + UInt8(v % 10))
            v /= 10
        } while v != 0
        bytes.append(contentsOf: digits.reversed())
    }
}

/// Queues a line for the log handler. Patcher lock held.
func logLine(_ line: LogLine) {
    guard patcher.events.handler != nil else { return }
    patcher.events.queue.append(.line(line.bytes))
    patcher.events.queued &+= 1
}

/// Queues "'name': text". Patcher lock held.
func logPatch(_ patch: Patch, _ s: StaticString) {
    var line = LogLine(patch)
    line.text(s)
    logLine(line)
}

/// Queues a post_* callback of `patch`, if it has one. Patcher lock held.
func queueCallback(_ patch: Patch, _ kind: CallbackKind) {
    let cb = patch.callbacks
    let present = kind == .postPatch ? cb.post_patch != nil : cb.post_unpatch != nil
    guard present else { return }
    patcher.events.queue.append(.callback(patch, kind))
    patcher.events.queued &+= 1
    patcher.events.callbackOwners.append(lps_sys_pthread_self())
    callbackBegins(patch)
}

/// A callback of `patch` is queued or about to run: no transition may start
/// and the patch may not change until callbackEnds. Patcher lock held.
func callbackBegins(_ patch: Patch) {
    patcher.events.busy += 1
    patch.callbacksInFlight += 1
}

func callbackEnds(_ patch: Patch) {
    patcher.events.busy -= 1
    patch.callbacksInFlight -= 1
}

/// The patcher is running or about to run a callback. Patcher lock held.
var patcherBusy: Bool { patcher.events.busy != 0 }

// Delivery: the queued events run in order with the patcher lock NOT held;
// each is taken off the queue under the lock, so each runs exactly once, at
// the end of every API call that may queue one
// (withPatcherLockDeliveringEvents). When another thread is already
// running the queue, a call that queued a post_* callback waits until that
// thread has run every event queued so far (its callback among them), so
// that the callback has run before the call that completed the transition
// returns; any other call leaves its log lines to that thread and returns,
// so that a callback or log handler that waits for it cannot deadlock.

/// Delivers what is queued, for a caller whose locked sections were many
/// (lp_transition_wait).
func deliverQueuedEvents() {
    deliverEvents(withPatcherLock { claimEvents() })
}

/// What claimEvents() found: the first event to run, this thread now running
/// the queue; or the count of events queued so far, to wait for (another
/// thread runs them); or nothing to do.
enum EventClaim {
    case run(PatcherEvent, LogHandler?, UnsafeMutableRawPointer?)
    case waitFor(UInt32)
    case nothing
}

/// Claims the queue for this thread and takes its first event, or says why
/// not. Patcher lock held.
func claimEvents() -> EventClaim {
    let me = lps_sys_pthread_self()
    let target = UInt32(truncatingIfNeeded: patcher.events.queued)
    let owner = patcher.events.callbackOwners.contains(me)
    patcher.events.callbackOwners.removeAll { $0 == me }
    if patcher.events.draining {
        // Nested in an event this thread runs: the outer drain runs ours
        // after it. Otherwise another thread runs them.
        return owner && patcher.events.drainer != me ? .waitFor(target) : .nothing
    }
    if patcher.events.queue.isEmpty { return .nothing }
    patcher.events.draining = true
    patcher.events.drainer = me
    return nextEvent()!
}

/// Takes the next event off the queue, or ends this thread's run of it.
/// Patcher lock held.
func nextEvent() -> EventClaim? {
    if patcher.events.queue.isEmpty {
        patcher.events.draining = false
        patcher.events.drainer = 0
        return nil
    }
    let event = patcher.events.queue.removeFirst()
    if case .callback(let patch, _) = event { patcher.events.running = patch }
    return .run(event, patcher.events.handler, patcher.events.handlerContext)
}

/// Runs what claimEvents() claimed, and every event queued until the queue
/// is empty. Patcher lock NOT held.
func deliverEvents(_ claim: EventClaim) {
    var next: EventClaim? = claim
    while let claim = next {
        switch claim {
        case .nothing:
            return
        case .waitFor(let target):
            waitForEvents(upTo: target)
            return
        case .run(.line(let bytes), let handler, let handlerContext):
            if let handler {
                (bytes + [0]).withUnsafeBufferPointer { buf in
                    buf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buf.count) { handler($0, handlerContext) }
                }
            }
            eventRan()
            next = withPatcherLock { nextEvent() }
        case .run(.callback(let patch, let kind), _, _):
            let cb = patch.callbacks
            let handle = patchTableBase + patch.slot
            if kind == .postPatch { cb.post_patch?(handle, patch.callbackContext) }
            else { cb.post_unpatch?(handle, patch.callbackContext) }
            // One section: the callback's end, and the next event.
            next = withPatcherLock { () -> EventClaim? in
                patcher.events.running = nil
                callbackEnds(patch)
                eventRan()
                return nextEvent()
            }
        }
    }
}

/// One more event has run: wakes the callers waiting for theirs.
func eventRan() {
    // Release: pairs with the acquire load in waitForEvents(); whatever the
    // event did is seen by the caller it wakes.
    lps_store_release_u32(&patcher.events.ran, lps_load_u32(&patcher.events.ran) &+ 1)
    futexWake(&patcher.events.ran, Int32.max)
}

/// Sleeps until the first `target` events ever queued have run (the
/// counters wrap at 2^32 events). The drainer stops only once the queue is
/// empty, after counting the last event it ran, so it cannot leave ours
/// behind; the one-millisecond cap is a backstop, not a poll.
func waitForEvents(upTo target: UInt32) {
    while true {
        // Pairs with the release store in eventRan().
        let ran = lps_load_acquire_u32(&patcher.events.ran)
        if Int32(bitPattern: target &- ran) <= 0 { return }
        _ = futexWait(&patcher.events.ran, ran, 1_000_000)
    }
}

/// In a fork child: the events the parent's threads were running or were
/// about to run belong to the parent, which delivers them; the child drops
/// them, and a pre_* callback that was running on another thread never
/// returns here (its enable or disable did not happen). A child forked from
/// inside a callback or the log handler carries on with the queue, as the
/// parent does. Called with every other thread gone.
func patcherEventsAfterFork() {
    let me = lps_sys_pthread_self()
    // glibc reuses vanished threads' stacks, so their pthread ids may return.
    patcher.events.callbackOwners.removeAll { $0 != me }
    if let pre = patcher.events.pre, pre.thread != me {
        callbackEnds(pre.patch)
        patcher.events.pre = nil
    }
    if patcher.events.draining && patcher.events.drainer == me { return }
    if let patch = patcher.events.running { callbackEnds(patch) }
    for case .callback(let patch, _) in patcher.events.queue { callbackEnds(patch) }
    patcher.events.running = nil
    patcher.events.queue.removeAll()
    patcher.events.draining = false
    patcher.events.drainer = 0
    patcher.events.callbackOwners.removeAll()
    // Every event queued so far counts as run: no wait here is for them.
    patcher.events.ran = UInt32(truncatingIfNeeded: patcher.events.queued)
}
