import ArgumentParser
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

/// Calls a C `main`-style entry point with a NUL-terminated argv.
func runC(_ entry: (Int32, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32,
          name: String, _ arguments: [String]) -> Int32 {
    var argv = ([name] + arguments).map { strdup($0) }
    argv.append(nil)
    defer { argv.forEach { free($0) } }
    return entry(Int32(arguments.count + 1), &argv)
}
