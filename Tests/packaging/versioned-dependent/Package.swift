// swift-tools-version:6.1
//
// A package that uses swift-livepatch as a user would: by version, through
// its Swift layer. scripts/check-versioned-dependent tags a copy of the
// repository and points LP_PACKAGE_URL at it; a real dependent writes
//   .package(url: "<repository URL>", from: "0.1.0", traits: [])
import Foundation
import PackageDescription

guard let url = ProcessInfo.processInfo.environment["LP_PACKAGE_URL"] else {
    fatalError("set LP_PACKAGE_URL to a git repository of swift-livepatch with a version tag (scripts/check-versioned-dependent)")
}

let package = Package(
    name: "versioned-dependent",
    // traits: [] leaves out the CLI's dependencies (swift-argument-parser).
    dependencies: [.package(url: url, from: "0.1.0", traits: [])],
    targets: [
        .executableTarget(
            name: "Dependent",
            dependencies: [.product(name: "LivePatch", package: "swift-livepatch")]
        ),
    ]
)
