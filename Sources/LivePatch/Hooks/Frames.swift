internal import CLivePatchShim

// The shadow stack: the hooked frames a thread is inside, keyed by frame
// address, and the frames longjmp or an exception left without their exit.
// Its first frames lie in the thread's record, where the fast paths reach
// them; the deep ones (lps_records.h) only out of line.

let framesInRecord = UInt32(LPS_FRAMES_IN_RECORD)
let framesKnown = UInt32(LP_FRAMES_KNOWN)

/// The fast path's test for frames left by a jump: the deepest frame's key
/// is below `key`, or the thread is as deep as the record's frames (where
/// topFrameKey decides, out of line, and the new frame is deep). The
/// outermost entry, which has no frame to check, is tested first, so that
/// its path is laid out straight.
@inline(__always)
func mayHaveLeftFrames(_ t: ThreadRecord, key: UInt64, depth: UInt32) -> Bool {
    if _fastPath(depth == 0) { return false }
    return _slowPath(depth >= framesInRecord || key > (lps_rec_frames(t) + Int(depth &- 1)).pointee.key)
}

/// Deep frames are pushed only by the out-of-line entry (mayHaveLeftFrames
/// sent it there).
@inline(__always)
func pushFrame(_ t: ThreadRecord, _ f: FunctionRecord, key: UInt64, at depth: UInt32) {
    guard depth < framesInRecord else { return pushDeepFrame(t, f, key: key, at: depth) }
    fillFrame(lps_rec_frames(t) + Int(depth), f, key: key)
}

@inline(never)
func pushDeepFrame(_ t: ThreadRecord, _ f: FunctionRecord, key: UInt64, at depth: UInt32) {
    guard depth < framesKnown else { return }
    fillFrame(lps_rec_frame(t, depth), f, key: key)
}

/// Only the owner reads keys: a plain store.
@inline(__always)
func fillFrame(_ frame: UnsafeMutablePointer<lps_frame_t>, _ f: FunctionRecord, key: UInt64) {
    lps_frame_set_func(frame, f)
    frame.pointee.key = key
}

/// The key a free slot holds: above every frame, so never taken for one a
/// jump left. lp_func_enter stores the new depth before the frame (see
/// enterFrame); a signal handler's hook that lands in between finds the
/// slot being filled on top, and would judge it by the key the slot last
/// held: a deeper call's, below the handler's own, made it look abandoned
/// (Tests/unit/signal_counts.c). Every pop frees its slot, so that slot
/// reads as live instead.
let freeFrameKey = UInt64.max

/// Pops the slot at `depth` (the depth just stored), if the shadow stack
/// holds it. Only the owner reads keys: a plain store.
@inline(__always)
func freeFrame(_ t: ThreadRecord, at depth: UInt32) {
    guard depth < framesInRecord else { return freeDeepFrame(t, at: depth) }
    (lps_rec_frames(t) + Int(depth)).pointee.key = freeFrameKey
}

@inline(never)
func freeDeepFrame(_ t: ThreadRecord, at depth: UInt32) {
    guard depth < framesKnown else { return }
    lps_rec_frame(t, depth).pointee.key = freeFrameKey
}

/// Every slot of a record taken by a new thread is free: those of the
/// record, and the deep ones up to `left`, the depth its last thread left
/// it at. Every pop frees its slot, so those above are free already, but
/// for the one at `left`: a handler that jumped out of its thread's pop,
/// between the depth's store and the slot's, left it holding a key.
func freeAllFrames(_ t: ThreadRecord, left: UInt32) {
    for depth in 0..<min(max(left &+ 1, framesInRecord), framesKnown) { freeFrame(t, at: depth) }
}

/// The key of the frame at `index`. A deep slot's page reads 0 until it is
/// first written: free.
@inline(__always)
func frameKey(_ t: ThreadRecord, at index: UInt32) -> UInt64 {
    let key = lps_rec_frame(t, index).pointee.key
    return key == 0 ? freeFrameKey : key
}

