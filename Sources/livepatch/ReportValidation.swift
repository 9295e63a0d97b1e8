import ArgumentParser
import CLivePatchTorture
import Foundation

/// `livepatch report`'s arguments, judged before any work starts: the
/// torture's by lp_torture_check (as `livepatch torture` judges its own),
/// the latency thread counts, and the output directory, created now and
/// checked for writing, so that a bad argument never costs a benchmark run.
extension Report {
    func validate() throws {
        guard let n = UInt64(exactly: threads) else { throw ValidationError("--threads must be 16..4096 (got \(threads))") }
        var o = lp_torture_options_t()
        o.threads = n
        o.duration = duration
        o.given = UInt32(LP_TORTURE_THREADS | LP_TORTURE_DURATION)
        try models.withCString { spec in
            o.models = spec
            try check(&o)
        }
        let counts = latencyThreads.split(separator: ",", omittingEmptySubsequences: false)
        guard (1...8).contains(counts.count), counts.allSatisfy({ UInt($0).map { (1...4096).contains($0) } ?? false }) else {
            throw ValidationError("--latency-threads must be 1 to 8 thread counts, each 1..4096, comma-separated (got '\(latencyThreads)')")
        }
        // Last, so that a refused argument leaves no empty directory behind.
        var prefix = out.hasPrefix("/") ? "/" : ""
        for part in out.split(separator: "/") {
            prefix += part + "/"
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw ValidationError("--out \(out): cannot create \(prefix): \(String(cString: strerror(errno)))")
            }
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: out, isDirectory: &isDirectory), isDirectory.boolValue,
              access(out, W_OK) == 0 else {
            throw ValidationError("--out \(out): not a writable directory")
        }
    }
}
