import Foundation

/// REPORT.md's section "User-space ftrace": ftracebench's ratios.
extension ReportData {
    func ftraceSection() -> String {
        let ns = ftracebench["ns_best"]
        func cell(_ key: String) -> String { String(format: "%.2f", ns[key].double) }
        return """
        ## User-space ftrace (ftracebench, same run)

        \(Int(ftracebench["reps"].double)) rounds of \(Int(ftracebench["calls"].double)) calls per loop \
        (Benchmarks/hooks/ftracebench.c); each round runs the four loops back to back, and each ratio is \
        the median of per-round ratios [95% CI]. `ns/call` is the best round's. A pad function is \
        compiled with `-fpatchable-function-entry=5`; patched, its pad jumps to the trampoline, which \
        runs the entry hook, calls the implementation and hooks its return (docs/FTRACE.md).

        | call | ns/call | ratio [95% CI] |
        | --- | ---: | ---: |
        | direct, no pad | \(cell("plain")) | |
        | direct, pad disarmed (NOPs) | \(cell("padded")) | \(Ratio(ftracebench, "pad_x_plain").text) the call without a pad |
        | hook pair: `lp_func_enter`, a call through its pointer, `lp_func_exit` | \(cell("hooks")) | |
        | patched, through the trampoline | \(cell("patched")) | \(Ratio(ftracebench, "trampoline_x_hooks").text) the hook pair; \(Ratio(ftracebench, "trampoline_x_direct").text) the direct call |

        """
    }
}
