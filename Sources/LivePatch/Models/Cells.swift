internal import CLivePatchShim

// The nine cells of the leave x switch matrix and the presets, written
// against ConsistencyModel like a user's model.

/// One cell of the leave x switch matrix, with optional extra switch points.
/// The presets are named cells.
///
/// Cell semantics (each cell's invariant is asserted by the tests):
/// - FUNCTION x any: nothing is counted; every unit flips when the
///   transition starts (the three cells coincide). Invariant I0 only.
/// - PATCHED_SET x FUNCTION: each function of the set flips on its own once
///   no thread executes its old implementation (I3). New entries of a
///   function are held back briefly while the patcher checks its count.
/// - PATCHED_SET x THREAD: each outermost patched-set activation takes the
///   thread's universe at its start, and keeps it to its end; a thread is
///   switched when it has no old activation left (I1).
/// - PATCHED_SET x KERNEL: one switch instant at which no thread is inside
///   the set (I2); new outermost entries are held back while the count drains.
/// - KERNEL x THREAD: as PATCHED_SET x THREAD, with kernel sections as the
///   activations (a set function called outside any kernel section is an
///   activation of its own) (I1).
/// - KERNEL x KERNEL: one switch instant at which no thread is inside a
///   kernel section or a set function (I2).
/// - KERNEL x FUNCTION coincides with KERNEL x KERNEL: the count is kept per
///   kernel section, not per function, so every function's count reaches
///   zero at the same instant.
public struct Cell: ConsistencyModel {
    public var counts: CountedArea
    public var switches: SwitchUnit
    public var switchPoints: SwitchPoints
    public var detector: Detector

    public init(_ counts: CountedArea, _ switches: SwitchUnit, _ switchPoints: SwitchPoints = [],
                detector: Detector = .counting) {
        self.counts = counts
        self.switches = switches
        self.switchPoints = switchPoints
        self.detector = detector
    }

    /// Patching with no consistency at all. C: `LP_MODEL_IMMEDIATE`.
    public static let immediate = Cell(.nothing, .function)
    /// Per-thread universes flipped at kernel boundaries. C: `LP_MODEL_KGRAFT`.
    public static let kgraft = Cell(.kernelSections, .thread)
    /// One instant with no thread in the patched set (stop_machine).
    /// C: `LP_MODEL_KPATCH`.
    public static let kpatch = Cell(.patchedSet, .everything)
    /// The kernel's hybrid: per-thread, the patched set counted, kernel exit
    /// a switch point. C: `LP_MODEL_UPSTREAM`.
    public static let upstream = Cell(.patchedSet, .thread, .kernelExit)
    /// Refcounts armed at kernel exit, one switch instant. C: `LP_MODEL_HIRAMATSU`.
    public static let hiramatsu = Cell(.patchedSet, .everything, .armAtKernelExit)
    /// One instant with no thread in a kernel section. C: `LP_MODEL_RENEW`.
    public static let renew = Cell(.kernelSections, .everything)
    /// The kernel's livepatch as it is: stacks checked, per-thread switch,
    /// kernel exit a switch point. C: `LP_MODEL_UPSTREAM_STACK`.
    public static let upstreamStack = Cell(.patchedSet, .thread, .kernelExit, detector: .stack)
    /// kpatch.ko: stop_machine, every stack checked, one switch.
    /// C: `LP_MODEL_KPATCH_STACK`.
    public static let kpatchStack = Cell(.patchedSet, .everything, detector: .stack)

    /// The cell (with extras) an lp_model_t below LP_MODEL_USER_BASE stands for.
    init?(raw: lp_model_t) {
        guard raw & ~UInt32(0xffff) == 0,
              let counts = CountedArea(rawValue: raw & 0xf),
              let switches = SwitchUnit(rawValue: (raw >> 4) & 0xf),
              raw & 0xff00 & ~(SwitchPoints.all.rawValue | LP_MODEL_F_STACK_CHECK) == 0
        else { return nil }
        let detector: Detector = raw & LP_MODEL_F_STACK_CHECK != 0 ? .stack : .counting
        guard detectorFits(detector, counts, switches) else { return nil }
        self.init(counts, switches, SwitchPoints(rawValue: raw & SwitchPoints.all.rawValue), detector: detector)
    }

    /// The id lp_patch_create takes (the LP_MODEL_* constant of a preset).
    public var id: lp_model_t {
        counts.rawValue | switches.rawValue << 4 | switchPoints.rawValue | (detector == .stack ? LP_MODEL_F_STACK_CHECK : 0)
    }
}

/// Whether a model may use `detector`: a stack shows which functions a
/// thread is inside, so stack checking finds the patched set's activations
/// (never kernel sections), and decides per thread or for all at once (a
/// function-by-function switch needs per-function counts).
func detectorFits(_ detector: Detector, _ counts: CountedArea, _ switches: SwitchUnit) -> Bool {
    detector == .counting || (counts == .patchedSet && switches != .function)
}
