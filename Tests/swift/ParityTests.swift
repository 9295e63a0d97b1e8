import CLivePatchShim
import Glibc
import LivePatch
import Testing

// Atomic replace in every preset (the selftests run UPSTREAM only), under
// load: the replacing transition covers every function of the stack, and
// a reversed replace leaves the stack as it was.

extension Engine {
@Suite struct Parity {
    @Test(arguments: [("IMMEDIATE", presetImmediate), ("KGRAFT", presetKGraft), ("KPATCH", presetKPatch),
                      ("UPSTREAM", presetUpstream), ("HIRAMATSU", presetHiramatsu), ("RENEW", presetRenew),
                      ("SETxFUNCTION", lp_model(LP_LEAVE_PATCHED_SET, LP_SWITCH_FUNCTION))])
    func atomicReplace(_ label: String, _ model: lp_model_t) {
        let f = register("replace-f", impl(1)), g = register("replace-g", impl(10))
        let p1 = makePatch("replace-1-\(label)", model), p2 = makePatch("replace-2-\(label)", model)
        let r = uniqueName("replace-r-\(label)").withCString { lp_patch_create($0, model, UInt32(LP_PATCH_REPLACE))! }
        #expect(lp_patch_add_func(p1, f, impl(2)) == 0)
        #expect(lp_patch_add_func(p2, g, impl(11)) == 0)
        #expect(lp_patch_add_func(r, f, impl(3)) == 0)
        let loadF = Load(f, allowed: [impl(1), impl(2), impl(3)], threads: 16)
        let loadG = Load(g, allowed: [impl(10), impl(11)], threads: 16)
        #expect(lp_patch_enable(p1) == 0 && lp_transition_wait(30_000_000_000) == 0)
        #expect(lp_patch_enable(p2) == 0 && lp_transition_wait(30_000_000_000) == 0)

        #expect(lp_patch_enable(r) == 0)
        #expect(lp_transition_reverse() == 0)
        #expect(lp_transition_wait(30_000_000_000) == 0)
        #expect(call(f) == impl(2) && call(g) == impl(11), "a reversed replace keeps the stack")
        #expect(lp_patch_disable(r) == -EINVAL)

        #expect(lp_patch_enable(r) == 0 && lp_transition_wait(30_000_000_000) == 0)
        #expect(call(f) == impl(3))
        #expect(call(g) == impl(10), "a function the replacing patch leaves alone goes back to its original")
        #expect(lp_patch_disable(p2) == -EINVAL && lp_patch_disable(p1) == -EINVAL, "replaced patches are disabled")
        #expect(lp_patch_destroy(p1) == 0 && lp_patch_destroy(p2) == 0)
        #expect(lp_patch_disable(r) == 0 && lp_transition_wait(30_000_000_000) == 0)
        #expect(call(f) == impl(1) && call(g) == impl(10))
        loadF.finish()
        loadG.finish()
        #expect(lp_patch_destroy(r) == 0)
        settle()
    }
}
}
