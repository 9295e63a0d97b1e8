internal import CLivePatchShim

// Models registered at run time, from Swift (any ConsistencyModel) or from C
// (lp_model_ops_t), and the description of any model. Guarded by the
// patcher lock; entries are never removed, so a model id stays valid for the
// life of the process and patches created with it need no reference count.

struct UserModel {
    let name: [UInt8]
    let model: Model
}


/// The registry index of a user model id, if it names one.
func userModelIndex(_ raw: lp_model_t) -> Int? {
    guard raw >= LP_MODEL_USER_BASE, raw != LP_MODEL_INVALID else { return nil }
    let index = Int(raw - LP_MODEL_USER_BASE)
    return index < patcher.userModels.count ? index : nil
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
        let raw = LP_MODEL_USER_BASE + UInt32(patcher.userModels.count)
        patcher.userModels.append(UserModel(name: bytes, model: Model(model, raw: raw)))
        return (raw, 0)
    }
    if result.error != 0 { throw LivePatchError(code: result.error) }
    return result.model
}

/// Nil if `bytes` may name a new model, else the errno. Patcher lock held.
func checkModelName(_ bytes: [UInt8]) -> Int32? {
    if bytes.isEmpty || bytes.count >= Int(LP_MODEL_NAME_MAX) || bytes.contains(0) { return LPError.invalid }
    if patcher.userModels.contains(where: { $0.name == bytes }) || builtinModelNames.contains(where: { $0.name == bytes }) {
        return LPError.exists
    }
    if patcher.userModels.count >= Int(LP_MAX_USER_MODELS) { return LPError.noMemory }
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
