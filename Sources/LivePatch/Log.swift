import CLivePatchShim

// The patcher's log (the kernel's pr_notice lines of kernel/livepatch/core.c
// and transition.c) and the callbacks, delivered in program order with no
// lock held. Both are decided under the patcher lock, where the engine
// knows what happened, but a user function run there could deadlock by
// calling the API; so they are queued there and run by the API call that
// queued them once it has unlocked (drainPatcherEvents). Never on the hook
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
    /// Queued or running callbacks, plus one while a pre_* callback runs:
    /// the patcher is busy (enable and disable answer -EBUSY) until the
    /// callbacks of the last step have run.
    var busy = 0
    var handler: LogHandler? = nil
    var handlerContext: UnsafeMutableRawPointer? = nil
}

nonisolated(unsafe) var patcherEvents = PatcherEvents()

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
    guard patcherEvents.handler != nil else { return }
    patcherEvents.queue.append(.line(line.bytes))
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
    patcherEvents.queue.append(.callback(patch, kind))
    callbackBegins(patch)
}

/// A callback of `patch` is queued or about to run: no transition may start
/// and the patch may not change until callbackEnds. Patcher lock held.
func callbackBegins(_ patch: Patch) {
    patcherEvents.busy += 1
    patch.callbacksInFlight += 1
}

func callbackEnds(_ patch: Patch) {
    patcherEvents.busy -= 1
    patch.callbacksInFlight -= 1
}

/// The patcher is running or about to run a callback. Patcher lock held.
var patcherBusy: Bool { patcherEvents.busy != 0 }

/// Runs the queued events, in order, with the patcher lock NOT held; each is
/// taken off the queue under the lock, so each runs exactly once. Called at
/// the end of every API call that may queue one.
func drainPatcherEvents() {
    let mine = withPatcherLock { () -> Bool in
        if patcherEvents.draining || patcherEvents.queue.isEmpty { return false }
        patcherEvents.draining = true
        return true
    }
    guard mine else { return }
    while true {
        let next = withPatcherLock { () -> (PatcherEvent, LogHandler?, UnsafeMutableRawPointer?)? in
            if patcherEvents.queue.isEmpty {
                patcherEvents.draining = false
                return nil
            }
            return (patcherEvents.queue.removeFirst(), patcherEvents.handler, patcherEvents.handlerContext)
        }
        guard let (event, handler, handlerContext) = next else { return }
        switch event {
        case .line(let bytes):
            guard let handler else { continue }
            (bytes + [0]).withUnsafeBufferPointer { buf in
                buf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buf.count) { handler($0, handlerContext) }
            }
        case .callback(let patch, let kind):
            let cb = patch.callbacks
            let handle = patchTableBase + patch.slot
            if kind == .postPatch { cb.post_patch?(handle, patch.callbackContext) }
            else { cb.post_unpatch?(handle, patch.callbackContext) }
            withPatcherLock { callbackEnds(patch) }
        }
    }
}

/// Runs `body` under the patcher lock, then the events it queued.
func withPatcher<R>(_ body: () -> R) -> R {
    let result = withPatcherLock(body)
    drainPatcherEvents()
    return result
}

// MARK: - C API

/// Sends the engine's log lines to `fn` (NULL: off). C: `lp_set_log_handler`.
@c public func lp_set_log_handler(_ fn: (@convention(c) (UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void)?,
                                  _ ctx: UnsafeMutableRawPointer?) -> Int32 {
    withPatcherLock {
        patcherEvents.handler = fn
        patcherEvents.handlerContext = ctx
    }
    return 0
}
