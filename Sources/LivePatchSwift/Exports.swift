// `import LivePatch` gives the Swift layer of this folder and, underneath,
// the engine: its Swift names (Cell, ConsistencyModel, LivePatchError) and
// the whole C ABI (lp_func_enter, lp_patch_create, ...), which keeps working
// beside the Swift names.
@_exported import LivePatchEngine
