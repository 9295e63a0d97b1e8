import LivePatchEngine

/// A patchable function: a handle to a registered `lp_func_t`, valid for the
/// life of the process (functions are never unregistered). A value: copies
/// name the same function.
public struct Function: Hashable, @unchecked Sendable {
    /// The C handle, for calls the Swift layer does not wrap.
    public let handle: UnsafeMutablePointer<lp_func_t>

    public init(handle: UnsafeMutablePointer<lp_func_t>) { self.handle = handle }

    /// Registers `implementation` (the original) under `name`.
    /// Throws `.invalidArgument`, `.exists` (name taken), `.noMemory`.
    /// C: `lp_func_register`.
    public init(_ name: String, implementation: UnsafeRawPointer) throws(LivePatchError) {
        handle = try LivePatchError.check(lp_func_register(name, implementation))
    }

    /// The function registered under `name`. Throws `.notFound`. C: `lp_func_lookup`.
    public static func named(_ name: String) throws(LivePatchError) -> Function {
        Function(handle: try LivePatchError.check(lp_func_lookup(name)))
    }

    /// Enters the function, calls `body` with the implementation the calling
    /// thread must run now (cast to `type`, a `@convention(c)` function
    /// type), and exits it: one hooked call.
    /// `answer.call(as: (@convention(c) () -> Int32).self) { $0() }`
    @inlinable
    public func call<F, R>(as type: F.Type, _ body: (F) throws -> R) rethrows -> R {
        let implementation = lp_func_enter(handle)!
        defer { lp_func_exit(handle) }
        return try body(unsafeBitCast(implementation, to: type))
    }

    /// Entries and exits so far, over all threads. C: `lp_func_counts`.
    public var counts: (entries: UInt64, exits: UInt64) {
        var entries: UInt64 = 0
        var exits: UInt64 = 0
        _ = lp_func_counts(handle, &entries, &exits)
        return (entries, exits)
    }
}
