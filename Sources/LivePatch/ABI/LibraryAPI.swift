internal import CLivePatchShim

// The C entry points of livepatch.h's section "library".

/// The library's ABI version, `LP_ABI_VERSION` at build time. C: `lp_abi_version`.
@c public func lp_abi_version() -> Int32 { Int32(LP_ABI_VERSION) }

/// A static description of a (negative or positive) errno returned by this
/// library. C: `lp_strerror`.
@c public func lp_strerror(_ err: Int32) -> UnsafePointer<CChar> {
    // The magnitude, not -err: INT_MIN has no negation in Int32.
    switch err.magnitude {
    case 0: return cString("success")
    case UInt32(LPS_EINVAL.rawValue): return cString("invalid argument, or a system-state conflict with the enabled patches (EINVAL)")
    case UInt32(LPS_ENOENT.rawValue): return cString("no such function, patch, thread, shadow variable or simulation (ENOENT)")
    case UInt32(LPS_EEXIST.rawValue): return cString("already exists or already registered (EEXIST)")
    case UInt32(LPS_EBUSY.rawValue): return cString("busy: a transition is in flight, or the object is in use (EBUSY)")
    case UInt32(LPS_ETIMEDOUT.rawValue): return cString("the transition did not complete in time (ETIMEDOUT)")
    case UInt32(LPS_ENOMEM.rawValue): return cString("capacity exhausted or out of memory (ENOMEM)")
    case UInt32(LPS_EDEADLK.rawValue): return cString("would deadlock: the caller is inside a kernel section, a hooked function, or a shadow-variable constructor/destructor (EDEADLK)")
    case UInt32(LPS_ECANCELED.rawValue): return cString("cancelled: the patch's pre_patch callback refused it (ECANCELED)")
    case UInt32(LPS_EAGAIN.rawValue): return cString("the word no longer held the expected value (EAGAIN)")
    case UInt32(LPS_EINTR.rawValue): return cString("interrupted by a signal (EINTR)")
    case UInt32(LPS_ENOEXEC.rawValue): return cString("the object's file is not readable as ELF or has no symbol table (ENOEXEC)")
    default: return cString("unknown error")
    }
}
