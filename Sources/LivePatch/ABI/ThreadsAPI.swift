internal import CLivePatchShim

// The C entry points of livepatch.h's section "threads" that are not hooks
// (lp_thread_offline/online and lp_safe_point are in Hooks/KernelSections.swift).

/// Registers the calling thread under `name`. C: `lp_thread_register`.
@c public func lp_thread_register(_ name: UnsafePointer<CChar>?) -> Int32 {
    if lps_tls_rec() != nil { return LPError.exists }
    switch registerCurrentThread(name: name) {
    case .registered: return 0
    case .existing: return LPError.exists
    case .refused: return LPError.busy
    case .full: return LPError.noMemory
    }
}

/// Unregisters the calling thread. C: `lp_thread_unregister`.
@c public func lp_thread_unregister() -> Int32 {
    guard let t = lps_tls_rec() else { return LPError.notFound }
    dropFramesBelow(t, key: lps_frame_key())
    if lps_load_u32(&t.pointee.fdepth) != 0 || lps_load_u32(&t.pointee.kdepth) != 0 { return LPError.busy }
    retire(t, exiting: false)
    return 0
}
