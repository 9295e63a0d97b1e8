import CLivePatchShim

/// A consistency model decoded from `lp_model_t`: the area counted (leave),
/// the unit that switches, and the extras of the presets.
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
struct Model: Equatable {
    var leave: UInt32
    var switchUnit: UInt32
    var flags: UInt32

    static let extrasMask: UInt32 = LP_MODEL_F_KERNEL_EXIT_SWITCHES | LP_MODEL_F_ARM_AT_KERNEL_EXIT

    init?(_ raw: lp_model_t) {
        leave = raw & 0xf
        switchUnit = (raw >> 4) & 0xf
        flags = raw & 0xff00
        guard raw & ~UInt32(0xffff) == 0, leave <= LP_LEAVE_KERNEL.rawValue,
              switchUnit <= LP_SWITCH_KERNEL.rawValue, flags & ~Model.extrasMask == 0
        else { return nil }
    }

    var raw: lp_model_t { leave | switchUnit << 4 | flags }

    /// The switch unit the engine runs, after folding coinciding cells.
    var effectiveSwitch: UInt32 {
        if leave == LP_LEAVE_KERNEL.rawValue && switchUnit == LP_SWITCH_FUNCTION.rawValue {
            return LP_SWITCH_KERNEL.rawValue
        }
        return switchUnit
    }

    var countsNothing: Bool { leave == LP_LEAVE_FUNCTION.rawValue }
    var countsPerFunction: Bool {
        leave == LP_LEAVE_PATCHED_SET.rawValue && switchUnit == LP_SWITCH_FUNCTION.rawValue
    }
}

/// The model of one leave x switch cell; `LP_MODEL_INVALID` for values
/// outside the enums. C: `lp_model`.
@c public func lp_model(_ leave: lp_leave_t, _ sw: lp_switch_t) -> lp_model_t {
    guard leave.rawValue <= LP_LEAVE_KERNEL.rawValue, sw.rawValue <= LP_SWITCH_KERNEL.rawValue else {
        return LP_MODEL_INVALID
    }
    return leave.rawValue | sw.rawValue << 4
}
