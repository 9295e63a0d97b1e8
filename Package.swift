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

var engineSettings: [SwiftSetting] = [
    // The hooks must not call swift_beginAccess; the engine's shared state is
    // guarded by its own locks and atomics, not by exclusivity checks.
    .unsafeFlags(["-enforce-exclusivity=unchecked"]),
    .swiftLanguageMode(.v5),
]
if embedded {
    engineSettings += [
        .enableExperimentalFeature("Embedded"),
        .unsafeFlags(["-wmo", "-Xcc", "-fPIC"]),
    ]
}

let shim: Target = .target(
    name: "CLivePatchShim",
    dependencies: ["CLiburcu"],
    cSettings: [.unsafeFlags(["-fPIC"])],
    // The shadow variables' hash table (lp_shadow_shim.c). CLiburcu's
    // pkg-config name (liburcu-memb) brings only the memb flavour's -l flags.
    // libelf (elfutils, Debian libelf-dev) reads symbol tables for
    // lp_func_register_object (lp_elf_shim.c).
    linkerSettings: [.linkedLibrary("urcu-cds"), .linkedLibrary("elf")]
)
let liburcu: Target = .systemLibrary(
    name: "CLiburcu",
    pkgConfig: "liburcu-memb",
    providers: [.apt(["liburcu-dev"])]
)
let torture: Target = .target(
    name: "CLivePatchTorture",
    exclude: ["standalone"],
    // deadline_reverse.c is a link to Examples/models/: torture runs the
    // worked example of a user-defined model alongside the presets.
    cSettings: [.headerSearchPath("../../CInclude"), .headerSearchPath("../../Examples/models"), .define("_GNU_SOURCE")]
)
let engine: Target = .target(
    name: "LivePatch",
    dependencies: ["CLivePatchShim"],
    swiftSettings: engineSettings
)

let package: Package
if embedded {
    package = Package(
        name: "swift-livepatch",
        products: [
            .library(name: "livepatch", type: .static, targets: ["LivePatch"]),
            .library(name: "livepatch-shared", type: .dynamic, targets: ["LivePatch"]),
        ],
        targets: [liburcu, shim, engine]
    )
} else {
    package = Package(
        name: "swift-livepatch",
        products: [
            .executable(name: "livepatch", targets: ["livepatch"]),
            // For Swift clients and Benchmarks/SwiftAPI (package-benchmark).
            .library(name: "LivePatch", targets: ["LivePatch"]),
        ],
        dependencies: [
            .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        ],
        targets: [
            liburcu, shim, engine, torture,
            .executableTarget(
                name: "livepatch",
                dependencies: ["LivePatch", "CLivePatchTorture",
                               .product(name: "ArgumentParser", package: "swift-argument-parser")],
                swiftSettings: [.swiftLanguageMode(.v5)]
            ),
            .testTarget(
                name: "LivePatchTests",
                dependencies: ["LivePatch", "CLivePatchShim"],
                swiftSettings: [.swiftLanguageMode(.v5)]
            ),
        ]
    )
}
