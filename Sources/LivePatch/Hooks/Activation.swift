internal import CLivePatchShim

// Area activations: the one word per thread (lps_thread_rec_t.act) that
// says which transition's universe the thread's outermost activation took.

/// An area activation: the outermost entry into the counted area (a kernel
/// section, or a patched-set function) fixes the universe that every call
/// inside it runs in. It is one 64-bit word in the thread record, so the
/// patcher reads it in one load:
///
///     bits 0-1   state: 0 none, 1 undecided, 2 old, 3 new
///     bit  2     kind: 0 function activation, 1 kernel section
///     bits 3-31  marker: the function depth at which it began
///     bits 32-63 the low 32 bits of the transition epoch it belongs to
///
/// "Undecided" is stored before the universe is read (the thread's half of
/// the store-then-load fence with the patcher), so a patcher that sees it
/// treats the thread as busy rather than guessing.
enum Act {
    static let none: UInt64 = 0
    static let undecided: UInt64 = 1
    static let kernelKind: UInt64 = 4

    @inline(__always) static func word(epoch: UInt64, marker: UInt32, kernel: Bool, state: UInt64) -> UInt64 {
        (epoch << 32) | (UInt64(marker & 0x1fff_ffff) << 3) | (kernel ? kernelKind : 0) | state
    }
    @inline(__always) static func state(_ a: UInt64) -> UInt64 { a & 3 }
    @inline(__always) static func isKernel(_ a: UInt64) -> Bool { a & kernelKind != 0 }
    @inline(__always) static func marker(_ a: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: a >> 3) & 0x1fff_ffff }
    @inline(__always) static func epoch(_ a: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: a >> 32) }
    @inline(__always) static func isDecided(_ a: UInt64) -> Bool { state(a) >= 2 }
    @inline(__always) static func universe(_ a: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: state(a) &- 2) }
    /// Whether `a` is the function activation begun at depth `marker` for
    /// `epoch`, in any state: one compare, since `a` minus its state-0 word
    /// is then its state, 1 to 3.
    @inline(__always) static func isFunctionActivation(_ a: UInt64, epoch: UInt64, marker: UInt32) -> Bool {
        a &- word(epoch: epoch, marker: marker, kernel: false, state: 0) &- 1 < 3
    }
    @inline(__always) static func belongs(_ a: UInt64, to epoch: UInt64) -> Bool {
        a != none && Act.epoch(a) == UInt32(truncatingIfNeeded: epoch)
    }
}

/// Begins an area activation for `epoch` and returns its universe.
///
/// Under SWITCH_KERNEL the activation may be held back while the patcher
/// checks for its switch instant (Transition/Hold.swift, `holdAndSwitchKernel`): that
/// wait, and a retry, are tail calls, so the path through keeps nothing in
/// callee-saved registers.
@inline(never)
func beginActivation(_ t: ThreadRecord, epoch: UInt64, kernel: Bool, marker: UInt32) -> UInt32 {
    switch tryBeginActivation(t, epoch: epoch, kernel: kernel, marker: marker) {
    case .began(let u): return u
    case .stale: return staleActivation(t)
    case .held: return beginHeldActivation(t, epoch: epoch, kernel: kernel, marker: marker)
    case .interrupted:
        // A signal handler interrupted us and decided this activation: keep its universe.
        let now = lps_load_u64(&t.pointee.act)
        if Act.isDecided(now) { return Act.universe(now) }
        return beginActivation(t, epoch: epoch, kernel: kernel, marker: marker)
    }
}

/// How tryBeginActivation ended: only `began` decided the activation.
enum ActivationStart {
    case began(UInt32)
    /// The transition has ended: act reads "undecided" for it.
    case stale
    /// The patcher holds activations back: act reads "undecided".
    case held
    /// A signal handler landed between the store and the CAS and may have
    /// decided the activation itself.
    case interrupted
}

/// The calls of beginActivation without its out-of-line cases, inlined
/// where a call in transition begins its activation (enterInTransition):
/// the common case of a transition's hooks.
@inline(__always)
func tryBeginActivation(_ t: ThreadRecord, epoch: UInt64, kernel: Bool, marker: UInt32) -> ActivationStart {
    let undecided = Act.word(epoch: epoch, marker: marker, kernel: kernel, state: Act.undecided)
    lps_store_u64(&t.pointee.act, undecided)
    // Thread half of the store-then-load pair: act is stored before hold,
    // kuniv and target are read. Pairs with lps_patcher_side_fence() in
    // startTransition(), which the patcher runs after storing them and
    // before it reads act.
    lps_thread_side_fence()
    if _slowPath(lps_load_acquire_u64(&lps_global_ref().pointee.epoch) != epoch) { return .stale }
    let kernelSwitch = lps_load_u32(&lps_global_ref().pointee.sw) == LP_SWITCH_KERNEL.rawValue
    // Acquire: a hold seen here belongs to the epoch read above (the patcher
    // stores the epoch before it sets any hold).
    if _slowPath(kernelSwitch && lps_load_acquire_u32(&lps_global_ref().pointee.hold) != 0) { return .held }
    // Both read, one kept: a select rather than a branch.
    let kuniv = lps_load_u32(&lps_global_ref().pointee.kuniv), target = lps_load_u32(&lps_global_ref().pointee.target)
    let u = kernelSwitch ? kuniv : target
    // The state goes from 1 (undecided) to 2 + u.
    return lps_local_cas_u64(&t.pointee.act, undecided, undecided &+ 1 &+ UInt64(u)) ? .began(u) : .interrupted
}

