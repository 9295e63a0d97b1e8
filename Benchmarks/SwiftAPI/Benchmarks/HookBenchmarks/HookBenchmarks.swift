import Benchmark
import LivePatch

// The hook pair as a Swift program calls it. Thresholds/ pins mallocs at
// zero: the hook path must never allocate. Names have no spaces: the
// thresholds reader of package-benchmark 1.38.1 looks for the raw name in
// the file name, while its writer replaces spaces.

nonisolated(unsafe) let unpatched = "bench.unpatched".withCString { lp_func_register($0, UnsafeRawPointer(bitPattern: 0x1000)) }!
nonisolated(unsafe) let patched: UnsafeMutablePointer<lp_func_t> = {
    let f = "bench.patched".withCString { lp_func_register($0, UnsafeRawPointer(bitPattern: 0x2000)) }!
    let p = "bench.patch".withCString { lp_patch_create($0, lp_model(LP_LEAVE_KERNEL, LP_SWITCH_THREAD), 0) }
    _ = lp_patch_add_func(p, f, UnsafeRawPointer(bitPattern: 0x3000))
    _ = lp_patch_enable(p)
    _ = lp_transition_wait(5_000_000_000)
    return f
}()

let benchmarks: @Sendable () -> Void = {
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .mallocCountTotal, .throughput],
        scalingFactor: .mega,
        maxDuration: .seconds(2),
        thresholds: [.mallocCountTotal: .init(absolute: [.p90: 0])]
    )
    Benchmark("HookPairNoPatch", configuration: configuration) { benchmark in
        _ = lp_thread_register("bench")
        let f = unpatched
        for _ in benchmark.scaledIterations {
            blackHole(lp_func_enter(f))
            lp_func_exit(f)
        }
    }
    Benchmark("HookPairPatchedSteady", configuration: configuration) { benchmark in
        let f = patched
        for _ in benchmark.scaledIterations {
            blackHole(lp_func_enter(f))
            lp_func_exit(f)
        }
    }
    Benchmark("KernelSectionPair", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations {
            lp_kernel_enter()
            lp_kernel_exit()
        }
    }
}
