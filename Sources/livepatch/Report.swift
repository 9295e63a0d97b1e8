import ArgumentParser
import CLivePatchTorture
import Foundation

/// The main job: every preset side by side. Hook cost and transition
/// latency come from the hook benchmark (Benchmarks/, run as a separate
/// program so that it measures the runtime-free static library a C program
/// links); violations, stalls and latency under a mixed workload come from
/// the torture harness, run in this process.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare the consistency models: hook cost, transition latency, stalls, violations.",
        discussion: """
        Writes REPORT.md, transition-latency.svg and hook-cost.svg into --out, and the raw \
        JSON of both runs beside them. `bash scripts/livepatch report` builds the benchmark first.
        """
    )

    @Option(help: "Torture threads.") var threads = 256
    @Option(help: "Torture seconds.") var duration = 45.0
    @Option(help: "Presets or cells, comma-separated (as livepatch torture --models).")
    var models = "IMMEDIATE,KGRAFT,KPATCH,UPSTREAM,HIRAMATSU,RENEW"
    @Option(help: "Busy-thread counts for the transition-latency curve.") var latencyThreads = "16,64,256"
    @Option(help: "The hook benchmark built against liblivepatch.a.") var bench = ".build-bench/hookbench-static"
    @Option(help: "Directory for the report.") var out = "report"
    @Flag(help: "No progress bar.") var noProgress = false

    func run() throws {
        let progress = Progress(enabled: !noProgress && isatty(STDERR_FILENO) != 0, phases: 3)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let benchJSON = "\(out)/hookbench.json", tortureJSON = "\(out)/torture.json"

        progress.phase(1, "hook cost and transition latency (hookbench)")
        guard FileManager.default.isExecutableFile(atPath: bench) else {
            throw ValidationError("no benchmark at \(bench): run `bash scripts/livepatch report`, which builds it")
        }
        let benchRun = Process()
        benchRun.executableURL = URL(fileURLWithPath: bench)
        benchRun.arguments = ["--quick", "--sections", "hooks,latency", "--lat-threads", latencyThreads, "--json", benchJSON]
        FileManager.default.createFile(atPath: "\(out)/hookbench.log", contents: nil)
        benchRun.standardOutput = FileHandle(forWritingAtPath: "\(out)/hookbench.log")
        try benchRun.run()
        benchRun.waitUntilExit()
        guard benchRun.terminationStatus == 0 else { throw ValidationError("hookbench failed; see \(out)/hookbench.log") }

        progress.phase(2, "torture: \(threads) threads for \(Int(duration)) s")
        var args = ["--threads", "\(threads)", "--duration", "\(duration)", "--models", models, "--json", tortureJSON]
        if !progress.enabled { args.append("--no-progress") }
        let tortureLog = "\(out)/torture.log"
        let tortureStatus = withStdout(redirectedTo: tortureLog) { runC(lp_torture_main, name: "livepatch torture", args) }

        progress.phase(3, "writing \(out)/REPORT.md")
        let hookbench = try JSON(path: benchJSON), torture = try JSON(path: tortureJSON)
        let summary = ReportData(hookbench: hookbench, torture: torture)
        try summary.latencyPlot().write(toFile: "\(out)/transition-latency.svg", atomically: true, encoding: .utf8)
        try summary.hookPlot().write(toFile: "\(out)/hook-cost.svg", atomically: true, encoding: .utf8)
        let table = summary.table()
        try summary.markdown(table: table, command: CommandLine.arguments.joined(separator: " "))
            .write(toFile: "\(out)/REPORT.md", atomically: true, encoding: .utf8)
        progress.done()
        print(table)
        for line in summary.targets { print(line) }
        print("\nreport: \(out)/REPORT.md (plots: transition-latency.svg, hook-cost.svg)")
        let violations = summary.totalViolations
        print("torture violations: \(violations)")
        if tortureStatus != 0 || violations != 0 { throw ExitCode(1) }
    }
}

/// A phase bar on stderr when it is a terminal.
struct Progress {
    let enabled: Bool
    let phases: Int

    func phase(_ n: Int, _ what: String) {
        guard enabled else { return }
        let filled = 30 * (n - 1) / phases
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: 30 - filled)
        FileHandle.standardError.write("\r\u{1b}[K[\(bar)] \(n)/\(phases) \(what)\n".data(using: .utf8)!)
    }

    func done() {
        guard enabled else { return }
        FileHandle.standardError.write("\r\u{1b}[K[\(String(repeating: "#", count: 30))] done\n".data(using: .utf8)!)
    }
}

/// Runs `body` with the C stdout going to a file (the harness prints its
/// own tables; the report prints the summary).
func withStdout(redirectedTo path: String, _ body: () -> Int32) -> Int32 {
    fflush(stdout)
    let saved = dup(STDOUT_FILENO)
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    dup2(fd, STDOUT_FILENO)
    close(fd)
    let status = body()
    fflush(stdout)
    dup2(saved, STDOUT_FILENO)
    close(saved)
    return status
}

/// A thin reader over JSONSerialization's output.
struct JSON {
    let value: Any

    init(_ value: Any) { self.value = value }

    init(path: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        value = try JSONSerialization.jsonObject(with: data)
    }

    subscript(key: String) -> JSON { JSON((value as? [String: Any])?[key] ?? NSNull()) }
    var array: [JSON] { (value as? [Any])?.map(JSON.init) ?? [] }
    var double: Double { (value as? NSNumber)?.doubleValue ?? 0 }
    var string: String { value as? String ?? "" }
    var bool: Bool { (value as? NSNumber)?.boolValue ?? false }
}

