import Glibc
import LivePatchEngine

// The engine's LivePatchError (a negative errno, as the C API returns it),
// with the names a Swift caller matches on: `catch .timedOut`.
extension LivePatchError: CustomStringConvertible {
    /// The positive errno (EBUSY, ETIMEDOUT, ...).
    public var errno: Int32 { -code }

    /// lp_strerror's text, e.g. "the transition did not complete in time (ETIMEDOUT)".
    public var description: String { String(cString: lp_strerror(code)) }

    public static let invalidArgument = LivePatchError(code: -EINVAL)
    public static let notFound = LivePatchError(code: -ENOENT)
    public static let exists = LivePatchError(code: -EEXIST)
    public static let busy = LivePatchError(code: -EBUSY)
    public static let timedOut = LivePatchError(code: -ETIMEDOUT)
    public static let noMemory = LivePatchError(code: -ENOMEM)
    public static let deadlock = LivePatchError(code: -EDEADLK)
    public static let canceled = LivePatchError(code: -ECANCELED)

    /// Throws for a negative return of the C API; returns a non-negative one.
    @discardableResult
    static func check(_ rc: Int32) throws(LivePatchError) -> Int32 {
        if rc < 0 { throw LivePatchError(code: rc) }
        return rc
    }

    /// Unwraps a pointer-returning call, or throws the errno it set.
    static func check<T>(_ result: T?) throws(LivePatchError) -> T {
        guard let result else { throw LivePatchError(code: -Glibc.errno) }
        return result
    }
}
