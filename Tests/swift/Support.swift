import CLivePatchShim
import Glibc
import LivePatch
import Synchronization

/// Runs `body` on a new pthread; join with `join(_:)`.
func spawn(_ body: @escaping () -> Void) -> pthread_t {
    final class Box { let body: () -> Void; init(_ b: @escaping () -> Void) { body = b } }
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    let rc = pthread_create(&thread, nil, { arg in
        Unmanaged<Box>.fromOpaque(arg!).takeRetainedValue().body()
        return nil
    }, box)
    precondition(rc == 0, "pthread_create: \(rc)")
    return thread
}

func join(_ threads: [pthread_t]) {
    for t in threads { pthread_join(t, nil) }
}

/// Distinct fake implementations: the tests compare pointers, never call them.
func impl(_ n: Int) -> UnsafeRawPointer { UnsafeRawPointer(bitPattern: 0x10000 * n)! }

/// A unique name per test, since functions and patches live for the process.
nonisolated(unsafe) var nameCounter = 0
func uniqueName(_ base: String) -> String {
    nameCounter += 1
    return "\(base)-\(nameCounter)"
}

func register(_ base: String, _ implementation: UnsafeRawPointer) -> UnsafeMutablePointer<lp_func_t> {
    uniqueName(base).withCString { lp_func_register($0, implementation)! }
}

func makePatch(_ base: String, _ model: lp_model_t) -> UnsafeMutablePointer<lp_patch_t> {
    uniqueName(base).withCString { lp_patch_create($0, model, 0)! }
}

func call(_ f: UnsafeMutablePointer<lp_func_t>) -> UnsafeRawPointer? {
    let r = lp_func_enter(f)
    lp_func_exit(f)
    return r
}

/// Leaves the engine idle for the next test whatever this one left behind.
func settle() {
    if lp_transition_wait(2_000_000_000) != 0 { _ = lp_transition_force() }
}

// The presets of livepatch/types.h (function-like macros do not import).
let presetImmediate = lp_model(LP_LEAVE_FUNCTION, LP_SWITCH_FUNCTION)
let presetKGraft = lp_model(LP_LEAVE_KERNEL, LP_SWITCH_THREAD)
let presetKPatch = lp_model(LP_LEAVE_PATCHED_SET, LP_SWITCH_KERNEL)
let presetUpstream = lp_model(LP_LEAVE_PATCHED_SET, LP_SWITCH_THREAD) | LP_MODEL_F_KERNEL_EXIT_SWITCHES
let presetHiramatsu = lp_model(LP_LEAVE_PATCHED_SET, LP_SWITCH_KERNEL) | LP_MODEL_F_ARM_AT_KERNEL_EXIT
let presetRenew = lp_model(LP_LEAVE_KERNEL, LP_SWITCH_KERNEL)
let presetUpstreamStack = presetUpstream | LP_MODEL_F_STACK_CHECK
let presetKPatchStack = presetKPatch | LP_MODEL_F_STACK_CHECK
