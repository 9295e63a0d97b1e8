import LivePatchEngine

/// A consistency model as a value: a preset, any cell of the leave x switch
/// matrix, or a model registered at run time. What `Patch` takes.
public struct Model: Hashable, Sendable, CustomStringConvertible {
    /// The C id (an `LP_MODEL_*` constant, `lp_model()`'s result, or a
    /// registered model's id).
    public let id: lp_model_t

    public init(id: lp_model_t) { self.id = id }

    /// The model of a cell (the presets are named cells). C: `lp_model`,
    /// `LP_MODEL_CELL`.
    public init(_ cell: Cell) { id = cell.id }

    /// One cell of the leave x switch matrix with optional extra switch points.
    public static func cell(_ counts: CountedArea, _ switches: SwitchUnit,
                            _ switchPoints: SwitchPoints = []) -> Model {
        Model(Cell(counts, switches, switchPoints))
    }

    /// C: `LP_MODEL_IMMEDIATE`.
    public static let immediate = Model(.immediate)
    /// C: `LP_MODEL_KGRAFT`.
    public static let kgraft = Model(.kgraft)
    /// C: `LP_MODEL_KPATCH`.
    public static let kpatch = Model(.kpatch)
    /// C: `LP_MODEL_UPSTREAM`.
    public static let upstream = Model(.upstream)
    /// C: `LP_MODEL_HIRAMATSU`.
    public static let hiramatsu = Model(.hiramatsu)
    /// C: `LP_MODEL_RENEW`.
    public static let renew = Model(.renew)
    /// C: `LP_MODEL_UPSTREAM_STACK`.
    public static let upstreamStack = Model(.upstreamStack)
    /// C: `LP_MODEL_KPATCH_STACK`.
    public static let kpatchStack = Model(.kpatchStack)

    /// Registers a user-defined model under `name` (unique, 1 to
    /// LP_MODEL_NAME_MAX - 1 bytes); its id lives as long as the process.
    /// Throws `.invalidArgument`, `.exists`, `.noMemory`. C: `lp_model_register`.
    public static func register<M: ConsistencyModel>(_ name: String, _ model: M) throws(LivePatchError) -> Model {
        Model(id: try registerModel(model, name: name))
    }

    /// What the engine knows about the model. Throws `.invalidArgument` for
    /// an id that names no model. C: `lp_model_describe`.
    public func describe() throws(LivePatchError) -> lp_model_info_t {
        var info = lp_model_info_t()
        try LivePatchError.check(lp_model_describe(id, &info))
        return info
    }

    /// "KGRAFT", "PATCHED_SET x THREAD", a registered name; "invalid" for an
    /// id that names no model.
    public var description: String {
        guard var info = try? describe() else { return "invalid" }
        return withUnsafeBytes(of: &info.name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
