internal import CLivePatchShim

// The C entry point of livepatch/debug.h (test harnesses only).

/// Breaks the protocol on purpose (LP_BUG_*). C: `lp_debug_inject_bug`.
@c public func lp_debug_inject_bug(_ kind: Int32) -> Int32 {
    guard kind >= LP_BUG_NONE && kind <= LP_BUG_STACK_SKIP_FRAME else { return LPError.invalid }
    withPatcherLock { injectedBug = kind }
    return 0
}
