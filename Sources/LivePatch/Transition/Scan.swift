internal import CLivePatchShim

// The patcher's view of the threads: which of them block the transition in
// flight, and why. Every read here is of a field the owning thread may be
// changing; each rule below is sound for any interleaving of those reads
// because each field it trusts was true at the instant it was read, and the
// fence that published the transition makes the thread's later entries
// follow it (see docs/DESIGN.md section 3 and Activation.swift).

struct Stalled {
    let thread: ThreadRecord
    let generation: UInt64
    let reason: Int32
}



/// Why `t` blocks the activation-based transition `tx` (0: it does not),
/// and whether that reason is transient (a half-begun activation).
func blockReason(_ t: ThreadRecord, _ tx: Transition) -> (reason: Int32, transient: Bool) {
    if lps_load_u32(&t.pointee.offline) != 0 { return (0, false) }
    let epoch = tx.epoch
    let a = lps_load_u64(&t.pointee.act)
    let inKernel = Int32(LP_STALL_IN_KERNEL)
    if Act.belongs(a, to: epoch) {
        if !Act.isDecided(a) { return (Act.isKernel(a) ? inKernel : Int32(LP_STALL_IN_SET), true) }
        if Act.universe(a) != tx.target && injectedBug != LP_BUG_SWITCH_BUSY_THREAD {
            return (Act.isKernel(a) ? inKernel : Int32(LP_STALL_IN_SET), false)
        }
    }
    // Activations that predate the transition are in the old universe: they
    // block only a transition heading to the new one. (A kernel section
    // begun after it always has an activation, or is held before it has
    // run anything: see lp_kernel_enter and lp_func_exit.)
    guard tx.target == universeNew, injectedBug != LP_BUG_SKIP_GRACE_PERIOD else { return (0, false) }
    let kdepth = lps_load_acquire_u32(&t.pointee.kdepth) // then kepoch: see lp_kernel_enter
    let kepoch = lps_load_u64(&t.pointee.kepoch)
    let kernelFresh = kepoch == epoch
    if tx.model.leave == LP_LEAVE_KERNEL.rawValue && kdepth != 0 && !kernelFresh {
        return (inKernel, kepoch == epochUnknown)
    }
    if let transient = oldActivationBlocks(t, epoch) { return (Int32(LP_STALL_NO_SWITCH_POINT), transient) }
    if tx.model.flags & LP_MODEL_F_ARM_AT_KERNEL_EXIT != 0 && kdepth != 0 && !kernelFresh {
        return (Int32(LP_STALL_NO_SWITCH_POINT), kepoch == epochUnknown)
    }
    return (0, false)
}

/// Whether `t` blocks `epoch` because an activation that predates it may be
/// inside a function of its set (the kernel's stack check, on the shadow
/// stack): nil if not, else whether that is transient (an outermost entry
/// that has not read the epoch yet).
func oldActivationBlocks(_ t: ThreadRecord, _ epoch: UInt64) -> Bool? {
    // Depth first (acquire), then its epoch: see lp_func_enter.
    let depth = lps_load_acquire_u32(&t.pointee.fdepth)
    guard depth != 0 else { return nil }
    let fepoch = lps_load_u64(&t.pointee.fepoch)
    if fepoch == epochUnknown { return true }
    if fepoch != epoch && oldFramesMayHoldSet(t, below: depth, epoch: epoch) { return false }
    return nil
}

/// Calls `body` with each function of the set of `epoch` on `t`'s shadow
/// stack, outermost first (frames deeper than the shadow stack are not
/// seen). Allocates nothing: callers may hold the registry lock.
func forEachSetFrame(_ t: ThreadRecord, _ epoch: UInt64, _ body: (FunctionRecord) -> Void) {
    let depth = lps_load_acquire_u32(&t.pointee.fdepth) // then the frames: see lp_func_enter
    for i in 0..<min(depth, framesKnown) {
        guard let g = lps_frame_func(lps_rec_frame(t, i)) else { continue }
        let f = UnsafeMutablePointer(mutating: g)
        if lps_load_u64(&f.pointee.tx_epoch) == epoch { body(f) }
    }
}

/// Scans every live thread; remembers the stalled ones for nudges and
/// lp_transition_for_each_stalled().
func scan(_ tx: Transition) -> (blocked: Int, transient: Bool) {
    var stalled: [Stalled] = []
    var transient = false
    let perFunction = tx.model.countsPerFunction
    let rows = lps_global_fn_rows()
    if !tx.model.countsNothing {
        forEachLiveThread { t in
            var reason: Int32
            if tx.model.checksStacks {
                reason = stackBlockReason(t, tx)
            } else if perFunction {
                reason = countedBlockReason(t, tx, rows: rows)
            } else {
                let r = blockReason(t, tx)
                reason = r.reason
                transient = transient || r.transient
            }
            if reason != 0 {
                stalled.append(Stalled(thread: t, generation: lps_load_u64(&t.pointee.generation), reason: reason))
            }
        }
    }
    patcher.stalled = stalled
    patcher.scanTransient = transient
    patcher.stats.lastPending = UInt64(stalled.count)
    return (stalled.count, transient)
}
