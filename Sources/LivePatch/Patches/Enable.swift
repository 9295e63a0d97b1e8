internal import CLivePatchShim

// Enabling and disabling a patch: two sections under the patcher lock with
// the patch's pre_* callback between them, run unlocked (it may call the
// API) while the patcher is marked busy. The first section decides and
// reads the callback; the second begins the transition or cancels it. The
// log lines and callbacks each section queues are delivered right after it
// (withPatcherLockDeliveringEvents), in the kernel's order around pre_*.

/// lp_patch_enable.
func enablePatch(_ p: UnsafeMutablePointer<lp_patch_t>?) -> Int32 {
    let (prepared, err): (PreCallback?, Int32) = withPatcherLockDeliveringEvents {
        let (patch, err) = lookupPatch(p)
        guard let patch else { return (nil, err) }
        if patch.enabled || patch.isEmpty { return (nil, LPError.invalid) }
        if patcher.transition != nil || patcherBusy { return (nil, LPError.busy) }
        if let refusal = stateRefusal(patch) { return (nil, refusal) }
        var line = LogLine()
        line.text("enabling patch ")
        line.quoted(patch.name)
        logLine(line)
        logPatch(patch, "initializing patching transition")
        return (preCallbackBegins(patch, patching: true), 0)
    }
    guard let prepared else { return err }
    let cancelled = prepared.run() != 0
    let patch = prepared.patch
    return withPatcherLockDeliveringEvents {
        preCallbackEnds(patch)
        if cancelled {
            var line = LogLine()
            line.text("pre-patch callback failed for patch ")
            line.quoted(patch.name)
            logLine(line)
            logFailedToEnable(patch)
            logPatch(patch, "canceling patching transition")
            return LPError.canceled
        }
        let from = patcher.patches.enabledOrder
        let r = beginTransition(patch, enabling: true, from: from, to: patch.replace ? [patch.slot] : from + [patch.slot])
        if r == 0 {
            logPatch(patch, "starting patching transition")
        } else {
            cancelTransition(patch, enabling: true)
        }
        return r
    }
}

/// lp_patch_disable.
func disablePatch(_ p: UnsafeMutablePointer<lp_patch_t>?) -> Int32 {
    let (prepared, err): (PreCallback?, Int32) = withPatcherLockDeliveringEvents {
        let (patch, err) = lookupPatch(p)
        guard let patch else { return (nil, err) }
        if patcher.transition != nil || patcherBusy { return (nil, LPError.busy) }
        if !patch.enabled { return (nil, LPError.invalid) }
        if patcher.patches.enabledOrder.last != patch.slot { return (nil, LPError.busy) }
        logPatch(patch, "initializing unpatching transition")
        return (preCallbackBegins(patch, patching: false), 0)
    }
    guard let prepared else { return err }
    _ = prepared.run()
    let patch = prepared.patch
    return withPatcherLockDeliveringEvents {
        preCallbackEnds(patch)
        let from = patcher.patches.enabledOrder
        let r = beginTransition(patch, enabling: false, from: from, to: Array(from.dropLast()))
        if r == 0 {
            logPatch(patch, "starting unpatching transition")
        } else {
            cancelTransition(patch, enabling: false)
        }
        return r
    }
}

func logFailedToEnable(_ patch: Patch) {
    var line = LogLine()
    line.text("failed to enable patch ")
    line.quoted(patch.name)
    logLine(line)
}
