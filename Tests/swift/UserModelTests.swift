import CLivePatchShim
import Glibc
import LivePatch
import Testing

/// The README's worked example, in Swift: LEAVE_PATCHED_SET x SWITCH_THREAD,
/// and a transition still pending at the deadline reverses itself instead of
/// being forced. (Examples/models/deadline_reverse.c is the same model
/// through the C ops struct, for the C harnesses, torture and the benchmark.)
struct ReverseAtDeadline: ConsistencyModel {
    var deadlineNs: UInt64
    var counts: CountedArea { .patchedSet }
    var switches: SwitchUnit { .thread }

    func pending(_ progress: TransitionProgress) -> PendingDecision {
        // Only a patching transition gives up, and only once.
        guard progress.enabling, progress.reversals == 0 else { return .wait }
        if progress.elapsedNs >= deadlineNs { return .reverse }
        // A thread asleep in the patched set reports no progress: be asked
        // again at the deadline.
        return .wait(recheckInNs: deadlineNs - progress.elapsedNs)
    }
}

extension Engine {
@Suite struct UserModels {
    @Test func presetsAreCells() {
        #expect(Cell.kgraft.id == presetKGraft)
        #expect(Cell.kpatch.id == presetKPatch)
        #expect(Cell.upstream.id == presetUpstream)
        #expect(Cell.hiramatsu.id == presetHiramatsu)
        #expect(Cell.renew.id == presetRenew)
        #expect(Cell.immediate.id == presetImmediate)
        #expect(Cell.upstreamStack.id == presetUpstreamStack)
        #expect(Cell.kpatchStack.id == presetKPatchStack)
    }

    @Test func registrationErrors() throws {
        let name = uniqueName("reverse-at-deadline")
        let model = try registerModel(ReverseAtDeadline(deadlineNs: 1), name: name)
        #expect(model >= LP_MODEL_USER_BASE)
        #expect(throws: LivePatchError(code: -EEXIST)) { try registerModel(ReverseAtDeadline(deadlineNs: 1), name: name) }
        #expect(throws: LivePatchError(code: -EEXIST)) { try registerModel(Cell.kgraft, name: "KGRAFT") }
        #expect(throws: LivePatchError(code: -EINVAL)) { try registerModel(Cell.kgraft, name: "") }
        // Stack checking needs the patched set's activations and a per-thread
        // or all-at-once switch.
        #expect(throws: LivePatchError(code: -EINVAL)) {
            try registerModel(Cell(.kernelSections, .thread, detector: .stack), name: uniqueName("stack-kernel"))
        }
        #expect(throws: LivePatchError(code: -EINVAL)) {
            try registerModel(Cell(.patchedSet, .function, detector: .stack), name: uniqueName("stack-function"))
        }
        let stack = try registerModel(Cell(.patchedSet, .thread, detector: .stack), name: uniqueName("stack-thread"))
        var stackInfo = lp_model_info_t()
        #expect(lp_model_describe(stack, &stackInfo) == 0 && stackInfo.switch_points & LP_MODEL_F_STACK_CHECK != 0)
        var info = lp_model_info_t()
        #expect(lp_model_describe(model, &info) == 0)
        #expect(info.user == 1 && info.counts == LP_LEAVE_PATCHED_SET && info.switches == LP_SWITCH_THREAD)
    }

    /// A sleeper inside f holds its old activation past the deadline: the
    /// enable reverses itself and f keeps its old implementation.
    @Test func deadlineReverses() throws {
        let model = try registerModel(ReverseAtDeadline(deadlineNs: 20_000_000), name: uniqueName("deadline"))
        let f = register("deadline-f", impl(1))
        let p = makePatch("deadline", model)
        #expect(lp_patch_add_func(p, f, impl(2)) == 0)
        var before = lp_transition_status_t(), after = lp_transition_status_t()
        _ = lp_transition_status(&before)

        let sleeper = Blocker(name: "sleeper", inKernel: false, inside: f)
        #expect(lp_patch_enable(p) == 0)
        #expect(lp_transition_wait(10_000_000_000) == 0)
        _ = lp_transition_status(&after)
        #expect(after.reversed == before.reversed + 1 && after.forced == before.forced)
        #expect(call(f) == impl(1))
        #expect(lp_patch_disable(p) == -EINVAL) // never enabled
        sleeper.finish()
        #expect(sleeper.afterRelease == impl(1))

        #expect(lp_patch_enable(p) == 0)
        #expect(lp_transition_wait(10_000_000_000) == 0)
        #expect(call(f) == impl(2))
        #expect(lp_patch_disable(p) == 0)
        settle()
        #expect(lp_patch_destroy(p) == 0)
    }

    /// With a deadline no transition reaches, the model is PATCHED_SET x
    /// THREAD: the invariant checks of every cell pass for it too.
    @Test func invariantsHold() throws {
        let model = try registerModel(ReverseAtDeadline(deadlineNs: 60_000_000_000), name: uniqueName("deadline-far"))
        exercise(model: model, label: "reverse-at-deadline")
    }
}
}
