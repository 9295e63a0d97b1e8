import Foundation

/// REPORT.md's section "Counting against stack checking": stackbench's
/// ratios per model, and what each detector cannot see.
extension ReportData {
    /// One cell: "1.06x [0.78-3.84]", or "-" where stackbench has none.
    private func spread(_ row: JSON, _ key: String) -> String {
        guard row[key].value is NSNumber else { return "-" }
        let r = Ratio(row, key)
        return String(format: "%.2fx [%.2f-%.2f]", r.median, r.low, r.high)
    }

    func stackCheckSection() -> String {
        let models = stackbench["models"].array
        let counts = models.first?["latency"].array.map { Int($0["threads"].double) } ?? []
        let rounds = Int(stackbench["reps"].double), bound = Int(stackbench["bound_ms"].double)
        var header = "| model | hook while pending, x at rest | hook x counting twin |"
        var rule = "| --- | ---: | ---: |"
        for n in counts {
            header += " latency x counting twin, \(n) thr |"
            rule += " ---: |"
        }
        header += " a sleeper inside the set |"
        rule += " --- |"
        let rows = models.map { m -> String in
            let twin = m["twin"].string
            var line = "| \(m["name"].string) | \(spread(m, "hook_pending_x_steady")) | "
                + (twin.isEmpty ? "(counting)" : spread(m, "hook_x_twin")) + " |"
            for cell in m["latency"].array {
                let timeouts = Int(cell["timeouts"].double)
                var text = twin.isEmpty ? "1 (reference)" : spread(cell, "x_twin")
                if timeouts > 0 { text += ", \(timeouts) of \(rounds) forced after \(bound) ms" }
                line += " \(text) |"
            }
            let sleeper = !m["sleeper_stalls"].bool ? "completes"
                : m["sleeper_named"].bool ? "stalls, named: \(m["sleeper_reason"].string)" : "stalls, not named"
            return line + " \(sleeper) |"
        }.joined(separator: "\n")
        return """
        ## Counting against stack checking (stackbench, same run)

        Each counting preset beside its stack-checking twin on one workload (Benchmarks/hooks/stackbench.c): \
        \(rounds) interleaved rounds, each measuring every model once; every figure is the median of \
        per-round ratios with its 95% interval, so a slow round cancels out. `hook while pending` is a \
        hooked call of a set function while a thread parked inside another keeps the transition pending, \
        against the same call with none in flight. `latency` is enable + wait with that many threads \
        calling the set, against the counting twin's in the same round (a transition that does not \
        complete within \(bound) ms is forced and counted).

        \(header)
        \(rule)
        \(rows)

        What each detector cannot see, one test each (Tests/unit/stack_blind_spots.c, run by scripts/test): \
        a thread is parked in the spot while a patch of the function is enabled. A miss breaks the \
        model's promise: for UPSTREAM and UPSTREAM_STACK old code runs in a thread already switched, \
        for KPATCH and KPATCH_STACK after the instant everything switched.

        | the thread is in | counting (UPSTREAM, KPATCH) | stack checking (UPSTREAM_STACK, KPATCH_STACK) |
        | --- | --- | --- |
        | a set function inlined into its caller, hooks in the inlined body | sees it | sees it (the hooked activation) |
        | the same, inlined without hooks | misses it | misses it: no frame |
        | an unhooked set function that tail-called onward | misses it | misses it: its frame is gone |
        | an unhooked set function, frame kept | misses it | sees it |
        | nothing: a set function stored a callback to old code and returned | misses it | misses it: the patch must migrate the state (a pre_patch callback, shadow variables) |

        """
    }
}
