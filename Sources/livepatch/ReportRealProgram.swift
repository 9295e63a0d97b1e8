import Foundation

/// REPORT.md's section "A real program": scripts/bench-real-program's
/// per-round CPU ratios.
extension ReportData {
    func realProgramSection() -> String {
        func span(_ key: String, digits: Int = 2) -> String {
            let r = realProgram[key]
            let f = "%.\(digits)f"
            return String(format: "\(f)x [\(f)-\(f)]", r["median"].double, r["min"].double, r["max"].double)
        }
        return """
        ## A real program (scripts/bench-real-program, same run)

        pigz 2.8 -11 (Zopfli: its hot loops are about a hundred small C functions) compressing \
        \(Int(realProgram["kib"].double)) KiB with two threads, built four ways from the same sources, \
        \(Int(realProgram["rounds"].double)) paired rounds (each runs every build once, in a rotating order). \
        Each figure is the median of per-round CPU-time ratios [min-max]; the outputs are byte-identical.

        | builds | CPU ratio |
        | --- | ---: |
        | `-finstrument-functions`, every function registered with liblivepatch / with glibc's no-op hooks | \(span("lp_x_noop")) |
        | no-op hooks / no instrumentation | \(span("noop_x_plain")) |
        | `-fpatchable-function-entry=5`, unpatched / no pads | \(span("pads_x_plain", digits: 3)) |

        """
    }
}
