internal import CLivePatchShim

// Swift's views of the shim's records (lps_records.h): typed pointers, the
// static tables' bases, and the universe and epoch constants they hold.

/// The universes of a transition: where it started from, and where it heads.
let universeOld: UInt32 = 0

let universeNew: UInt32 = 1

/// fepoch/kepoch between an outermost entry's announcement and its read of
/// the epoch: a scan that sees it looks again shortly.
let epochUnknown = UInt64.max

typealias ThreadRecord = UnsafeMutablePointer<lps_thread_rec_t>

typealias FunctionRecord = UnsafeMutablePointer<lp_func_t>

let functionTableBase: FunctionRecord = lps_func_table_base()

func functionRecord(_ index: UInt32) -> FunctionRecord { functionTableBase + Int(index) }

let patchTableBase: UnsafeMutablePointer<lp_patch_t> = lps_patch_table_base()

/// a + b, or UInt64.max where that overflows: deadlines from huge timeouts.
func saturatingAdd(_ a: UInt64, _ b: UInt64) -> UInt64 {
    let (sum, overflow) = a.addingReportingOverflow(b)
    return overflow ? UInt64.max : sum
}
