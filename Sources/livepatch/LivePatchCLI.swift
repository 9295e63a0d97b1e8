import ArgumentParser
import CLivePatchTorture
import Glibc
import LivePatch

@main
struct LivePatchCLI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "livepatch",
        abstract: "Live-patching consistency models in user space: torture, benchmarks, reports.",
        subcommands: [Report.self, Torture.self, Status.self]
    )
}

/// The C torture harness, linked in through the public ABI. Its options are
/// its own (see `livepatch torture --help`), shared with the bare C build.
struct Torture: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prove every model's invariants under many real pthreads (C harness).",
        discussion: "Options are parsed by the harness: run `livepatch torture --help`. "
            + "The CLI adds --status-json PATH: the status snapshot (lp_status_json) when the run ends."
    )

    @Argument(parsing: .captureForPassthrough, help: "Options for the harness.")
    var arguments: [String] = []

    func run() throws {
        // --status-json PATH is the CLI's own: the status snapshot (lp_status_json) at the end.
        var passed = arguments, statusPath: String? = nil
        if let i = passed.firstIndex(of: "--status-json"), i + 1 < passed.count {
            statusPath = passed[i + 1]
            passed.removeSubrange(i...(i + 1))
        }
        let status = runC(lp_torture_main, name: "livepatch torture", passed)
        if let statusPath, let file = fopen(statusPath, "w") {
            fputs(statusJSON(), file)
            fclose(file)
        }
        if status != 0 { throw ExitCode(status) }
    }
}

/// Calls a C `main`-style entry point with a NUL-terminated argv.
func runC(_ entry: (Int32, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32,
          name: String, _ arguments: [String]) -> Int32 {
    var argv = ([name] + arguments).map { strdup($0) }
    argv.append(nil)
    defer { argv.forEach { free($0) } }
    return entry(Int32(arguments.count + 1), &argv)
}
