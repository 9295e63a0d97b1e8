internal import CLivePatchShim

// The hooks as the ftrace trampoline (lps_ftrace_trampoline.S) calls them.
// A pad-patched function's vector argument registers (xmm0-7) must survive
// its hooks, and saving and restoring them on every call cost a third of
// the trampoline's time (docs/FTRACE.md, "Cost"). So the trampoline calls
// these fast halves of lp_func_enter and lp_func_exit first, without saving
// them: they make no call and touch no vector register (scripts/check-hot-path
// disassembles them to keep it so), and say when the rest must run in a
// call that may, for which the trampoline saves the registers. The frame
// key is passed in: the one lp_func_enter and lp_func_exit see when the
// trampoline calls them, so that the fast and the full hooks agree.

/// lp_func_enter's fast path. {impl, 0}: entered, run impl. {_, LPS_FTRACE_ENTER_HOOK}:
/// nothing done; the trampoline calls lp_func_enter. {_, epoch}: the frame
/// is pushed and counted while `f` is in transition `epoch`; the trampoline
/// calls lps_ftrace_enter_rest.
@c func lps_ftrace_enter_fast(_ f: FunctionRecord, _ key: UInt64) -> lps_ftrace_entry {
    let enterHook = lps_ftrace_entry(impl: nil, rest: UInt64(bitPattern: Int64(LPS_FTRACE_ENTER_HOOK)))
    guard let t = lps_tls_rec() else { return enterHook }
    let depth = lps_load_u32(&t.pointee.fdepth)
    if mayHaveLeftFrames(t, key: key, depth: depth) { return enterHook }
    let fe = beginFrame(t, f, key: key, depth: depth)
    if fe != 0 { return lps_ftrace_entry(impl: nil, rest: fe) }
    return lps_ftrace_entry(impl: lps_load_ptr(&f.pointee.impl), rest: 0)
}

/// The implementation for an entry that lps_ftrace_enter_fast began while
/// `f` was in transition `epoch`.
@c func lps_ftrace_enter_rest(_ f: FunctionRecord, _ epoch: UInt64) -> UnsafeRawPointer? {
    // The fast half pushed the frame: the thread has a record, and a signal
    // handler since has left the depth as it found it.
    let t = lps_tls_rec().unsafelyUnwrapped
    return enterFrameInTransition(t, f, epoch: epoch, depth: lps_load_u32(&t.pointee.fdepth) &- 1)
}

/// lp_func_exit's fast path: LPS_FTRACE_EXITED, LPS_FTRACE_EXIT_HOOK
/// (nothing done; the trampoline calls lp_func_exit) or LPS_FTRACE_EXIT_REST
/// (the frame is popped and counted; the trampoline calls
/// lps_ftrace_exit_rest).
@c func lps_ftrace_exit_fast(_ f: FunctionRecord, _ key: UInt64) -> Int32 {
    guard let t = lps_tls_rec() else { return LPS_FTRACE_EXIT_HOOK }
    let depth = lps_load_u32(&t.pointee.fdepth)
    if depth == 0 || exitMayHaveLeftFrames(t, f, key: key, depth: depth) { return LPS_FTRACE_EXIT_HOOK }
    let outer = popFrame(t, f, depth: depth)
    let steady = exitIsSteady(outer: outer, act: lps_load_u64(&t.pointee.act), txEpoch: lps_load_u64(&f.pointee.tx_epoch))
    return steady ? LPS_FTRACE_EXITED : LPS_FTRACE_EXIT_REST
}

/// The rest of an exit whose frame lps_ftrace_exit_fast popped.
@c func lps_ftrace_exit_rest(_ f: FunctionRecord) {
    let t = lps_tls_rec().unsafelyUnwrapped
    finishExit(t, f, outer: lps_load_u32(&t.pointee.fdepth))
}
