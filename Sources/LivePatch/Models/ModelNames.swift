internal import CLivePatchShim

// Model names, in one place: the presets' names, a cell's "LEAVE x SWITCH"
// form, and describeModel() (lp_model_describe), which the CLI, the
// status JSON and the Swift API all use.

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

/// What lp_model_describe() reports of `m`: its name (a preset's, a cell's,
/// or the name it was registered with), what it counts, what switches and
/// its switch points; nil for an unknown model. Patcher lock held (user
/// models are registered under it).
func describeModel(_ m: lp_model_t) -> lp_model_info_t? {
    var info = lp_model_info_t()
    let model: Model
    if let cell = Cell(raw: m) {
        copyBytes(builtinName(cell), into: &info.name)
        model = Model(cell, raw: m)
    } else if let index = userModelIndex(m) {
        info.user = 1
        copyBytes(patcher.userModels[index].name, into: &info.name)
        model = patcher.userModels[index].model
    } else {
        return nil
    }
    info.counts = lp_leave_t(rawValue: model.leave)
    info.switches = lp_switch_t(rawValue: model.switchUnit)
    info.switch_points = model.flags
    return info
}
