internal import CLivePatchShim

// The hooks as the ftrace trampoline (lps_ftrace_trampoline.S) calls them.
// A pad-patched function's vector argument registers (xmm0-7) must survive
// its hooks, and saving and restoring them on every call cost a third of
// the trampoline's time (docs/FTRACE.md, "Cost"). So the trampoline calls
// the fast halves below first, without saving them: they make no call and
// touch no vector register (scripts/check-hot-path disassembles them to
// keep it so), and say when the rest must run in a call that may, for
// which the trampoline saves the registers. Every one is passed the frame
// key of the pad function's call site, S - 24 (lps_ftrace_trampoline.S says
// why).

typealias PadCell = UnsafeMutablePointer<lps_ftrace_cell>

/// lp_func_enter's fast path for the pad function of `cell`. rest 0: entered,
/// `to` is the address to call. LPS_FTRACE_HOOK: nothing done; the
/// trampoline calls lps_ftrace_enter. Else the frame is pushed and counted
/// while the function is in transition `rest`; the trampoline calls
/// lps_ftrace_enter_rest. `to` is then the cell, for that call.
@c func lps_ftrace_enter_fast(_ cell: PadCell, _ key: UInt64, _ tailCall: UInt32) -> lps_ftrace_hooked {
    // The trampoline read the cell's function before the call: it is published.
    let f = cell.pointee.f.unsafelyUnwrapped
    let enterHook = lps_ftrace_hooked(to: cell, rest: UInt64(bitPattern: Int64(LPS_FTRACE_HOOK)))
    guard let t = lps_tls_rec() else { return enterHook }
    let depth = lps_load_u32(&t.pointee.fdepth)
    // depth first: leftBelow's key is then computed only where a frame is.
    if depth != 0 && mayHaveLeftFrames(t, key: leftBelow(key, tailCall: tailCall), depth: depth) { return enterHook }
    let fe = beginFrame(t, f, key: key, depth: depth)
    if _slowPath(fe != 0) { return lps_ftrace_hooked(to: cell, rest: fe) }
    return lps_ftrace_hooked(to: lps_ftrace_call_target(cell, f.pointee.orig, lps_load_ptr(&f.pointee.impl)), rest: 0)
}

/// The entry hook in full, for a call lps_ftrace_enter_fast did nothing for.
@c func lps_ftrace_enter(_ cell: PadCell, _ key: UInt64, _ tailCall: UInt32) -> UnsafeRawPointer? {
    let f = cell.pointee.f.unsafelyUnwrapped
    if let t = lps_tls_rec() {
        dropFramesBelow(t, key: leftBelow(key, tailCall: tailCall))
        if tailCall == 0 { lps_ftrace_drop_left(UInt(key &+ 24)) } // S, the call's stack pointer after its return
    }
    return lps_ftrace_call_target(cell, f.pointee.orig, enterHook(f, key: key))
}

/// The key below which an entry through the trampoline at `key` finds
/// frames left by a jump or an exception. A call site's key is strictly
/// above every call its implementation makes, so a frame with the same key
/// is an earlier call from the same site that never returned (a C++
/// exception skips the exit hook), and goes too. A tail call from a hooked
/// implementation (`tailCall`: its return address is the trampoline's
/// return site) shares the call site of the call it replaced, whose frame
/// is live: the trampoline passes it a key 8 below that call's, and only
/// frames strictly below it go.
@inline(__always)
func leftBelow(_ key: UInt64, tailCall: UInt32) -> UInt64 { tailCall != 0 ? key : key &+ 1 }

/// The rest of an entry that lps_ftrace_enter_fast began while the function
/// was in transition `epoch`.
@c func lps_ftrace_enter_rest(_ cell: PadCell, _ epoch: UInt64) -> UnsafeRawPointer? {
    let f = cell.pointee.f.unsafelyUnwrapped
    // The fast half pushed the frame: the thread has a record, and a signal
    // handler since has left the depth as it found it.
    let t = lps_tls_rec().unsafelyUnwrapped
    let impl = enterFrameInTransition(t, f, epoch: epoch, depth: lps_load_u32(&t.pointee.fdepth) &- 1)
    return lps_ftrace_call_target(cell, f.pointee.orig, impl)
}

/// lp_func_exit's fast path. rest 0: done. LPS_FTRACE_HOOK: nothing done;
/// the trampoline calls lps_ftrace_exit. LPS_FTRACE_EXIT_REST: the frame is
/// popped and counted; the trampoline calls lps_ftrace_exit_rest. `to` is
/// then `f`, for that call.
@c func lps_ftrace_exit_fast(_ f: FunctionRecord, _ key: UInt64) -> lps_ftrace_hooked {
    let exitHook = lps_ftrace_hooked(to: f, rest: UInt64(bitPattern: Int64(LPS_FTRACE_HOOK)))
    guard let t = lps_tls_rec() else { return exitHook }
    let depth = lps_load_u32(&t.pointee.fdepth)
    if _slowPath(exitMayHaveLeftFrames(t, f, key: key, depth: depth)) { return exitHook }
    let outer = popFrame(t, f, depth: depth)
    if exitIsSteady(outer: outer, act: lps_load_u64(&t.pointee.act), txEpoch: lps_load_u64(&f.pointee.tx_epoch)) {
        return lps_ftrace_hooked(to: nil, rest: 0)
    }
    return lps_ftrace_hooked(to: f, rest: UInt64(LPS_FTRACE_EXIT_REST))
}

/// The exit hook in full, for a return lps_ftrace_exit_fast did nothing for.
@c func lps_ftrace_exit(_ f: FunctionRecord, _ key: UInt64) {
    exitHook(f, key: key)
}

/// The rest of an exit whose frame lps_ftrace_exit_fast popped.
@c func lps_ftrace_exit_rest(_ f: FunctionRecord) {
    let t = lps_tls_rec().unsafelyUnwrapped
    finishExit(t, f, outer: lps_load_u32(&t.pointee.fdepth))
}