/// The key of the deepest frame the shadow stack holds (depth > 0).
@inline(__always)
func topFrameKey(_ t: ThreadRecord, depth: UInt32) -> UInt64 {
    frameKey(t, at: min(depth, framesKnown) &- 1)
}

/// A hook runs above frames the thread still counts: they were left without
/// their exit hooks (longjmp, siglongjmp, an exception through instrumented
/// code). Each is exited now, as its exit hook would have, and counted in
/// lps_global.abandoned_exits; returns the depth that remains. `exiting`: the
/// function an exit hook is ending, whose own frame stays for that exit; if
/// no frame of it is found where it should be, nothing is dropped (a
/// mismatched exit, which counts as before). Frames beyond the shadow stack
/// are dropped with the deepest known one; their functions are unknown, so
/// their exits are not counted. A handler on the alternate signal stack says
/// nothing about the interrupted frames: nothing is dropped there.
@inline(never)
func dropAbandoned(_ t: ThreadRecord, key: UInt64, depth: UInt32, exiting: FunctionRecord?) -> UInt32 {
    if lps_sys_on_altstack() != 0 { return depth }
    let known = min(depth, framesKnown)
    var live = known
    while live > 0 && frameKey(t, at: live - 1) < key { live -= 1 }
    var keep = live
    if let f = exiting {
        let own = live > 0 && frameKey(t, at: live - 1) == key && lps_frame_func(lps_rec_frame(t, live - 1)) == UnsafePointer(f)
        if !own {
            guard live < known, lps_frame_func(lps_rec_frame(t, live)) == UnsafePointer(f) else { return depth }
            keep = live + 1
        }
    }
    var d = depth
    while d > keep {
        if d <= framesKnown, let g = lps_frame_func(lps_rec_frame(t, d - 1)) {
            exitFrame(t, UnsafeMutablePointer(mutating: g), depth: d)
        } else {
            lps_store_u32(&t.pointee.fdepth, d &- 1)
        }
        _ = lps_fetch_add_u64(&lps_global_ref().pointee.abandoned_exits, 1)
        d -= 1
    }
    return keep
}

/// mayHaveLeftFrames for an exit of `f`: a deepest frame that is f's own
/// is the one this exit ends, whatever the keys. GCC's
/// -finstrument-functions calls __cyg_profile_func_exit after the
/// function's epilogue (a tail call), so the exit's key lies above the one
/// its entry hook had, inside the prologue. True at depth 0 too, where
/// there is nothing to exit.
@inline(__always)
func exitMayHaveLeftFrames(_ t: ThreadRecord, _ f: FunctionRecord, key: UInt64, depth: UInt32) -> Bool {
    guard _fastPath(depth &- 1 < framesInRecord) else { return true }
    let top = lps_rec_frames(t) + Int(depth &- 1)
    return _slowPath(key > top.pointee.key) && lps_frame_func(top) != UnsafePointer(f)
}

/// exitMayHaveLeftFrames at any depth (> 0), out of line: the deepest
/// frame's key is below `key` and it is not f's own, or the thread is
/// deeper than the shadow stack and the deepest frame it holds lies below
/// `key`. A recursive function's exit (its key is its caller's, another
/// frame of the same function) must not read as the caller's exit.
func exitLeftFrames(_ t: ThreadRecord, _ f: FunctionRecord, key: UInt64, depth: UInt32) -> Bool {
    guard key > topFrameKey(t, depth: depth) else { return false }
    return depth > framesKnown || lps_frame_func(lps_rec_frame(t, depth &- 1)) != UnsafePointer(f)
}

/// The calling thread's frames whose keys lie below `key`, the frame key of
/// an exported call, were left by a jump: exits them. For the calls that
/// would otherwise find the thread inside them (lp_transition_wait,
/// lp_thread_unregister). From a frame deeper than the exported call's the
/// key is lower, and fewer frames are dropped, never a live one.
@inline(never)
func dropFramesBelow(_ t: ThreadRecord, key: UInt64) {
    let depth = lps_load_u32(&t.pointee.fdepth)
    if depth != 0 && key > topFrameKey(t, depth: depth) { _ = dropAbandoned(t, key: key, depth: depth, exiting: nil) }
}
