internal import CLivePatchShim

// The kernel-section hooks (lp_kernel_enter/exit) and the calls that tell
// the patcher a thread holds nothing: safe points, offline and online.

/// Ends the function activation `a` inside a kernel section. A section
/// begun in the same transition outlives it: under LEAVE_KERNEL it becomes
/// an activation of its own, so that no kernel section of a LEAVE_KERNEL
/// transition is ever without one.
@inline(never)
func endActivationInKernelSection(_ t: ThreadRecord, ended a: UInt64) {
    endActivation(t, a)
    let fepoch = lps_load_u64(&t.pointee.fepoch)
    if lps_load_u32(&lps_global_ref().pointee.kernel_area) != 0 && lps_load_u64(&t.pointee.kepoch) == fepoch {
        _ = beginActivation(t, epoch: fepoch, kernel: true, marker: 0)
    }
}

/// Enters a kernel section. C: `lp_kernel_enter`.
@c public func lp_kernel_enter() {
    guard let t = lps_tls_rec() ?? registerFromHook() else { return countUncountedEntry() }
    let depth = lps_load_u32(&t.pointee.kdepth)
    if depth == 0 {
        // Announce, then read the epoch, as in lp_func_enter.
        lps_store_u64(&t.pointee.kepoch, epochUnknown)
        lps_store_release_u32(&t.pointee.kdepth, 1)
        lps_thread_side_fence()
        snapshotEpoch(&t.pointee.kepoch)
        let epoch = lps_load_u64(&t.pointee.kepoch)
        if lps_load_u32(&lps_global_ref().pointee.kernel_area) != 0 && lps_load_u64(&t.pointee.act) == Act.none {
            _ = beginActivation(t, epoch: epoch, kernel: true, marker: 0)
        }
    } else {
        lps_store_u32(&t.pointee.kdepth, depth &+ 1)
    }
}

/// Leaves a kernel section; the outermost exit is a switch point.
/// C: `lp_kernel_exit`.
@c public func lp_kernel_exit() {
    guard let t = lps_tls_rec() else { return countExitUnregistered() }
    let depth = lps_load_u32(&t.pointee.kdepth)
    guard depth != 0 else { return countUnbalanced(t) }
    lps_store_u32(&t.pointee.kdepth, depth &- 1)
    guard depth == 1 else { return }
    let a = lps_load_u64(&t.pointee.act)
    if a != Act.none && Act.isKernel(a) {
        endActivation(t, a)
    } else if lps_load_u32(&lps_global_ref().pointee.flags) & (LP_MODEL_F_KERNEL_EXIT_SWITCHES | LP_MODEL_F_STACK_CHECK)
                == LP_MODEL_F_KERNEL_EXIT_SWITCHES | LP_MODEL_F_STACK_CHECK {
        stackSwitchPoint(t)
    } else if lps_load_u32(&lps_global_ref().pointee.flags) & LP_MODEL_F_KERNEL_EXIT_SWITCHES != 0 {
        // UPSTREAM: the return to "user space" proves no set function is on
        // this thread's stack, so its function activations re-arm here.
        lps_store_u64(&t.pointee.fepoch, lps_load_acquire_u64(&lps_global_ref().pointee.epoch))
        lps_thread_side_fence() // pairs with lps_patcher_side_fence() after lps_global.waiting is set (lp_transition_wait)
        if lps_load_u32(&lps_global_ref().pointee.waiting) != 0 { notifyPatcher() }
    } else if lps_load_u32(&lps_global_ref().pointee.waiting) != 0
                && lps_load_u64(&t.pointee.kepoch) != lps_load_u64(&lps_global_ref().pointee.epoch) {
        notifyPatcher()
    }
}

/// A long-running thread is outside the kernel and the patched set right
/// now: its activation ends, it takes the current universe, and its kernel
/// section (if any) begins again. C: `lp_safe_point`.
@c public func lp_safe_point() {
    guard let t = lps_tls_rec() ?? registerFromHook() else { return countUnregisteredCall() }
    rearm(t)
}

/// The thread will block outside every patched function and the kernel; the
/// patcher may switch it meanwhile. C: `lp_thread_offline`.
@c public func lp_thread_offline() {
    guard let t = lps_tls_rec() ?? registerFromHook() else { return countUnregisteredCall() }
    lps_store_u64(&t.pointee.act, Act.none)
    lps_store_u32(&t.pointee.offline, 1)
    // Pairs with lps_patcher_side_fence() after lps_global.waiting is set
    // (lp_transition_wait, ABI/TransitionsAPI.swift).
    lps_thread_side_fence()
    if lps_load_u32(&lps_global_ref().pointee.waiting) != 0 { notifyPatcher() }
}

/// The thread runs again and takes the current universe.
/// C: `lp_thread_online`.
@c public func lp_thread_online() {
    guard let t = lps_tls_rec() ?? registerFromHook() else { return countUnregisteredCall() }
    lps_store_u32(&t.pointee.offline, 0)
    rearm(t)
}
