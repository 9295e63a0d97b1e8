internal import CLivePatchShim

// Targets that appear after the patch (the kernel's module loaded after the
// livepatch, klp_module_coming): a patch may name a function that is not
// registered yet; lp_func_register resolves the name, and when a patch that
// names it is enabled, the function is published already patched (no thread
// can have run it before it was registered). When the transition in flight
// changes it, it joins that transition like the functions it started with:
// each thread gets the implementation of its own universe, so a thread
// still in the old universe never mixes an old caller with a new callee.
// Guarded by the patcher lock.

/// Turns every pending `name` into a replacement of function `index` and
/// returns the implementation it must start with: the transition's start
/// when it joins the transition in flight, else the stack's (the target's
/// while a transition runs). Patcher and registry locks held; `index`'s
/// orig is set and its record not yet live.
func resolveLateTarget(_ name: UnsafePointer<CChar>, index: UInt32) -> UnsafeRawPointer {
    var touched: [Patch] = []
    var bytes: [UInt8] = [] // the name, taken from a pending entry: nothing is copied when none waits
    for case let patch? in patcher.patches.slots where !patch.pendingByName.isEmpty {
        guard let i = patch.pendingByName.firstIndex(where: { sameName($0.name, name) }) else { continue }
        patch.replacements.append((index, patch.pendingByName[i].impl))
        bytes = patch.pendingByName.remove(at: i).name
        touched.append(patch)
    }
    var order = patcher.patches.enabledOrder
    var start: UnsafeRawPointer? = nil
    if var tx = patcher.transition, !touched.isEmpty {
        let old = effectiveImpl(index, order: tx.from), new = effectiveImpl(index, order: tx.to)
        if old != new && joinTransition(&tx, index, old: old, new: new) {
            start = old
        } else {
            // Unchanged by the transition, or no counter slot left for it:
            // it starts in the target's implementation and completeTransition() gives
            // it the final stack's (header: lp_patch_add_func_by_name).
            order = tx.target == universeNew ? tx.to : tx.from
            tx.late.append(index)
        }
        patcher.transition = tx
    }
    let applied = patcher.transition.map { $0.from + $0.to } ?? order
    for patch in touched where applied.contains(patch.slot) {
        var line = LogLine(patch)
        line.text("applying patch to late function ")
        line.quoted(bytes)
        logLine(line)
    }
    if let start { return start }
    return touched.isEmpty ? functionRecord(index).pointee.orig! : effectiveImpl(index, order: order)
}

/// Makes function `index`, being registered, one of the transition's
/// functions, published by the same publish() as start uses. False when a
/// PATCHED_SET x FUNCTION transition has no counter slot left for it
/// (initTransition reserves spare ones).
func joinTransition(_ tx: inout Transition, _ index: UInt32, old: UnsafeRawPointer, new: UnsafeRawPointer) -> Bool {
    let slot = tx.functions.count
    if tx.model.countsPerFunction && UInt64(slot) >= (lps_global_fn_rows()?.pointee.stride ?? 0) { return false }
    // No hook reads these before the handle exists: registerFunction
    // returns it after its release store of `live` (validFunction's acquire
    // load), and lp_func_lookup hands it out under the registry lock. (An
    // auto-registered function, the cyg table's, never joins: it takes no
    // pending replacement.) SWITCH_FUNCTION: no thread has executed it, so
    // it is at the target now.
    let fn = TransitionFunction(index: index, old: old, new: new)
    publish(fn, slot: slot, epoch: tx.epoch, universe: tx.target)
    tx.functions.append(fn)
    return true
}
