// swift-tools-version: 6.2
// Start-up cost of apple/swift-configuration against the hand-written layering Stowage uses (Benchmarks/config_probe/run.sh).
import PackageDescription
let package = Package(
    name: "cfgprobe",
    platforms: [.macOS(.v15)],
    dependencies: [.package(url: "https://github.com/apple/swift-configuration.git", from: "1.0.0", traits: [.defaults, "CommandLineArguments"]), .package(url: "https://github.com/apple/swift-system.git", from: "1.0.0")],
    targets: [
        .executableTarget(name: "ProbeSCfg", dependencies: [.product(name: "Configuration", package: "swift-configuration"), .product(name: "SystemPackage", package: "swift-system")]),
        .executableTarget(name: "ProbeHand"),
    ]
)
