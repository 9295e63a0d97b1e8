internal import CLivePatchShim

// The status snapshot, in the manner of the kernel's sysfs: per patch
// (/sys/kernel/livepatch/<patch>/{enabled,transition}), per thread
// (/proc/<pid>/patch_state), and the transition status, taken together under
// the patcher lock so that they agree. Thread fields are read with the loads
// the scans use (Scan.swift), under the same RCU read lock.

struct Snapshot {
    var transition = lp_transition_status_t()
    var patches: [lp_patch_info_t] = []
    var threads: [lp_thread_state_t] = []
    /// What describeModel() said of each model above, taken under the same
    /// hold: the formatter needs no lock of its own.
    var models: [(id: lp_model_t, info: lp_model_info_t)] = []
}

func takeSnapshot() -> Snapshot {
    var snap = Snapshot()
    withPatcherLock {
        fillTransitionStatus(&snap.transition)
        snap.patches = patchInfos()
        snap.threads = threadStates(patcher.transition)
        for id in [snap.transition.model] + snap.patches.map({ $0.model })
        where !snap.models.contains(where: { $0.id == id }) {
            if let info = describeModel(id) { snap.models.append((id, info)) }
        }
    }
    fillRegistryStatus(&snap.transition)
    return snap
}

/// Every patch: the enabled ones in stack order, then the others by slot.
/// Patcher lock held.
func patchInfos() -> [lp_patch_info_t] {
    let order = patcher.patches.enabledOrder
    let others = patcher.patches.slots.indices.filter { !order.contains($0) && patcher.patches.slots[$0] != nil }
    return (order + others).map { slot in
        let patch = patcher.patches.slots[slot]!
        var info = lp_patch_info_t()
        copyBytes(patch.name, into: &info.name)
        info.model = patch.model.raw
        info.enabled = patch.enabled ? 1 : 0
        info.transition = patch.inTransition ? 1 : 0
        info.replace = patch.replace ? 1 : 0
        info.stack_index = Int32(order.firstIndex(of: slot) ?? -1)
        info.functions = UInt32(patch.replacements.count)
        info.extended = UInt32(patch.extended.count)
        return info
    }
}

/// Every live registered thread, with its patch state for `tx`. Patcher lock held.
func threadStates(_ tx: Transition?) -> [lp_thread_state_t] {
    var states: [lp_thread_state_t] = []
    let rows = lps_global_fn_rows()
    let everyFunctionSwitched = tx.map { tx in
        tx.functions.allSatisfy { lps_load_u32(&functionRecord($0.index).pointee.fn_universe) == tx.target }
    } ?? false
    forEachLiveThread { t in
        var s = lp_thread_state_t()
        s.name = t.pointee.name
        s.tid = t.pointee.tid
        s.offline = Int32(lps_load_u32(&t.pointee.offline))
        s.kernel_depth = lps_load_u32(&t.pointee.kdepth)
        s.function_depth = lps_load_u32(&t.pointee.fdepth)
        s.patch_state = Int32(LP_PATCH_STATE_NONE)
        if let tx {
            fillInside(t, tx.epoch, count: &s.n_inside, &s.inside)
            let model = tx.model
            var atTarget: Bool
            if model.countsNothing {
                atTarget = true
            } else if model.countsPerFunction {
                s.blocking = countedBlockReason(t, tx, rows: rows)
                atTarget = everyFunctionSwitched
            } else {
                s.blocking = blockReason(t, tx).reason
                atTarget = model.effectiveSwitch == LP_SWITCH_KERNEL.rawValue
                    ? lps_load_u32(&lps_global_ref().pointee.kuniv) == tx.target : s.blocking == 0
            }
            // The target is "patched" when the transition heads to the patch applied.
            s.patch_state = Int32(atTarget == tx.isPatching ? LP_PATCH_STATE_PATCHED : LP_PATCH_STATE_UNPATCHED)
        }
        states.append(s)
    }
    return states
}

/// A report's `n_inside` and `inside`: the set functions on `t`'s shadow stack.
func fillInside<Tuple>(_ t: ThreadRecord, _ epoch: UInt64, count: inout UInt32, _ inside: inout Tuple) {
    var n = 0
    withUnsafeMutableBytes(of: &inside) { raw in
        let slots = raw.bindMemory(to: UnsafePointer<lp_func_t>?.self)
        forEachSetFrame(t, epoch) { f in
            if n < slots.count { slots[n] = UnsafePointer(f) }
            n += 1
        }
    }
    count = UInt32(n)
}

/// Calls `body` with each function a report's `inside` names.
func forEachInside<Tuple>(count: UInt32, _ inside: inout Tuple, _ body: (UnsafePointer<lp_func_t>) -> Void) {
    withUnsafeBytes(of: &inside) { raw in
        let slots = raw.bindMemory(to: UnsafePointer<lp_func_t>?.self)
        for i in 0..<min(Int(count), slots.count) { if let f = slots[i] { body(f) } }
    }
}

/// Copies the first `capacity` elements of `from` to `to` (which may be NULL
/// only when `capacity` is 0); true when all fitted.
func copyTruncated<T>(_ from: [T], to: UnsafeMutablePointer<T>?, capacity: UInt32) -> Bool {
    let n = min(from.count, Int(capacity))
    if let to { for i in 0..<n { to[i] = from[i] } }
    return n == from.count
}
