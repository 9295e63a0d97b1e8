internal import CLivePatchShim

// The kernel's per-patch callbacks (Documentation/livepatch/callbacks.rst).
// pre_* run here, from lp_patch_enable/disable, with the patcher lock not
// held and the patcher marked busy; post_* are queued by complete() and run
// by drainPatcherEvents() (Log.swift). The rules are next to lp_callbacks_t
// in livepatch/types.h.

/// Runs the patch's pre_patch (`patching`) or pre_unpatch callback; the
/// pre_patch result (0 when there is none). Patcher lock NOT held.
func runPreCallback(_ patch: Patch, patching: Bool) -> Int32 {
    // Read under the lock: lp_patch_set_callbacks writes them under it (and
    // refuses while the patch's callbacks are in flight, so they cannot
    // change after this).
    let (cb, ctx) = withPatcherLock { (patch.callbacks, patch.callbackContext) }
    let handle = patchTableBase + patch.slot
    if patching { return cb.pre_patch?(handle, ctx) ?? 0 }
    cb.pre_unpatch?(handle, ctx)
    return 0
}

/// The patch's pre_* callback is about to run on this thread. Patcher lock held.
func preCallbackBegins(_ patch: Patch) {
    callbackBegins(patch)
    patcherEvents.pre = (patch, lps_sys_pthread_self())
}

/// It returned. Patcher lock held.
func preCallbackEnds(_ patch: Patch) {
    patcherEvents.pre = nil
    callbackEnds(patch)
}
