// Patches a function under kGraft's model with the Swift layer only: a
// scoped patch (withPatch); an explicit one whose transition is awaited
// while four threads call the function; a typed error; a user-defined model.
import Foundation
import LivePatch
import Synchronization

typealias Answer = @convention(c) () -> Int32
let oldAnswer: Answer = { 41 }
let newAnswer: Answer = { 42 }
func address(of f: Answer) -> UnsafeRawPointer { unsafeBitCast(f, to: UnsafeRawPointer.self) }

final class Workers: Sendable {
    let stop = Atomic<Bool>(false)
    let running = Atomic<Int>(0)
    /// Calls that got 41 after the same thread had seen 42: kGraft's
    /// promise (per-thread universes) is that there are none while patching.
    let wentBack = Atomic<Int>(0)
}

var passed = 0, failed = 0
@MainActor func check(_ ok: Bool, _ what: String) {
    print("\(ok ? "ok  " : "FAIL"): \(what)")
    if ok { passed += 1 } else { failed += 1 }
}

let answer = try Function("answer", implementation: address(of: oldAnswer))
let inside: Int32 = try withPatch("fix-answer", model: .kgraft, replacing: [(answer, address(of: newAnswer))]) {
    answer.call(as: Answer.self) { f in f() }
}
check(inside == 42, "inside withPatch the answer is 42 (got \(inside))")
check(answer.call(as: Answer.self) { f in f() } == 41, "after withPatch the answer is 41 again")

let workers = Workers()
for _ in 0..<4 {
    workers.running.add(1, ordering: .relaxed)
    Thread { [answer, workers] in
        var seenNew = false
        while !workers.stop.load(ordering: .relaxed) {
            // A "system call": kGraft's unit, whose end is the switch point.
            let v: Int32 = CurrentThread.kernelSection { answer.call(as: Answer.self) { f in f() } }
            if v == 41 && seenNew { workers.wentBack.add(1, ordering: .relaxed) }
            if v == 42 { seenNew = true }
        }
        workers.running.subtract(1, ordering: .releasing)
    }.start()
}

let patch = try Patch("fix-answer-async", model: .kgraft)
try patch.replace(answer, with: address(of: newAnswer))
try patch.enable()
try await Transition.completion(timeout: .seconds(5))
check(answer.call(as: Answer.self) { f in f() } == 42, "after the awaited enable the answer is 42")
// Stopped before the disable, after which 41 is right again.
workers.stop.store(true, ordering: .relaxed)
while workers.running.load(ordering: .acquiring) != 0 { usleep(1000) }
check(workers.wentBack.load(ordering: .relaxed) == 0,
      "no worker saw 41 after 42 (\(workers.wentBack.load(ordering: .relaxed)) did)")

try patch.disable()
try await Transition.completion(timeout: .seconds(5))
try patch.destroy()

/// The error `body` threw, nil if none.
func refusal(_ body: () throws(LivePatchError) -> Void) -> LivePatchError? {
    do { try body() } catch { return error }
    return nil
}
let refused = refusal { () throws(LivePatchError) in _ = try Patch("no-such-model", model: Model(id: 0xdead)) }
check(refused == .invalidArgument, "a patch under an unknown model is refused: \(String(describing: refused))")

struct Deadline: ConsistencyModel {
    var counts: CountedArea { .kernelSections }
    var switches: SwitchUnit { .thread }
    func pending(_ progress: TransitionProgress) -> PendingDecision {
        progress.elapsedNs > 1_000_000_000 ? .reverse : .wait(recheckInNs: 1_000_000)
    }
}
let deadline = try Model.register("deadline-kgraft", Deadline())
check(deadline.description == "deadline-kgraft", "a user model describes itself by its name (\(deadline))")
let kgraftID: lp_model_t = lp_model(LP_LEAVE_KERNEL, LP_SWITCH_THREAD)
check(Model.kgraft.id == kgraftID, "Model.kgraft is the C ABI's KGRAFT")
check(Model.kgraft.description == "KGRAFT", "Model.kgraft describes itself as KGRAFT")
try withPatch("fix-answer-user-model", model: deadline, replacing: [(answer, address(of: newAnswer))]) {
    check(answer.call(as: Answer.self) { f in f() } == 42, "under the user model the answer is 42")
}

print("\(passed) passed, \(failed) failed")
exit(failed == 0 ? 0 : 1)
