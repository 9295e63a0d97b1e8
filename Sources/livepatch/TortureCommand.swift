import ArgumentParser
import CLivePatchTorture
import Glibc

/// `livepatch torture`: the C torture harness, linked in through the public
/// ABI. The options are parsed here and handed to the harness as its
/// configuration (lp_torture_options_t); the harness's own lp_torture_check
/// judges ranges and combinations, for this command and the bare C program alike.
struct Torture: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prove every model's invariants under many real pthreads (C harness).",
        discussion: """
        Each thread keeps its last N calls of a round (N from a 256 MiB budget); older ones \
        are overwritten and reported as lost, never judged. Exit status: 0 clean, 1 violations \
        or unexplained hangs, 64 a bad option.
        """
    )

    @Option(help: "pthreads running workloads, 16...4096 (default 256).") var threads: UInt64?
    @Option(help: "Seconds to run, above 0 and at most a year (default 30).") var duration: Double?
    @Option(help: "PRNG seed (default: from the clock, printed; 1 with --sim).") var seed: UInt64?
    @Option(help: "all (default), or presets and cells, each once: KGRAFT,RENEW,set-thread,...")
    var models: String?
    @Option(help: "Break the protocol on purpose; 'list' names the kinds.") var injectBug: String?
    @Flag(help: "Do not nudge stalled sleepers (no long sleeps either).") var noNudges = false
    @Option(help: "A transition that takes longer is a hang, 1...3600000 (default 5000; at least 5 ms per thread).")
    var boundMs: UInt64?
    @Option(help: "Also write the results as JSON ('-': stdout only; the tables then go to stderr).")
    var json: String?
    @Option(help: "Write the status snapshot (lp_status_json) here when the run ends.") var statusJson: String?
    @Flag(help: "No progress bar, even on a terminal.") var noProgress = false

    @Flag(help: ArgumentHelp("Simulation: one transition per run under lp_sim_*, one thread at a time, virtual time; seeds --seed onwards.",
                             discussion: "The options below need it."))
    var sim = false
    @Option(help: "Runs per strategy, 1...10000000 (default 200).") var runs: UInt64?
    @Option(help: "random, pct or both (default both).") var strategy: String?
    @Option(help: "PCT bug depth: D-1 priority change points, 1...16 (default 3).") var pctDepth: UInt64?
    @Option(help: "PCT: steps over which change points fall (default 250).") var pctHorizon: UInt64?
    @Option(help: "Workload threads besides the patcher, 1...16 (default 4).") var simThreads: UInt64?
    @Option(help: "Step budget of a run (default 200000).") var steps: UInt64?
    @Option(help: "Draw every run's workload and transition from this seed: only the schedule varies.")
    var workloadSeed: UInt64?
    @Option(help: "Rerun one seed (same other flags) and print its hash and result.") var replay: UInt64?
    @Flag(help: "Print every run.") var verbose = false

    func run() throws {
        if injectBug == "list" {
            var what: UnsafePointer<CChar>?
            for i in 0... {
                guard let name = lp_torture_bug_name(UInt32(i), &what) else { break }
                print(String(cString: name).padding(toLength: 20, withPad: " ", startingAt: 0), String(cString: what!))
            }
            return
        }
        let strings = CStrings()
        var o = lp_torture_options_t()
        o.prog = strings["\(CommandLine.arguments[0]) torture"]
        func number(_ value: UInt64?, _ field: WritableKeyPath<lp_torture_options_t, UInt64>, _ bit: Int) {
            guard let value else { return }
            o[keyPath: field] = value
            o.given |= UInt32(bit)
        }
        number(threads, \.threads, LP_TORTURE_THREADS)
        number(boundMs, \.bound_ms, LP_TORTURE_BOUND_MS)
        number(seed, \.seed, LP_TORTURE_SEED)
        number(runs, \.runs, LP_TORTURE_RUNS)
        number(pctDepth, \.pct_depth, LP_TORTURE_PCT_DEPTH)
        number(pctHorizon, \.pct_horizon, LP_TORTURE_PCT_HORIZON)
        number(simThreads, \.sim_threads, LP_TORTURE_SIM_THREADS)
        number(steps, \.steps, LP_TORTURE_STEPS)
        number(workloadSeed, \.workload_seed, LP_TORTURE_WORKLOAD_SEED)
        number(replay, \.replay, LP_TORTURE_REPLAY)
        if let duration {
            o.duration = duration
            o.given |= UInt32(LP_TORTURE_DURATION)
        }
        o.models = strings[models]
        o.inject_bug = strings[injectBug]
        o.json = strings[json]
        o.strategy = strings[strategy]
        o.no_nudges = noNudges ? 1 : 0
        o.no_progress = noProgress ? 1 : 0
        o.sim = sim ? 1 : 0
        o.verbose = verbose ? 1 : 0

        var msg = [CChar](repeating: 0, count: 512)
        guard lp_torture_check(&o, &msg, msg.count) == 0 else { throw ValidationError(String(cString: msg)) }
        // Opened before the run, as lp_torture_check opens --json: a path
        // that cannot be written is a usage error, not a lost result.
        var statusFile: UnsafeMutablePointer<FILE>?
        if let statusJson {
            guard let file = fopen(statusJson, "w") else {
                throw ValidationError("--status-json \(statusJson): \(String(cString: strerror(errno)))")
            }
            statusFile = file
        }
        let status = withExtendedLifetime(strings) { lp_torture_run(&o) }
        if let statusFile {
            fputs(statusJSON(), statusFile)
            fclose(statusFile)
        }
        if status != 0 { throw ExitCode(status) }
    }
}

/// C copies of Swift strings that live as long as this object: the options
/// point at them for the whole run.
final class CStrings {
    private var kept: [UnsafeMutablePointer<CChar>] = []

    subscript(_ s: String?) -> UnsafePointer<CChar>? {
        guard let s, let copy = strdup(s) else { return nil }
        kept.append(copy)
        return UnsafePointer(copy)
    }

    deinit { kept.forEach { free($0) } }
}
