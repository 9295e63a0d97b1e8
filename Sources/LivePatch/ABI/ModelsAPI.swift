internal import CLivePatchShim

// The C entry points of livepatch.h's section "models".

/// The model of one leave x switch cell; `LP_MODEL_INVALID` for values
/// outside the enums. C: `lp_model`.
@c public func lp_model(_ leave: lp_leave_t, _ sw: lp_switch_t) -> lp_model_t {
    guard let counts = CountedArea(rawValue: leave.rawValue), let switches = SwitchUnit(rawValue: sw.rawValue) else {
        return LP_MODEL_INVALID
    }
    return Cell(counts, switches).id
}

/// Registers a model defined by `ops` (copied; `ops->ctx` is passed back to
/// `ops->pending`). LP_MODEL_INVALID with errno EINVAL (NULL, bad enum or
/// flags, a detector the cell cannot use, empty or long name), EEXIST (name taken) or ENOMEM (full).
/// C: `lp_model_register`.
@c public func lp_model_register(_ ops: UnsafePointer<lp_model_ops_t>?) -> lp_model_t {
    guard let ops, let name = ops.pointee.name, let bytes = copyName(name),
          let counts = CountedArea(rawValue: ops.pointee.counts.rawValue),
          let switches = SwitchUnit(rawValue: ops.pointee.switches.rawValue),
          ops.pointee.switch_points & ~(SwitchPoints.all.rawValue | LP_MODEL_F_STACK_CHECK) == 0
    else {
        lps_sys_set_errno(-LPError.invalid)
        return LP_MODEL_INVALID
    }
    let model = ForeignModel(ops: ops.pointee, counts: counts, switches: switches,
                             switchPoints: SwitchPoints(rawValue: ops.pointee.switch_points & SwitchPoints.all.rawValue),
                             detector: ops.pointee.switch_points & LP_MODEL_F_STACK_CHECK != 0 ? .stack : .counting)
    do {
        return try registerModel(model, bytes: bytes)
    } catch {
        lps_sys_set_errno(-error.code)
        return LP_MODEL_INVALID
    }
}

/// What model `m` counts, what switches, its switch points (with
/// LP_MODEL_F_STACK_CHECK for the stack-checking detector) and its name
/// (a preset's, a cell's, or the name it was registered with). -EINVAL for
/// NULL `out` or an unknown model. C: `lp_model_describe`.
@c public func lp_model_describe(_ m: lp_model_t, _ out: UnsafeMutablePointer<lp_model_info_t>?) -> Int32 {
    guard let out else { return LPError.invalid }
    return withPatcherLock {
        guard let info = describeModel(m) else { return LPError.invalid }
        out.pointee = info
        return 0
    }
}
