import Foundation

/// REPORT.md's section "A real program": scripts/bench-real-program's
/// per-round CPU ratios.
extension ReportData {
    func realProgramSection() -> String {
        func span(_ key: String, digits: Int = 2) -> String {
            let r = realProgram[key]
            let f = "%.\(digits)f"
            return String(format: "\(f)x [\(f)-\(f)]", r["median"].double, r["lo"].double, r["hi"].double)
        }
        let together = realProgram["pads_concurrent"].bool
            ? "both running at the same moment, one on each of two CPUs (swapped every round)"
            : "alternating on one CPU"
        return """
        ## A real program (scripts/bench-real-program, same run)

        pigz 2.8, built four ways from the same sources. Each figure is the median of per-round CPU-time \
        ratios [95% interval]; the builds' outputs are byte-identical.

        The hooks: pigz -11 (Zopfli: its hot loops are about a hundred small C functions) compressing \
        \(Int(realProgram["kib"].double)) KiB with two threads, \(Int(realProgram["rounds"].double)) rounds \
        (each runs every build once, in a rotating order).

        | builds | CPU ratio |
        | --- | ---: |
        | `-finstrument-functions`, every function registered with liblivepatch / with glibc's no-op hooks | \(span("lp_x_noop")) |
        | no-op hooks / no instrumentation | \(span("noop_x_plain")) |

        The pads: `-fpatchable-function-entry=5`, unpatched, against no pads, one thread each, \(together), \
        \(Int(realProgram["pad_rounds"].double)) rounds.

        | workload | CPU ratio |
        | --- | ---: |
        | pigz -6 (its default level), 4 MiB | \(span("pads_x_plain", digits: 3)) |
        | pigz -11 over 32 KiB, the worst case: a padded call every ~90 instructions | \(span("pads_x_plain_zopfli", digits: 3)) |
        | no pads / no pads at -6: the method's own bias and spread | \(span("plain_x_plain", digits: 3)) |

        """
    }
}
