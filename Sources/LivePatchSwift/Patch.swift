import LivePatchEngine

/// A patch: functions with their replacements, under one model. A handle to
/// an `lp_patch_t`, valid until `destroy()`.
public struct Patch: Hashable, @unchecked Sendable {
    /// The C handle, for calls the Swift layer does not wrap.
    public let handle: UnsafeMutablePointer<lp_patch_t>

    public init(handle: UnsafeMutablePointer<lp_patch_t>) { self.handle = handle }

    /// A new, disabled patch. `replace`: atomic replace of every enabled
    /// patch (`LP_PATCH_REPLACE`). Throws `.invalidArgument`, `.exists`
    /// (name taken), `.noMemory`. C: `lp_patch_create`.
    public init(_ name: String, model: Model, replace: Bool = false) throws(LivePatchError) {
        handle = try LivePatchError.check(lp_patch_create(name, model.id, replace ? LP_PATCH_REPLACE : 0))
    }

    /// Runs `implementation` instead of `function` while the patch is
    /// enabled. C: `lp_patch_add_func`.
    public func replace(_ function: Function, with implementation: UnsafeRawPointer) throws(LivePatchError) {
        try LivePatchError.check(lp_patch_add_func(handle, function.handle, implementation))
    }

    /// As `replace`, for a function that may be registered later.
    /// C: `lp_patch_add_func_by_name`.
    public func replace(named name: String, with implementation: UnsafeRawPointer) throws(LivePatchError) {
        try LivePatchError.check(lp_patch_add_func_by_name(handle, name, implementation))
    }

    /// Counts `function` in the patched set without replacing it.
    /// C: `lp_patch_extend_set`.
    public func extendSet(with function: Function) throws(LivePatchError) {
        try LivePatchError.check(lp_patch_extend_set(handle, function.handle))
    }

    /// Starts the enabling transition; `Transition.wait` drives it home.
    /// C: `lp_patch_enable`.
    public func enable() throws(LivePatchError) { try LivePatchError.check(lp_patch_enable(handle)) }

    /// Starts the disabling transition. C: `lp_patch_disable`.
    public func disable() throws(LivePatchError) { try LivePatchError.check(lp_patch_disable(handle)) }

    /// Frees the disabled patch; the handle is dead afterwards. C: `lp_patch_destroy`.
    public func destroy() throws(LivePatchError) { try LivePatchError.check(lp_patch_destroy(handle)) }
}

/// Runs `body` with `replacements` applied under `model`: every thread runs
/// the replacements, as the model allows, before `body` starts, and the
/// originals once it has returned or thrown; the patch is destroyed at the
/// end. The enabling transition may take `timeout` at most: past it, it is
/// reversed and the call throws `.timedOut` without running `body`. The
/// reversal and the disabling transition take as long as the threads take
/// to reach their switch points (no limit: the patch must not outlive the
/// call). Call it outside kernel sections and hooked functions (`.deadlock`).
public func withPatch<R>(
    _ name: String, model: Model, replacing replacements: [(Function, UnsafeRawPointer)],
    timeout: Duration = .seconds(5), _ body: () throws -> R
) throws -> R {
    let patch = try Patch(name, model: model)
    do {
        for (function, implementation) in replacements { try patch.replace(function, with: implementation) }
        try patch.enable()
    } catch {
        try? patch.destroy()
        throw error
    }
    do {
        try Transition.wait(timeout: timeout)
    } catch {
        if error == .timedOut { try Transition.reverse() }
        try finish(patch)
        throw error
    }
    defer { try? patch.disable(); try? finish(patch) }
    return try body()
}

/// Drives the transition of `patch` home, however long it takes, and frees it.
private func finish(_ patch: Patch) throws(LivePatchError) {
    try Transition.wait()
    try patch.destroy()
}
