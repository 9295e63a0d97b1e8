// swift-tools-version:6.1
//
// Two builds of one engine:
//   swift build                       the Swift module, the CLI and the tests
//   LP_EMBEDDED=1 swift build -c release --scratch-path .build-embedded
//                                     liblivepatch.a and liblivepatch-shared.so
//                                     as Embedded Swift: no Swift runtime, so a
//                                     plain C program links them.
// A non-Embedded test target cannot import an Embedded module, hence the switch.
import Foundation
import PackageDescription

let embedded = ProcessInfo.processInfo.environment["LP_EMBEDDED"] == "1"
// The library's version (VERSION; scripts/install names the files after it).
let versionOfPackage = (try? String(contentsOfFile: Context.packageDirectory + "/VERSION", encoding: .utf8))?
    .trimmingCharacters(in: .whitespacesAndNewlines) ?? "0.0.0"

// A package that depends on this one by version may not build unsafe flags:
// only the LP_EMBEDDED build, which a dependent never sets, has any.
// Exclusivity checking stays on: the engine's shared state is guarded by its
// own locks and atomics, and says so where it lives (@exclusivity(unchecked)
// on its globals and the Patch class's properties; lps_global reached through
// lps_global_ref()), so that the hooks make no swift_beginAccess call
// (scripts/check-hot-path) and nested accesses under the patcher lock do not
// trap in the Swift build.
var engineSettings: [SwiftSetting] = [.swiftLanguageMode(.v5)]
var engineLinkerSettings: [LinkerSetting] = []
var shimCSettings: [CSetting] = []
if embedded {
    engineSettings += [
        .enableExperimentalFeature("Embedded"),
        // The hook pair's cost (Benchmarks/README.md, "Where the hook
        // pair's cost is"):
        // -momit-leaf-frame-pointer lets a leaf, such as each hook with its
        // tail calls, run without a frame (every other function keeps its
        // frame pointer, which the stack check walks); -fms-extensions gives
        // the hooks' frame key without one (_AddressOfReturnAddress,
        // lps_records.h); 64-byte function alignment keeps each hook's fast
        // path in the fewest fetch blocks.
        .unsafeFlags(["-wmo", "-Xcc", "-fPIC", "-Xcc", "-momit-leaf-frame-pointer", "-Xcc", "-fms-extensions",
                      "-Xllvm", "-align-all-functions=6"]),
    ]
    shimCSettings = [.unsafeFlags(["-fPIC"])]
    // liblivepatch-shared.so: a SONAME of the ABI's major version, the exports
    // of CInclude/livepatch.h only, and never unmapped by dlclose(): a thread
    // that registered keeps a thread-exit hook into the library
    // (Tests/unit/dlclose.c).
    let major = versionOfPackage.split(separator: ".")[0]
    engineLinkerSettings = [.unsafeFlags([
        "-Xlinker", "-soname=liblivepatch.so.\(major)",
        "-Xlinker", "--version-script=\(Context.packageDirectory)/Packaging/livepatch.map",
        "-Xlinker", "-z", "-Xlinker", "nodelete",
    ])]
}

// The ABI's types (CInclude/livepatch/types.h, through CInclude/module.modulemap):
// the one module the engine re-exports to its Swift clients.
let abiTypes: Target = .target(
    name: "CLivePatchABI",
    path: "CInclude",
    publicHeadersPath: "."
)
// The bodies of the ABI's opaque handles, which Swift must see complete to
// name them in the engine's public signatures (lps_handles.h says why).
let handles: Target = .target(
    name: "CLivePatchHandles",
    dependencies: ["CLivePatchABI"]
)
let shim: Target = .target(
    name: "CLivePatchShim",
    dependencies: ["CLivePatchHandles", "CLiburcu"],
    cSettings: shimCSettings,
    // The shadow variables' hash table (lps_shadow_shim.c). CLiburcu's
    // pkg-config name (liburcu-memb) brings only the memb flavour's -l flags.
    // libelf (elfutils, Debian libelf-dev) reads symbol tables for
    // lp_func_register_object (lps_elf_shim.c).
    linkerSettings: [.linkedLibrary("urcu-cds"), .linkedLibrary("elf")]
)
let liburcu: Target = .systemLibrary(
    name: "CLiburcu",
    pkgConfig: "liburcu-memb",
    providers: [.apt(["liburcu-dev"])]
)
// The worked example of a user-defined model, where the README's readers
// find it: torture runs it alongside the presets.
let exampleModels: Target = .target(
    name: "CLivePatchExampleModels",
    path: "Examples/models",
    publicHeadersPath: ".",
    cSettings: [.headerSearchPath("../../CInclude")]
)
let torture: Target = .target(
    name: "CLivePatchTorture",
    dependencies: ["CLivePatchExampleModels"],
    path: "Tests/regression/torture",
    exclude: ["standalone"],
    cSettings: [.headerSearchPath("../../../CInclude"), .define("_GNU_SOURCE")]
)
// The engine. In the Swift build it is LivePatchEngine, under the idiomatic
// Swift layer (module LivePatch, which re-exports it, so the C names work
// from Swift too); the Embedded build has no Swift layer (it needs the Swift
// runtime: String, async), and its module keeps the name LivePatch.
let engine: Target = .target(
    name: embedded ? "LivePatch" : "LivePatchEngine",
    dependencies: ["CLivePatchABI", "CLivePatchHandles", "CLivePatchShim"],
    path: "Sources/LivePatch",
    swiftSettings: engineSettings,
    linkerSettings: engineLinkerSettings
)
let swiftAPI: Target = .target(
    name: "LivePatch",
    dependencies: ["LivePatchEngine"],
    path: "Sources/LivePatchSwift",
    swiftSettings: [.swiftLanguageMode(.v6)]
)

let package: Package
if embedded {
    package = Package(
        name: "swift-livepatch",
        products: [
            .library(name: "livepatch", type: .static, targets: ["LivePatch"]),
            .library(name: "livepatch-shared", type: .dynamic, targets: ["LivePatch"]),
        ],
        targets: [liburcu, abiTypes, handles, shim, engine]
    )
} else {
    package = Package(
        name: "swift-livepatch",
        products: [
            .executable(name: "livepatch", targets: ["livepatch"]),
            // For Swift clients and Benchmarks/SwiftAPI (package-benchmark).
            .library(name: "LivePatch", targets: ["LivePatch"]),
        ],
        // The CLI's own dependency: a package that depends on this one for
        // the LivePatch library turns the trait off (traits: []) and never
        // fetches it.
        traits: [
            .trait(name: "CLI", description: "The livepatch command-line tool's dependencies (swift-argument-parser)"),
            .default(enabledTraits: ["CLI"]),
        ],
        dependencies: [
            .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        ],
        targets: [
            liburcu, abiTypes, handles, shim, engine, swiftAPI, torture,
            .executableTarget(
                name: "livepatch",
                dependencies: ["LivePatch", "CLivePatchTorture",
                               .product(name: "ArgumentParser", package: "swift-argument-parser",
                                        condition: .when(traits: ["CLI"]))],
                swiftSettings: [.swiftLanguageMode(.v5)]
            ),
            .testTarget(
                name: "LivePatchTests",
                dependencies: ["LivePatch", "CLivePatchShim"],
                path: "Tests/swift",
                swiftSettings: [.swiftLanguageMode(.v5)]
            ),
            exampleModels,
        ]
    )
}
