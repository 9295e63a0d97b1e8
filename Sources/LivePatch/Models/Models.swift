internal import CLivePatchShim

// Consistency models. A model is one type conforming to ConsistencyModel: it
// declares what is counted, when a unit may switch and what switches, and
// decides what a stuck transition does. The nine cells and the six presets
// are values of `Cell`, written against that protocol like a user's model;
// the engine only ever sees the resolved `Model` below, whichever it came from.

/// The area a thread must have left before it may switch: what the hooks
/// count. C: `lp_leave_t`.
public enum CountedArea: UInt32 {
    /// Nothing is counted: every unit switches when the transition starts.
    case nothing = 0
    /// Activations of patched-set functions.
    case patchedSet = 1
    /// Kernel sections (lp_kernel_enter .. lp_kernel_exit).
    case kernelSections = 2
}

/// What switches as one. C: `lp_switch_t`.
public enum SwitchUnit: UInt32 {
    /// Each function on its own, once no thread executes its old implementation.
    case function = 0
    /// Each thread, once it has no activation left in the old universe.
    case thread = 1
    /// Everything at one instant at which no thread is inside the area.
    case everything = 2
}

extension CountedArea {
    /// The lp_leave_t constant's suffix.
    var name: StaticString {
        switch self {
        case .nothing: return "FUNCTION"
        case .patchedSet: return "PATCHED_SET"
        case .kernelSections: return "KERNEL"
        }
    }
}

extension SwitchUnit {
    /// The lp_switch_t constant's suffix.
    var name: StaticString {
        switch self {
        case .function: return "FUNCTION"
        case .thread: return "THREAD"
        case .everything: return "KERNEL"
        }
    }
}

/// How the patcher finds the threads inside the area: the hooks count
/// activations, or the patcher walks each thread's stack at transition time
/// (klp_check_stack). C: `LP_MODEL_F_STACK_CHECK` set or not.
public enum Detector: Equatable {
    /// The hooks count every activation; the patcher reads the counts.
    case counting
    /// The patcher signals each thread, whose handler walks its own stack by
    /// frame pointers; an unreliable walk blocks. PATCHED_SET x THREAD or
    /// PATCHED_SET x KERNEL only.
    case stack
}

/// Switch points beyond the unit's own boundary. C: `LP_MODEL_F_*`.
public struct SwitchPoints: OptionSet {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// An outermost lp_kernel_exit() is a switch point: the thread declares
    /// it holds no patched-set function there (the return to user space).
    /// C: `LP_MODEL_F_KERNEL_EXIT_SWITCHES`.
    public static let kernelExit = SwitchPoints(rawValue: LP_MODEL_F_KERNEL_EXIT_SWITCHES)
    /// Counting is armed per thread only once it has left the kernel after
    /// the transition started (Hiramatsu's preparatory phase).
    /// C: `LP_MODEL_F_ARM_AT_KERNEL_EXIT`.
    public static let armAtKernelExit = SwitchPoints(rawValue: LP_MODEL_F_ARM_AT_KERNEL_EXIT)
    static let all: SwitchPoints = [.kernelExit, .armAtKernelExit]
}

/// Where a transition stands when a completion check finds it pending.
/// C: `lp_transition_progress_t`.
public struct TransitionProgress {
    /// The patch being enabled or disabled.
    public var patch: UnsafeMutablePointer<lp_patch_t>
    /// Heading to the patched state (an enable, or a reversed disable).
    public var patching: Bool
    /// The transition began as an enable.
    public var enabling: Bool
    /// Since the transition started (monotonicNow(): virtual in simulation).
    public var elapsedNs: UInt64
    /// Completion checks so far, this one included.
    public var checks: UInt64
    /// Threads that blocked at this check.
    public var pendingThreads: UInt64
    /// SWITCH_FUNCTION: functions not yet switched.
    public var pendingFunctions: UInt64
    /// Times this transition was reversed.
    public var reversals: UInt32
    /// SWITCH_KERNEL / SWITCH_FUNCTION holds that ran out or stalled this transition.
    public var holdTimeouts: UInt32
}

