internal import CLivePatchShim

// The engine's errors: negative errno values, named once, and the Swift
// error type that carries one.

/// The negative errno values the engine returns, named once.
enum LPError {
    static let invalid = -Int32(LPS_EINVAL.rawValue)
    static let notFound = -Int32(LPS_ENOENT.rawValue)
    static let exists = -Int32(LPS_EEXIST.rawValue)
    static let busy = -Int32(LPS_EBUSY.rawValue)
    static let timedOut = -Int32(LPS_ETIMEDOUT.rawValue)
    static let noMemory = -Int32(LPS_ENOMEM.rawValue)
    static let deadlock = -Int32(LPS_EDEADLK.rawValue)
    static let canceled = -Int32(LPS_ECANCELED.rawValue)
    static let again = -Int32(LPS_EAGAIN.rawValue)
    static let interrupted = -Int32(LPS_EINTR.rawValue)
}

/// Sets errno for the pointer-returning calls and returns nil.
@inline(never)
func failNull<T>(_ negativeErrno: Int32) -> T? {
    lps_sys_set_errno(-negativeErrno)
    return nil
}

func cString(_ s: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
}

/// An error from the Swift API, as the negative errno the C API returns.
public struct LivePatchError: Error, Equatable {
    /// A negative errno (`-EEXIST`, ...); lp_strerror names it.
    public let code: Int32
    public init(code: Int32) { self.code = code }
}
