import LivePatchEngine

/// The calling thread as the engine sees it.
public enum CurrentThread {
    /// Registers the calling thread under `name` (optional: its first hook
    /// registers it). Throws `.exists`, `.noMemory`. C: `lp_thread_register`.
    public static func register(_ name: String) throws(LivePatchError) {
        try LivePatchError.check(lp_thread_register(name))
    }

    /// Runs `body` as a kernel section (the stand-in for a system call:
    /// kGraft's unit of switching); its outermost end is a switch point.
    /// C: `lp_kernel_enter`, `lp_kernel_exit`.
    @inlinable
    public static func kernelSection<R>(_ body: () throws -> R) rethrows -> R {
        lp_kernel_enter()
        defer { lp_kernel_exit() }
        return try body()
    }

    /// The thread is, right now, outside the kernel and the patched set: a
    /// switch point for a long-running loop. C: `lp_safe_point`.
    public static func safePoint() { lp_safe_point() }
}
