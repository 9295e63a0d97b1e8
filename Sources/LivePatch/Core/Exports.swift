// Swift clients of the engine see the C ABI's types (lp_func_t, lp_model_t,
// the LP_* constants) as C clients see them in CInclude/livepatch/types.h,
// the bodies of its two opaque handles (lps_handles.h says why), and nothing
// else of the shim, which every file imports internally.
@_exported import CLivePatchABI
@_exported import CLivePatchHandles
