import Glibc
import LivePatch
import Synchronization
import Testing

// The Swift layer (Sources/LivePatchSwift) over the same engine as the C
// names: each test checks the Swift spelling against what the C API says.

extension Engine {
@Suite struct SwiftAPI {
    @Test func modelsAreTheCPresets() throws {
        let presets: [(Model, lp_model_t, String)] = [
            (.immediate, presetImmediate, "IMMEDIATE"), (.kgraft, presetKGraft, "KGRAFT"),
            (.kpatch, presetKPatch, "KPATCH"), (.upstream, presetUpstream, "UPSTREAM"),
            (.hiramatsu, presetHiramatsu, "HIRAMATSU"), (.renew, presetRenew, "RENEW"),
            (.upstreamStack, presetUpstreamStack, "UPSTREAM_STACK"), (.kpatchStack, presetKPatchStack, "KPATCH_STACK"),
        ]
        for (model, id, name) in presets {
            #expect(model.id == id)
            #expect(model.description == name)
        }
        #expect(Model.cell(.patchedSet, .thread).id == lp_model(LP_LEAVE_PATCHED_SET, LP_SWITCH_THREAD))
        #expect(Model(id: LP_MODEL_INVALID).description == "invalid")
        #expect(throws: LivePatchError.invalidArgument) { try Model(id: LP_MODEL_INVALID).describe() }
        let registered = try Model.register(uniqueName("swift-model"), Cell.kgraft)
        #expect(try registered.describe().user == 1)
    }

    @Test func errorsCarryTheErrno() throws {
        let name = uniqueName("swift-dup")
        _ = try Function(name, implementation: impl(1))
        #expect(throws: LivePatchError.exists) { try Function(name, implementation: impl(2)) }
        #expect(throws: LivePatchError.notFound) { try Function.named(uniqueName("swift-missing")) }
        #expect(LivePatchError.timedOut.errno == ETIMEDOUT)
        #expect(LivePatchError.busy.description.contains("EBUSY"))
        #expect(throws: LivePatchError.invalidArgument) {
            try Patch(uniqueName("swift-bad-model"), model: Model(id: 0xdead))
        }
    }

    @Test func patchLifecycleMatchesTheCCalls() throws {
        let name = uniqueName("swift-f")
        let f = try Function(name, implementation: impl(1))
        #expect(try Function.named(name) == f)
        let patch = try Patch(uniqueName("swift-p"), model: .kgraft)
        try patch.replace(f, with: impl(2))
        #expect(throws: LivePatchError.exists) { try patch.replace(f, with: impl(3)) }
        try patch.enable()
        try Transition.wait(timeout: .seconds(2))
        #expect(f.call(as: UnsafeRawPointer.self) { $0 } == impl(2))
        #expect(throws: LivePatchError.busy) { try patch.destroy() }
        try patch.disable()
        try Transition.wait(timeout: .seconds(2))
        #expect(f.call(as: UnsafeRawPointer.self) { $0 } == impl(1))
        try patch.destroy()
        let (entries, exits) = f.counts
        #expect(entries == exits && entries >= 2)
    }

    @Test func withPatchScopesThePatch() throws {
        let f = try Function(uniqueName("swift-scoped"), implementation: impl(1))
        let inside = try withPatch(uniqueName("swift-scope"), model: .upstream, replacing: [(f, impl(2))]) {
            f.call(as: UnsafeRawPointer.self) { $0 }
        }
        #expect(inside == impl(2))
        #expect(f.call(as: UnsafeRawPointer.self) { $0 } == impl(1))
        #expect(!Transition.inFlight)
        #expect(Transition.status.state == Int32(LP_TRANSITION_IDLE))
    }

    /// A thread parked in a kernel section blocks a kGraft enable: withPatch
    /// gives up after its timeout, reverses, and never runs the body.
    @Test func withPatchReversesAnEnableThatTimesOut() throws {
        let f = try Function(uniqueName("swift-stuck"), implementation: impl(1))
        let blocker = Blocker(name: "swift-blocker", inKernel: true, inside: nil)
        let reversedBefore = Transition.status.reversed
        // Released once the reversal has started, so that it can complete
        // whatever the order: no timing is assumed.
        let releaser = spawn {
            while Transition.status.reversed == reversedBefore { usleep(1000) }
            blocker.finish()
        }
        var ran = false
        #expect(throws: LivePatchError.timedOut) {
            try withPatch(uniqueName("swift-stuck"), model: .kgraft, replacing: [(f, impl(2))],
                          timeout: .milliseconds(50)) { ran = true }
        }
        join([releaser])
        #expect(!ran)
        #expect(f.call(as: UnsafeRawPointer.self) { $0 } == impl(1))
        #expect(!Transition.inFlight)
        settle()
    }

    @Test func awaitingATransition() async throws {
        let f = try Function(uniqueName("swift-async"), implementation: impl(1))
        let patch = try Patch(uniqueName("swift-async"), model: .kpatch)
        try patch.replace(f, with: impl(2))
        try patch.enable()
        try await Transition.completion(timeout: .seconds(5))
        #expect(f.call(as: UnsafeRawPointer.self) { $0 } == impl(2))
        try patch.disable()
        try await Transition.completion(timeout: .seconds(5))
        try patch.destroy()
        #expect(f.call(as: UnsafeRawPointer.self) { $0 } == impl(1))
    }
}
}
