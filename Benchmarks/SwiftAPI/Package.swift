// swift-tools-version:6.1
//
// package-benchmark suites for the Swift API: the hook pair called from
// Swift, with committed thresholds (Thresholds/) that include zero
// allocations. Run from this folder:
//   swift package benchmark                       # measure
//   swift package benchmark thresholds check      # compare with Thresholds/
import PackageDescription

let package = Package(
    name: "livepatch-benchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        // The repository root, through a link with a fixed name: SwiftPM names
        // a path dependency after its folder, which a clone may name anything.
        .package(path: "swift-livepatch"),
        .package(url: "https://github.com/ordo-one/package-benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "HookBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "LivePatch", package: "swift-livepatch"),
            ],
            path: "Benchmarks/HookBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
    ]
)
