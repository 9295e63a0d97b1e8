// Swift clients of the LivePatch module see the C ABI's types (lp_func_t,
// lp_model_t, the LP_* constants) the way C clients see them in
// CInclude/livepatch/types.h, which the shim's header includes.
@_exported import CLivePatchShim