/// What a pending transition does next. C: `LP_PENDING_*`.
public struct PendingDecision: Equatable {
    public enum Action: Int32 {
        case wait = 0     // C: LP_PENDING_WAIT
        case reverse = 1  // C: LP_PENDING_REVERSE
        case force = 2    // C: LP_PENDING_FORCE
    }
    public var action: Action
    /// For `.wait`: check again within this many ns even if no thread
    /// reports progress (0: only when one does). A deadline uses it.
    public var recheckInNs: UInt64

    public static let wait = PendingDecision(action: .wait, recheckInNs: 0)
    public static let reverse = PendingDecision(action: .reverse, recheckInNs: 0)
    public static let force = PendingDecision(action: .force, recheckInNs: 0)
    public static func wait(recheckInNs: UInt64) -> PendingDecision {
        PendingDecision(action: .wait, recheckInNs: recheckInNs)
    }
}

/// A consistency model. The three declarations shape what the hooks do, so
/// they are read once, when the model is registered; `pending` runs on the
/// patcher's thread at each completion check that finds the transition
/// pending, with the patcher lock held: it must decide from `progress` and
/// return, not call back into the library.
public protocol ConsistencyModel {
    /// What is counted.
    var counts: CountedArea { get }
    /// What switches.
    var switches: SwitchUnit { get }
    /// When a unit may switch besides its own boundary.
    var switchPoints: SwitchPoints { get }
    /// How the threads inside the area are found (default: counting).
    var detector: Detector { get }
    /// What a pending transition does: wait (the default), reverse or force.
    func pending(_ progress: TransitionProgress) -> PendingDecision
}

extension ConsistencyModel {
    public var switchPoints: SwitchPoints { [] }
    public var detector: Detector { .counting }
    public func pending(_ progress: TransitionProgress) -> PendingDecision { .wait }
}

/// A model as the engine runs it: the declarations of whatever
/// ConsistencyModel it came from, and its pending-transition policy.
struct Model {
    let raw: lp_model_t
    let leave: UInt32
    let switchUnit: UInt32
    let flags: UInt32
    let pending: (TransitionProgress) -> PendingDecision

    init<M: ConsistencyModel>(_ model: M, raw: lp_model_t) {
        self.raw = raw
        leave = model.counts.rawValue
        switchUnit = model.switches.rawValue
        flags = model.switchPoints.rawValue | (model.detector == .stack ? LP_MODEL_F_STACK_CHECK : 0)
        pending = { model.pending($0) }
    }

    /// The built-in cell or preset, or the registered model, `raw` names.
    /// Patcher lock held (the registry of user models).
    init?(_ raw: lp_model_t) {
        if let cell = Cell(raw: raw) {
            self.init(cell, raw: raw)
        } else if let index = userModelIndex(raw) {
            self = patcher.userModels[index].model
        } else {
            return nil
        }
    }

    /// The switch unit the engine runs, after folding coinciding cells.
    var effectiveSwitch: UInt32 {
        if leave == LP_LEAVE_KERNEL.rawValue && switchUnit == LP_SWITCH_FUNCTION.rawValue {
            return LP_SWITCH_KERNEL.rawValue
        }
        return switchUnit
    }

    var countsNothing: Bool { leave == LP_LEAVE_FUNCTION.rawValue }
    var checksStacks: Bool { flags & LP_MODEL_F_STACK_CHECK != 0 }
    var countsPerFunction: Bool { Model.countsPerFunction(leave: leave, switchUnit: effectiveSwitch) }

    /// Whether the cell counts each function's own activations
    /// (PATCHED_SET x FUNCTION, Hooks/FunctionCounters.swift) instead of
    /// beginning area activations. One test of both words, with no branch
    /// on the first: the hooks ask it of the cell lps_global publishes
    /// (transitionCountsPerFunction).
    @inline(__always)
    static func countsPerFunction(leave: UInt32, switchUnit: UInt32) -> Bool {
        (leave ^ LP_LEAVE_PATCHED_SET.rawValue) | (switchUnit ^ LP_SWITCH_FUNCTION.rawValue) == 0
    }
}
