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

    @OptionGroup(title: "Real threads (the default)") var threaded: ThreadedOptions
    @OptionGroup(title: "Simulation") var simulation: SimulationOptions

    @Option(parsing: .unconditional, help: help("PRNG seed (default: from the clock, printed; 1 with --sim).", "n"))
    var seed: UInt64?
    @Option(help: help("all (default), or presets and cells, each once: KGRAFT,RENEW,patched_set-thread,...", "list"))
    var models: String?
    @Option(help: help("Break the protocol on purpose; 'list' names the kinds.", "kind")) var injectBug: String?
    @Flag(help: "Do not nudge stalled sleepers (no long sleeps either).") var noNudges = false
    @Option(help: help("Write the status snapshot (lp_status_json) here when the run ends.", "file"))
    var statusJson: String?
    @Flag(help: "No progress bar, even on a terminal.") var noProgress = false

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
        number(threaded.threads, \.threads, LP_TORTURE_THREADS)
        number(threaded.boundMs, \.bound_ms, LP_TORTURE_BOUND_MS)
        number(seed, \.seed, LP_TORTURE_SEED)
        number(simulation.runs, \.runs, LP_TORTURE_RUNS)
        number(simulation.pctDepth, \.pct_depth, LP_TORTURE_PCT_DEPTH)
        number(simulation.pctHorizon, \.pct_horizon, LP_TORTURE_PCT_HORIZON)
        number(simulation.simThreads, \.sim_threads, LP_TORTURE_SIM_THREADS)
        number(simulation.steps, \.steps, LP_TORTURE_STEPS)
        number(simulation.workloadSeed, \.workload_seed, LP_TORTURE_WORKLOAD_SEED)
        number(simulation.replay, \.replay, LP_TORTURE_REPLAY)
        if let duration = threaded.duration {
            o.duration = duration
            o.given |= UInt32(LP_TORTURE_DURATION)
        }
        o.models = strings[models]
        o.inject_bug = strings[injectBug]
        o.json = strings[threaded.json]
        o.strategy = strings[simulation.strategy]
        o.no_nudges = noNudges ? 1 : 0
        o.no_progress = noProgress ? 1 : 0
        o.sim = simulation.sim ? 1 : 0
        o.verbose = simulation.verbose ? 1 : 0

        try check(&o)
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

// Numbers take the next word whatever it looks like (parsing: .unconditional),
// so that "-1" is refused as a value rather than mistaken for an option.

/// The options only real-thread runs take.
struct ThreadedOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: help("pthreads running workloads, 16...4096 (default 256).", "n"))
    var threads: UInt64?
    @Option(parsing: .unconditional, help: help("Seconds to run, above 0 and at most a year (default 30).", "seconds"))
    var duration: Double?
    @Option(parsing: .unconditional,
            help: help("A transition that takes longer is a hang, 1...3600000 (default 5000; at least 5 ms per thread).", "ms"))
    var boundMs: UInt64?
    @Option(help: help("Also write the results as JSON ('-': stdout only; the tables then go to stderr).", "file"))
    var json: String?
}

/// `--sim` (deterministic interleavings: one thread runs at a time, in
/// virtual time) and the options only it takes.
struct SimulationOptions: ParsableArguments {
    @Flag(help: "One transition per run under lp_sim_*, seeds --seed (default 1) onwards; the options below need it.")
    var sim = false
    @Option(parsing: .unconditional, help: help("Runs per strategy, 1...10000000 (default 200).", "n")) var runs: UInt64?
    @Option(help: help("random, pct or both (default both).", "strategy")) var strategy: String?
    @Option(parsing: .unconditional, help: help("PCT bug depth: d-1 priority change points, 1...16 (default 3).", "d"))
    var pctDepth: UInt64?
    @Option(parsing: .unconditional, help: help("PCT: steps over which change points fall (default 250).", "n"))
    var pctHorizon: UInt64?
    @Option(parsing: .unconditional, help: help("Workload threads besides the patcher, 1...16 (default 4).", "n"))
    var simThreads: UInt64?
    @Option(parsing: .unconditional, help: help("Step budget of a run (default 200000).", "n")) var steps: UInt64?
    @Option(parsing: .unconditional,
            help: help("Draw every run's workload and transition from this seed: only the schedule varies.", "seed"))
    var workloadSeed: UInt64?
    @Option(parsing: .unconditional,
            help: help("Rerun one seed (same other flags) and print its hash and result; needs --strategy random or pct.", "seed"))
    var replay: UInt64?
    @Flag(help: "Print every run.") var verbose = false
}

/// lp_torture_check, its one-line reason thrown as a usage error (exit 64).
func check(_ options: inout lp_torture_options_t) throws {
    var msg = [CChar](repeating: 0, count: 512)
    guard lp_torture_check(&options, &msg, msg.count) == 0 else { throw ValidationError(String(cString: msg)) }
}

private func help(_ text: String, _ valueName: String) -> ArgumentHelp { ArgumentHelp(text, valueName: valueName) }

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
