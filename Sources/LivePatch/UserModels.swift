internal import CLivePatchShim

// Models registered at run time, from Swift (any ConsistencyModel) or from C
// (lp_model_ops_t), and the description of any model. Guarded by the
// patcher lock; entries are never removed, so a model id stays valid for the
// life of the process and patches created with it need no reference count.

struct UserModel {
    let name: [UInt8]
    let model: Model
}

@exclusivity(unchecked) nonisolated(unsafe) var userModels: [UserModel] = []

/// The registry index of a user model id, if it names one.
func userModelIndex(_ raw: lp_model_t) -> Int? {
    guard raw >= LP_MODEL_USER_BASE, raw != LP_MODEL_INVALID else { return nil }
    let index = Int(raw - LP_MODEL_USER_BASE)
    return index < userModels.count ? index : nil
}

/// An error from the Swift API, as the negative errno the C API returns.
public struct LivePatchError: Error, Equatable {
    /// A negative errno (`-EEXIST`, ...); lp_strerror names it.
    public let code: Int32
    public init(code: Int32) { self.code = code }
}

/// Registers `model` under `name` (at most LP_MODEL_NAME_MAX - 1 bytes,
/// unique among registered models) and returns the id to pass to
/// lp_patch_create. Errors: -EINVAL (empty or long name), -EEXIST (name
/// taken), -ENOMEM (LP_MAX_USER_MODELS reached). C: `lp_model_register`.
public func registerModel<M: ConsistencyModel>(_ model: M, name: String) throws(LivePatchError) -> lp_model_t {
    try registerModel(model, bytes: Array(name.utf8))
}

/// registerModel under a name given as bytes, as C gives it (not text: no
/// byte is replaced).
func registerModel<M: ConsistencyModel>(_ model: M, bytes: [UInt8]) throws(LivePatchError) -> lp_model_t {
    let result = withPatcherLock { () -> (model: lp_model_t, error: Int32) in
        if !detectorFits(model.detector, model.counts, model.switches) { return (LP_MODEL_INVALID, LPError.invalid) }
        if let e = checkModelName(bytes) { return (LP_MODEL_INVALID, e) }
        let raw = LP_MODEL_USER_BASE + UInt32(userModels.count)
        userModels.append(UserModel(name: bytes, model: Model(model, raw: raw)))
        return (raw, 0)
    }
    if result.error != 0 { throw LivePatchError(code: result.error) }
    return result.model
}

/// Nil if `bytes` may name a new model, else the errno. Patcher lock held.
func checkModelName(_ bytes: [UInt8]) -> Int32? {
    if bytes.isEmpty || bytes.count >= Int(LP_MODEL_NAME_MAX) || bytes.contains(0) { return LPError.invalid }
    if userModels.contains(where: { $0.name == bytes }) || builtinModelNames.contains(where: { $0.name == bytes }) {
        return LPError.exists
    }
    if userModels.count >= Int(LP_MAX_USER_MODELS) { return LPError.noMemory }
    return nil
}

/// A model defined in C: the ops struct, called through its function pointer.
struct ForeignModel: ConsistencyModel {
    let ops: lp_model_ops_t
    let counts: CountedArea
    let switches: SwitchUnit
    let switchPoints: SwitchPoints
    let detector: Detector

    func pending(_ progress: TransitionProgress) -> PendingDecision {
        guard let decide = ops.pending else { return .wait }
        var c = lp_transition_progress_t()
        c.patch = progress.patch
        c.patching = progress.patching ? 1 : 0
        c.enabling = progress.enabling ? 1 : 0
        c.elapsed_ns = progress.elapsedNs
        c.checks = progress.checks
        c.pending_threads = progress.pendingThreads
        c.pending_functions = progress.pendingFunctions
        c.reversals = progress.reversals
        c.hold_timeouts = progress.holdTimeouts
        var recheck: UInt64 = 0
        // An answer outside LP_PENDING_* is taken as "wait" (documented).
        let action = PendingDecision.Action(rawValue: decide(&c, &recheck, ops.ctx)) ?? .wait
        return PendingDecision(action: action, recheckInNs: action == .wait ? recheck : 0)
    }
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

let builtinModelNames: [(model: lp_model_t, name: [UInt8])] = [
    (Cell.immediate.id, Array("IMMEDIATE".utf8)), (Cell.kgraft.id, Array("KGRAFT".utf8)),
    (Cell.kpatch.id, Array("KPATCH".utf8)), (Cell.upstream.id, Array("UPSTREAM".utf8)),
    (Cell.hiramatsu.id, Array("HIRAMATSU".utf8)), (Cell.renew.id, Array("RENEW".utf8)),
    (Cell.upstreamStack.id, Array("UPSTREAM_STACK".utf8)), (Cell.kpatchStack.id, Array("KPATCH_STACK".utf8)),
]

/// The name of a built-in model: its preset's, else "LEAVE x SWITCH" with
/// any extra switch points appended ("+kernel-exit", "+arm-at-kernel-exit")
/// and "+stack" for the stack-checking detector.
func builtinName(_ cell: Cell) -> [UInt8] {
    if let preset = builtinModelNames.first(where: { $0.model == cell.id }) { return preset.name }
    var name = LogLine() // the engine's byte-string builder
    name.text(cell.counts.name)
    name.text(" x ")
    name.text(cell.switches.name)
    if cell.switchPoints.contains(.kernelExit) { name.text("+kernel-exit") }
    if cell.switchPoints.contains(.armAtKernelExit) { name.text("+arm-at-kernel-exit") }
    if cell.detector == .stack { name.text("+stack") }
    return name.bytes
}

/// What model `m` counts, what switches, its switch points (with
/// LP_MODEL_F_STACK_CHECK for the stack-checking detector) and its name
/// (a preset's, a cell's, or the name it was registered with). -EINVAL for
/// NULL `out` or an unknown model. C: `lp_model_describe`.
@c public func lp_model_describe(_ m: lp_model_t, _ out: UnsafeMutablePointer<lp_model_info_t>?) -> Int32 {
    guard let out else { return LPError.invalid }
    return withPatcherLock {
        var info = lp_model_info_t()
        let model: Model
        if let cell = Cell(raw: m) {
            copyBytes(builtinName(cell), into: &info.name)
            model = Model(cell, raw: m)
        } else if let index = userModelIndex(m) {
            info.user = 1
            copyBytes(userModels[index].name, into: &info.name)
            model = userModels[index].model
        } else {
            return LPError.invalid
        }
        info.counts = lp_leave_t(rawValue: model.leave)
        info.switches = lp_switch_t(rawValue: model.switchUnit)
        info.switch_points = model.flags
        out.pointee = info
        return 0
    }
}
