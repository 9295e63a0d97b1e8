import ArgumentParser
import CLivePatchTorture
import Foundation

/// The main job: every preset side by side. Hook cost and transition
/// latency come from the hook benchmark (Benchmarks/, run as a separate
/// program so that it measures the runtime-free static library a C program
/// links), counting against stack checking from stackbench, likewise;
/// violations, stalls and latency under a mixed workload come from the
/// torture harness, run in this process.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare the consistency models: hook cost, transition latency, stalls, violations.",
        discussion: """
        Writes REPORT.md, transition-latency.svg and hook-cost.svg into --out, and the raw \
        JSON of the runs beside them. The hook benchmark and stackbench are C programs linked \
        against liblivepatch.a; the first report builds them (scripts/bench --build-only, in the \
        package this CLI was built from), later ones reuse them.
        """
    )

    @Option(help: "Torture threads.") var threads = 256
    @Option(help: "Torture seconds.") var duration = 45.0
    @Option(help: "Presets or cells, comma-separated (as livepatch torture --models).")
    var models = "IMMEDIATE,KGRAFT,KPATCH,UPSTREAM,HIRAMATSU,RENEW"
    @Option(help: "Busy-thread counts for the transition-latency curve.") var latencyThreads = "16,64,256"
    @Option(help: "The hook benchmark built against liblivepatch.a (default: the package's, built on first use).")
    var bench: String?
    @Option(help: "Directory for the report.") var out = "report"
    @Flag(help: "No progress bar.") var noProgress = false

    /// Rounds of the single-thread pairs, 10 ms each (about 10 s in all).
    /// On the loaded 2-core machine, three runs of 5 or 21 rounds gave the
    /// plain hook pair medians as far apart as 2.0x and 7.6x; 41 rounds kept
    /// them within 2.5x-3.5x, each with a 95% interval about +-20% wide
    /// (Benchmarks/README.md, "Method": interleaved rounds).
    static let hookRounds = 41
    /// Rounds of each transition-latency cell (a round is a few ms; 41 take
    /// about 3 s). With hookbench's --quick 5, the interval is the min-max,
    /// and one slow round at 256 threads made KPATCH's line UNSURE
    /// (0.48x [0.33-3.43]); three runs of 41 gave it 1.73x [1.31-2.15],
    /// 1.13x [0.83-1.62] and 0.55x [0.41-1.31].
    static let latencyRounds = 41
    /// stackbench's interleaved rounds (each measures the four models once)
    /// and its caller counts: 9 rounds give a 95% interval from the 2nd and
    /// 8th ratios; the whole run takes under a minute on 2 loaded cores.
    static let stackRounds = 9
    static let stackThreads = "1,16,64"
    /// ftracebench's calls per loop: 20 million (27 ms for the direct call).
    /// With its default 5 million, a loaded moment of a few milliseconds
    /// moved the disarmed pad's 1% ratio by several percent.
    static let ftraceCalls = 20_000_000
    /// ftracebench's rounds (each runs its four loops once, about 0.35 s):
    /// 41 instead of its default 21 narrow the 95% interval from the 6th
    /// and 16th of the ratios to the 14th and 28th; a fresh-clone report
    /// with 21 read the disarmed pad 1.00x [1.00-1.03], UNSURE.
    static let ftraceRounds = 41
    /// The real program's rounds and input for the hooks (scripts/bench-real-program):
    /// pigz -11 over 256 KiB runs about a second per build and round. Its
    /// pads' rounds (61, its default) add about 80 s.
    static let realRounds = 7
    static let realKiB = 256

    func run() throws {
        let progress = Progress(enabled: !noProgress && isatty(STDERR_FILENO) != 0, phases: 7)
        let package = Package()
        let bench = try bench ?? package.benchmark("hookbench-static")
        guard FileManager.default.isExecutableFile(atPath: bench) else { throw ReportError("no benchmark at \(bench)") }
        let stackbench = try package.benchmark("stackbench"), ftracebench = try package.benchmark("ftracebench")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let benchJSON = "\(out)/hookbench.json", tortureJSON = "\(out)/torture.json", countJSON = "\(out)/instructions.json"
        let stackJSON = "\(out)/stackbench.json", ftraceJSON = "\(out)/ftracebench.json"
        let realJSON = "\(out)/real-program.json"
        let started = Date()

        progress.phase(1, "hook cost and transition latency (hookbench, about 30 s)")
        try runLogged(bench, ["--quick", "--reps", "\(Report.hookRounds)", "--sections", "hooks,funcs,latency",
                              "--lat-reps", "\(Report.latencyRounds)", "--lat-threads", latencyThreads, "--json", benchJSON], log: "\(out)/hookbench.log")

        progress.phase(2, "instructions per pair (callgrind)")
        let counted = (try? runLogged(package.script("count-instructions"), ["--bin", bench, "--json", countJSON],
                                      log: "\(out)/instructions.log")) != nil
            && FileManager.default.fileExists(atPath: countJSON)

        progress.phase(3, "counting against stack checking (stackbench, under a minute)")
        try runLogged(stackbench, ["--reps", "\(Report.stackRounds)", "--threads", Report.stackThreads, "--json", stackJSON],
                      log: "\(out)/stackbench.log")

        progress.phase(4, "user-space ftrace (ftracebench, about 15 s)")
        try runLogged(ftracebench, ["--calls", "\(Report.ftraceCalls)", "--reps", "\(Report.ftraceRounds)",
                                    "--json", ftraceJSON], log: "\(out)/ftracebench.log")

        progress.phase(5, "a real program: pigz with hooks and with pads (about 3 minutes)")
        try runLogged(package.script("bench-real-program"),
                      ["--rounds", "\(Report.realRounds)", "--kib", "\(Report.realKiB)", "--json", realJSON],
                      log: "\(out)/real-program.log")

        progress.phase(6, "torture: \(threads) threads for \(Int(duration)) s")
        var args = ["--threads", "\(threads)", "--duration", "\(duration)", "--models", models, "--json", tortureJSON]
        if !progress.enabled { args.append("--no-progress") }
        let tortureLog = "\(out)/torture.log"
        let tortureStatus = withStdout(redirectedTo: tortureLog) { runC(lp_torture_main, name: "livepatch torture", args) }

        progress.phase(7, "writing \(out)/REPORT.md")
        let summary = ReportData(hookbench: try JSON(path: benchJSON), stackbench: try JSON(path: stackJSON),
                                 ftracebench: try JSON(path: ftraceJSON), realProgram: try JSON(path: realJSON),
                                 torture: try JSON(path: tortureJSON),
                                 instructions: counted ? try JSON(path: countJSON) : JSON([String: Any]()),
                                 context: package.context(started: started))
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

/// A failure of the report's own work: printed as "Error: ...", with no usage
/// (the arguments were fine).
struct ReportError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs a program with its stdout in `log`; throws when it fails.
@discardableResult
func runLogged(_ path: String, _ arguments: [String], log: String) throws -> Int32 {
    let run = Process()
    run.executableURL = URL(fileURLWithPath: path)
    run.arguments = arguments
    _ = FileManager.default.createFile(atPath: log, contents: nil)
    run.standardOutput = FileHandle(forWritingAtPath: log)
    try run.run()
    run.waitUntilExit()
    guard run.terminationStatus == 0 else { throw ReportError("\(path) failed; see \(log)") }
    return run.terminationStatus
}

/// The source package this CLI was built from: where its scripts and its
/// benchmark build live, whatever the current directory.
struct Package {
    /// Sources/livepatch/Report.swift -> the package root.
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    func script(_ name: String) -> String { "\(root)/scripts/\(name)" }

    /// A benchmark of .build-bench (hookbench-static, stackbench), built with
    /// the others by scripts/bench on first use with its progress on stderr
    /// (about 2 minutes: the Embedded Swift library first).
    func benchmark(_ name: String) throws -> String {
        let path = "\(root)/.build-bench/\(name)"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
        guard FileManager.default.fileExists(atPath: script("bench")) else {
            throw ReportError("no \(name): \(root) is no longer the package this CLI was built from; pass --bench")
        }
        FileHandle.standardError.write("building the benchmarks (first run, about 2 minutes)\n".data(using: .utf8)!)
        let build = Process()
        build.executableURL = URL(fileURLWithPath: script("bench"))
        build.arguments = ["--build-only"]
        build.standardOutput = FileHandle.standardError
        try build.run()
        build.waitUntilExit()
        guard build.terminationStatus == 0 else { throw ReportError("building the benchmarks failed (above)") }
        return path
    }

    /// Commit and date of the run, for the report's header.
    func context(started: Date) -> [String: String] {
        let git = Process(), pipe = Pipe()
        git.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        git.arguments = ["git", "-C", root, "describe", "--always", "--dirty", "--abbrev=12"]
        git.standardOutput = pipe
        git.standardError = FileHandle.nullDevice
        var commit = "unknown"
        if (try? git.run()) != nil {
            git.waitUntilExit()
            let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            if git.terminationStatus == 0 { commit = text.trimmingCharacters(in: .whitespacesAndNewlines) }
        }
        let date = ISO8601DateFormatter().string(from: started)
        return ["commit": commit, "date": date]
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

/// A median of per-round ratios with its 95% confidence interval.
struct Ratio {
    let median: Double, low: Double, high: Double

    init(_ row: JSON, _ key: String) {
        median = row[key].double
        let ci = row["\(key)_ci95"].array
        low = ci.first?.double ?? median
        high = ci.last?.double ?? median
    }

    /// "3.19 [3.05-3.40]"
    var text: String { String(format: "%.2f [%.2f-%.2f]", median, low, high) }
}

/// What the report shows, read from the JSON files of hookbench, the
/// torture harness and scripts/count-instructions.
struct ReportData {
    let hookbench: JSON
    let stackbench: JSON
    let ftracebench: JSON
    let realProgram: JSON
    let torture: JSON
    let instructions: JSON
    let context: [String: String]

    var presets: [String] { torture["models"].array.map { $0["name"].string } }

    /// The single-thread pairs: ns per pair, ratio to the floor, by hookbench key.
    var hooks: [(key: String, label: String, ns: Double, ratio: Ratio, hook: Bool)] {
        hookbench["hooks"].array.map {
            ($0["key"].string, $0["label"].string, $0["ns_per_pair"].double, Ratio($0, "ratio_floor"), $0["hook"].bool)
        }
    }

    /// Instructions per pair by hookbench key (callgrind), when counted.
    var instructionCounts: [String: Double] {
        Dictionary(instructions["rows"].array.map { ($0["key"].string, $0["instructions_per_pair"].double) },
                   uniquingKeysWith: { a, _ in a })
    }

    func latency(_ item: String) -> [(x: Double, y: Double)] {
        hookbench["latency"].array.filter { $0["item"].string == item }
            .map { ($0["threads"].double, $0["enable_wait_ns"].double / 1e6) }
            .sorted { $0.x < $1.x }
    }

    /// Every target line of the run's benchmarks.
    var allTargets: [JSON] { hookbench["targets"].array + ftracebench["targets"].array + realProgram["targets"].array }

    var targets: [String] {
        allTargets.map { "\($0["status"].string): \($0["text"].string)" }
    }

    var totalViolations: Int {
        torture["models"].array.reduce(0) { sum, m in
            let v = m["violations"]
            return sum + ["I0", "I1", "I2", "I3", "poison", "counts"].reduce(0) { $0 + Int(v[$1].double) }
        }
    }

    /// The hook pair measured during a transition of `preset`, if hookbench has it.
    func duringTransition(_ preset: String) -> Ratio? {
        hooks.first { $0.hook && $0.label.localizedCaseInsensitiveContains("transition, \(preset)") }.map(\.ratio)
    }

    func table() -> String {
        let threads = Set(hookbench["latency"].array.map { Int($0["threads"].double) }).sorted()
        func pad(_ s: String, _ n: Int, left: Bool = false) -> String {
            let fill = String(repeating: " ", count: max(0, n - s.count))
            return left ? s + fill : fill + s
        }
        var header = pad("model", 11, left: true) + " " + pad("hook x floor [95% CI]", 21)
        for t in threads { header += " " + pad("lat@\(t)", 9) }
        header += [("trans", 8), ("med_ms", 8), ("p99_ms", 8), ("stalls", 6), ("violations", 10)].map { " " + pad($0.0, $0.1) }.joined()
        var lines = [header]
        let rcu = latency("synchronize_rcu")
        var rcuLine = pad("rcu (ref.)", 11, left: true) + " " + pad("-", 21)
        for t in threads {
            let v = rcu.first { Int($0.x) == t }?.y ?? 0
            rcuLine += String(format: " %9.3f", v)
        }
        for m in torture["models"].array {
            let name = m["name"].string
            var line = pad(name, 11, left: true) + " " + pad(duringTransition(name)?.text ?? "-", 21)
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
        SVGPlot.bars(title: "Hook pair cost: median of per-round ratios to the floor, 95% CI",
                     xLabel: "ratio to the floor (lower is better)",
                     items: hooks.filter { $0.key != "empty" }.map {
                         SVGPlot.Bar(label: $0.label, value: $0.ratio.median, low: $0.ratio.low, high: $0.ratio.high)
                     },
                     reference: 1, referenceLabel: "floor = 1")
    }

    func markdown(table: String, command: String) -> String {
        let counts = instructionCounts
        let hookRows = hooks.map { row in
            "| \(row.label) | " + String(format: "%.2f", row.ns) + " | \(row.ratio.text) | "
                + (counts[row.key].map { String(format: "%.1f", $0) } ?? "") + " |"
        }.joined(separator: "\n")
        let cygRows = hookbench["cyg"].array.map {
            "| \($0["label"].string) | \(Ratio($0, "ratio_floor").text) | \(Ratio($0, "ratio_hook_pair").text) |"
        }.joined(separator: "\n")
        let instructionNote = counts.isEmpty
            ? "Instructions per pair: not counted (no valgrind; `apt-get install valgrind`)."
            : "Instructions per pair: callgrind, \(Int(instructions["pairs"].double)) pairs of each row's loop "
                + "(loop included; the same in every run of the same build)."
        let unsure = allTargets.filter { $0["status"].string == "UNSURE" }.count
        let funcs = hookbench["funcs"].array
        let funcRows = Set(funcs.map { Int($0["functions"].double) }).sorted().map { n in
            let cells = [1, 2].map { threads -> String in
                guard let row = funcs.first(where: { Int($0["functions"].double) == n && Int($0["threads"].double) == threads })
                else { return " | " }
                return String(format: "%.2f", row["ns_per_pair_per_thread"].double) + " | " + Ratio(row, "ratio_one_function").text
            }
            return "| \(n) | " + cells.joined(separator: " | ") + " |"
        }.joined(separator: "\n")
        return """
        # Consistency-model report

        Run \(context["date"] ?? "") on commit `\(context["commit"] ?? "unknown")`: \
        \(hookbench["cpu_model"].string), \(Int(hookbench["nproc"].double)) CPUs, load average \
        \(String(format: "%.2f", hookbench["load_at_start"].double)) when hookbench started.
        Command: `\(command)`. Torture: \(Int(torture["threads"].double)) threads, \
        \(String(format: "%.0f", torture["duration_s"].double)) s, seed \(Int(torture["seed"].double)).

        Latencies are medians in milliseconds; `lat@N` is enable + wait with N busy threads (hookbench), \
        `med_ms`/`p99_ms` the torture's transitions under its mixed workload. `hook x floor` is the hook \
        pair during a transition of that model, as a ratio to the floor (two non-inlined calls that \
        increment TLS): the median of per-round ratios, with its 95% confidence interval.

        ```
        \(table)
        ```

        ![transition latency](transition-latency.svg)

        ![hook cost](hook-cost.svg)

        ## Hook pairs (hookbench, same run)

        \(Int(hookbench["reps"].double)) rounds of about \(Int(hookbench["rep_ms"].double)) ms; each round \
        measures every row once. `ns/pair` is a row's median over the rounds. The ratio is the median over \
        the rounds of (row / floor), both taken in the same round, so that a slow round cancels out; it \
        need not equal one `ns/pair` divided by the floor's. The bracket is the 95% confidence interval of \
        that median (order statistics of the per-round ratios). \(instructionNote)

        | pair | ns/pair (median of rounds) | ratio to floor: median of per-round ratios [95% CI] | instructions/pair |
        | --- | ---: | ---: | ---: |
        \(hookRows)

        `-finstrument-functions` hooks: one call of an empty instrumented function.

        | call | ratio to floor [95% CI] | ratio to the hook pair [95% CI] |
        | --- | ---: | ---: |
        \(cygRows)

        ## Many hot functions (hookbench, same run)

        The hook pair cycling over N registered functions, on 1 thread and on 2 threads at once \
        (per-thread ns per pair), and as a ratio to cycling over one function on as many threads: the \
        median of per-round ratios [95% CI].

        | functions | 1 thread: ns/pair | x one function | 2 threads: ns/pair | x one function |
        | ---: | ---: | ---: | ---: | ---: |
        \(funcRows)

        \(stackCheckSection())
        \(ftraceSection())
        \(realProgramSection())
        ## docs/DESIGN.md section 6 targets

        MET when the whole 95% interval is within the target, MISSED when it is all beyond, UNSURE when \
        it straddles the target (\(unsure) here).

        \(targets.map { "- \($0)" }.joined(separator: "\n"))

        Torture violations (must be 0): \(totalViolations). Raw figures: `hookbench.json`, `instructions.json`, \
        `stackbench.json`, `ftracebench.json`, `real-program.json`, `torture.json`.

        """
    }
}
