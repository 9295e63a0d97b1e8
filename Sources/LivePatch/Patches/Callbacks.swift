internal import CLivePatchShim

// The kernel's per-patch callbacks (Documentation/livepatch/callbacks.rst).
// pre_* run here, from lp_patch_enable/disable, with the patcher lock not
// held and the patcher marked busy; post_* are queued by completeTransition() (or cancelTransition()) and run
// by deliverEvents() (EventQueue.swift). The rules are next to lp_callbacks_t
// in livepatch/types.h.

/// A pre_* callback about to run, as read under the patcher lock:
/// lp_patch_set_callbacks writes them under it, and refuses while the
/// patch's callbacks are in flight, so they cannot change before it runs.
struct PreCallback {
    let patch: Patch
    let patching: Bool
    let callbacks: lp_callbacks_t
    let context: UnsafeMutableRawPointer?

    /// Runs pre_patch (`patching`) or pre_unpatch; pre_patch's result (0
    /// when there is none). Patcher lock NOT held.
    func run() -> Int32 {
        let handle = patchTableBase + patch.slot
        if patching { return callbacks.pre_patch?(handle, context) ?? 0 }
        callbacks.pre_unpatch?(handle, context)
        return 0
    }
}

/// The patch's pre_* callback is about to run on this thread. Patcher lock held.
func preCallbackBegins(_ patch: Patch, patching: Bool) -> PreCallback {
    callbackBegins(patch)
    patcher.events.pre = (patch, lps_sys_pthread_self())
    return PreCallback(patch: patch, patching: patching, callbacks: patch.callbacks, context: patch.callbackContext)
}

/// It returned. Patcher lock held.
func preCallbackEnds(_ patch: Patch) {
    patcher.events.pre = nil
    callbackEnds(patch)
}