/// beginActivation found the patcher's hold set: waits it out, then begins
/// again.
@inline(never)
func beginHeldActivation(_ t: ThreadRecord, epoch: UInt64, kernel: Bool, marker: UInt32) -> UInt32 {
    lps_store_u64(&t.pointee.act, Act.none)
    // A hold of a later transition must not hold this one's activation:
    // that thread would block the very hold it waits on.
    if lps_load_u64(&lps_global_ref().pointee.epoch) != epoch { return staleActivation(t) }
    notifyPatcher()
    waitWhileHeld(&lps_global_ref().pointee.hold, epoch: epoch)
    return beginActivation(t, epoch: epoch, kernel: kernel, marker: marker)
}

/// The transition an activation was begun for has ended meanwhile: no
/// activation is kept, and the caller's re-check of the function's epoch
/// falls back to the steady implementation.
@inline(never)
func staleActivation(_ t: ThreadRecord) -> UInt32 {
    lps_store_u64(&t.pointee.act, Act.none)
    return universeOld
}

/// Ends the activation `a` of thread `t` and wakes a waiting patcher if the
/// activation could have been what it waits for.
@inline(__always)
func endActivation(_ t: ThreadRecord, _ a: UInt64) {
    lps_store_u64(&t.pointee.act, Act.none)
    // Pairs with the lps_patcher_side_fence() the patcher runs after it sets
    // lps_global.waiting: either it sees act cleared, or we see waiting.
    lps_thread_side_fence()
    if lps_load_u32(&lps_global_ref().pointee.waiting) != 0 {
        wakeIfBlocking(a)
    }
}

@inline(never)
func wakeIfBlocking(_ a: UInt64) {
    let stale = !Act.belongs(a, to: lps_load_u64(&lps_global_ref().pointee.epoch))
    if stale || lps_load_u32(&lps_global_ref().pointee.hold) != 0 || Act.universe(a) != lps_load_u32(&lps_global_ref().pointee.target) {
        notifyPatcher()
    }
}

/// Wakes every patcher sleeping in lp_transition_wait().
@inline(never)
func notifyPatcher() {
    _ = lps_fetch_add_u32(&lps_global_ref().pointee.wake_seq, 1)
    futexWake(&lps_global_ref().pointee.wake_seq, Int32.max)
}

/// Sleeps while the futex word reads 1 and `epoch` is still the current
/// transition: a hold by the patcher, bounded by the switch policy and
/// always ended by releaseHold(), which wakes every sleeper (so no timeout:
/// a thousand held threads must not poll). A sleeper woken late may find the
/// next transition's hold set; that one is not its own to wait for.
@inline(never)
func waitWhileHeld(_ word: UnsafeMutablePointer<UInt32>, epoch: UInt64) {
    // Pairs with the release store that clears the hold in releaseHold():
    // seeing 0 implies seeing the new universe.
    while lps_load_acquire_u32(word) != 0 && lps_load_u64(&lps_global_ref().pointee.epoch) == epoch {
        _ = futexWait(word, 1, 0)
    }
}

/// The universe of a call to a set function for `epoch`, beginning an
/// activation if the thread is not inside one (activation-based cells).
/// The area it counts is read again here: one of a later transition can
/// only lead to a begin that finds `epoch` stale, as the area read first
/// would.
@inline(__always)
func activationUniverse(_ t: ThreadRecord, epoch: UInt64, depth: UInt32) -> UInt32 {
    let leave = lps_load_u32(&lps_global_ref().pointee.leave)
    let a = lps_load_u64(&t.pointee.act)
    if Act.belongs(a, to: epoch) {
        if Act.isDecided(a) { return Act.universe(a) }
        // Only a signal handler nested in beginActivation sees "undecided".
        return beginActivation(t, epoch: epoch, kernel: Act.isKernel(a), marker: Act.marker(a))
    }
    if leave == LP_LEAVE_KERNEL.rawValue && lps_load_u32(&t.pointee.kdepth) != 0 {
        // A signal handler nested in the section's outermost entry: see
        // snapshotEpoch.
        if lps_load_u64(&t.pointee.kepoch) == epochUnknown { snapshotEpoch(&t.pointee.kepoch) }
        // A kernel section that began before this transition runs in the old
        // universe to its end.
        if lps_load_u64(&t.pointee.kepoch) != epoch { return universeOld }
        return beginActivation(t, epoch: epoch, kernel: true, marker: 0)
    }
    return beginActivation(t, epoch: epoch, kernel: false, marker: depth)
}
