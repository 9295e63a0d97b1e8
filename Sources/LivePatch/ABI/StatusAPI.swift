internal import CLivePatchShim

// The C entry points of livepatch.h's section "status snapshot".

/// The transition status, every patch and every thread, taken under the
/// patcher lock. C: `lp_status_snapshot`.
@c public func lp_status_snapshot(_ out: UnsafeMutablePointer<lp_snapshot_t>?) -> Int32 {
    guard let out else { return LPError.invalid }
    if (out.pointee.patches == nil && out.pointee.patches_cap != 0)
        || (out.pointee.threads == nil && out.pointee.threads_cap != 0) {
        return LPError.invalid
    }
    let snap = takeSnapshot()
    out.pointee.transition = snap.transition
    out.pointee.n_patches = UInt32(snap.patches.count)
    out.pointee.n_threads = UInt32(snap.threads.count)
    let patchesFit = copyTruncated(snap.patches, to: out.pointee.patches, capacity: out.pointee.patches_cap)
    let threadsFit = copyTruncated(snap.threads, to: out.pointee.threads, capacity: out.pointee.threads_cap)
    return patchesFit && threadsFit ? 0 : 1
}

/// The snapshot as JSON, snprintf-style. C: `lp_status_json`.
@c public func lp_status_json(_ buf: UnsafeMutablePointer<CChar>?, _ len: UInt) -> Int32 {
    if buf == nil && len != 0 { return LPError.invalid }
    let doc = snapshotJSON(takeSnapshot())
    if let buf, len > 0 {
        let n = min(doc.count, Int(clamping: len - 1))
        for i in 0..<n { buf[i] = CChar(bitPattern: doc[i]) }
        buf[n] = 0
    }
    return Int32(clamping: doc.count)
}