/// What the report shows, read from the two JSON files.
struct ReportData {
    let hookbench: JSON
    let torture: JSON

    var presets: [String] { torture["models"].array.map { $0["name"].string } }

    /// ns per hook pair and ratio to the floor, by hookbench key.
    var hooks: [(key: String, label: String, ns: Double, ratio: Double, hook: Bool)] {
        hookbench["hooks"].array.map {
            ($0["key"].string, $0["label"].string, $0["ns_per_pair"].double, $0["ratio_floor"].double, $0["hook"].bool)
        }
    }

    func latency(_ item: String) -> [(x: Double, y: Double)] {
        hookbench["latency"].array.filter { $0["item"].string == item }
            .map { ($0["threads"].double, $0["enable_wait_ns"].double / 1e6) }
            .sorted { $0.x < $1.x }
    }

    var targets: [String] {
        hookbench["targets"].array.map { "\($0["status"].string): \($0["text"].string)" }
    }

    var totalViolations: Int {
        torture["models"].array.reduce(0) { sum, m in
            let v = m["violations"]
            return sum + ["I0", "I1", "I2", "I3", "poison", "counts"].reduce(0) { $0 + Int(v[$1].double) }
        }
    }

    /// The hook pair measured during a transition of `preset`, if hookbench has it.
    func duringTransition(_ preset: String) -> (ns: Double, ratio: Double)? {
        hooks.first { $0.hook && $0.label.localizedCaseInsensitiveContains(preset) }.map { ($0.ns, $0.ratio) }
    }

    func table() -> String {
        let threads = Set(hookbench["latency"].array.map { Int($0["threads"].double) }).sorted()
        func pad(_ s: String, _ n: Int, left: Bool = false) -> String {
            let fill = String(repeating: " ", count: max(0, n - s.count))
            return left ? s + fill : fill + s
        }
        var header = pad("model", 11, left: true) + " " + pad("hook x floor", 12)
        for t in threads { header += " " + pad("lat@\(t)", 9) }
        header += [("trans", 8), ("med_ms", 8), ("p99_ms", 8), ("stalls", 6), ("violations", 10)].map { " " + pad($0.0, $0.1) }.joined()
        var lines = [header]
        let rcu = latency("synchronize_rcu")
        var rcuLine = pad("rcu (ref.)", 11, left: true) + " " + pad("-", 12)
        for t in threads {
            let v = rcu.first { Int($0.x) == t }?.y ?? 0
            rcuLine += String(format: " %9.3f", v)
        }
        for m in torture["models"].array {
            let name = m["name"].string
            var line = pad(name, 11, left: true) + " " + pad(duringTransition(name).map { String(format: "%.2f", $0.ratio) } ?? "-", 12)
            let curve = latency(name)
            for t in threads {
                let v = curve.first { Int($0.x) == t }?.y
                line += " " + pad(v.map { String(format: "%.3f", $0) } ?? "-", 9)
            }
            let v = m["violations"]
            let violations = ["I0", "I1", "I2", "I3", "poison", "counts"].reduce(0) { $0 + Int(v[$1].double) }
            line += String(format: " %8d %8.3f %8.3f %6d %10d", Int(m["transitions"].double), m["median_ns"].double / 1e6,
                           m["p99_ns"].double / 1e6, Int(m["stalls"].double), violations)
            lines.append(line)
        }
        lines.append(rcuLine)
        return lines.joined(separator: "\n")
    }

    func latencyPlot() -> String {
        var series = presets.map { SVGPlot.Series(name: $0, points: latency($0)) }.filter { !$0.points.isEmpty }
        series.append(SVGPlot.Series(name: "synchronize_rcu", points: latency("synchronize_rcu")))
        return SVGPlot.logLines(title: "Transition latency (enable + wait) under busy threads",
                                xLabel: "busy threads", yLabel: "milliseconds (median)", series: series)
    }

    func hookPlot() -> String {
        SVGPlot.bars(title: "Hook pair cost, as a ratio to the floor", xLabel: "ratio to the floor (lower is better)",
                     items: hooks.filter { $0.key != "empty" }.map { ($0.label, $0.ratio) }, reference: 1)
    }

    func markdown(table: String, command: String) -> String {
        let hookRows = hooks.map { "| \($0.label) | " + String(format: "%.2f | %.2f |", $0.ns, $0.ratio) }.joined(separator: "\n")
        return """
        # Consistency-model report

        Command: `\(command)`. Torture: \(Int(torture["threads"].double)) threads, \
        \(String(format: "%.0f", torture["duration_s"].double)) s, seed \(Int(torture["seed"].double)); \
        hookbench on \(Int(hookbench["nproc"].double)) CPUs. Latencies are medians in milliseconds; \
        `lat@N` is enable + wait with N busy threads (hookbench), `med_ms`/`p99_ms` the torture's \
        transitions under its mixed workload; `hook x floor` is the hook pair during a transition of \
        that model, as a ratio to the floor (two non-inlined calls that increment TLS).

        ```
        \(table)
        ```

        ![transition latency](transition-latency.svg)

        ![hook cost](hook-cost.svg)

        ## Hook pairs (hookbench, same run)

        | pair | ns | ratio to floor |
        | --- | ---: | ---: |
        \(hookRows)

        ## DESIGN.md section 6 targets

        \(targets.map { "- \($0)" }.joined(separator: "\n"))

        Torture violations (must be 0): \(totalViolations). Raw figures: `hookbench.json`, `torture.json`.

        """
    }
}
