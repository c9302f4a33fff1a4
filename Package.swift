// swift-tools-version: 6.2
// Stowage: an S3-compatible object storage server built from pluggable stages and backends.
// Dependency direction is one way: Host → Plugins → Core. A plugin imports another plugin
// only when it is built on it.
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Stowage",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "StowageCore", targets: ["StowageCore"]),
        .library(name: "StowageRouting", targets: ["StowageRouting"]),
        .library(name: "StowageXML", targets: ["StowageXML"]),
        .library(name: "StowageFileStore", targets: ["StowageFileStore"]),
        .library(name: "StowageSigV4", targets: ["StowageSigV4"]),
        .library(name: "StowagePolicy", targets: ["StowagePolicy"]),
        .library(name: "StowageCORS", targets: ["StowageCORS"]),
        .library(name: "StowageInProcessTransport", targets: ["StowageInProcessTransport"]),
        .library(name: "Stowage", targets: ["Stowage"]),
        .library(name: "StowageBackendConformance", targets: ["StowageBackendConformance"]),
        .library(name: "StowageTesting", targets: ["StowageTesting"]),
        .executable(name: "stowage", targets: ["StowageCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        // MARK: Core — the framework's vocabulary. Depends on no plugin.
        .systemLibrary(
            name: "CStowageOpenSSL",
            path: "Sources/Core/CStowageOpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CStowageISAL",
            path: "Sources/Core/CStowageISAL",
            pkgConfig: "libisal",
            providers: [.apt(["libisal-dev"])]
        ),
        .target(
            name: "StowageCore",
            dependencies: [
                "CStowageOpenSSL",
                "CStowageISAL",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Core/StowageCore",
            swiftSettings: strict
        ),

        // MARK: Plugins — one target per plugin.
        .target(
            name: "StowageRouting",
            dependencies: ["StowageCore"],
            path: "Sources/Plugins/Routing",
            swiftSettings: strict
        ),
        .target(
            name: "StowageSigV4",
            dependencies: ["StowageCore", .product(name: "HTTPTypes", package: "swift-http-types"), .product(name: "NIOCore", package: "swift-nio")],
            path: "Sources/Plugins/SigV4",
            swiftSettings: strict
        ),
        .target(
            name: "StowagePolicy",
            dependencies: ["StowageCore", .product(name: "HTTPTypes", package: "swift-http-types"), .product(name: "NIOCore", package: "swift-nio")],
            path: "Sources/Plugins/Policy",
            swiftSettings: strict
        ),
        .target(
            name: "StowageCORS",
            dependencies: ["StowageCore", .product(name: "HTTPTypes", package: "swift-http-types"), .product(name: "NIOCore", package: "swift-nio")],
            path: "Sources/Plugins/CORS",
            swiftSettings: strict
        ),
        .systemLibrary(
            name: "CLibXML2",
            path: "Sources/Plugins/XML/CLibXML2",
            pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"])]
        ),
        .target(
            name: "StowageXML",
            dependencies: ["StowageCore", "CLibXML2"],
            path: "Sources/Plugins/XML/StowageXML",
            swiftSettings: strict
        ),
        .target(
            name: "StowageFileStore",
            dependencies: [
                "StowageCore",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Sources/Plugins/FileStore",
            swiftSettings: strict
        ),
        .target(
            name: "StowageInProcessTransport",
            dependencies: ["StowageCore", .product(name: "NIOCore", package: "swift-nio"), .product(name: "HTTPTypes", package: "swift-http-types")],
            path: "Sources/Plugins/Transports/InProcess",
            swiftSettings: strict
        ),

        // MARK: Host — the HTTP server, the facade, the executable.
        .target(
            name: "Stowage",
            dependencies: [
                "StowageCore", "StowageRouting", "StowageXML", "StowageFileStore", "StowageSigV4", "StowagePolicy", "StowageCORS",
                "StowageInProcessTransport", "CStowageOpenSSL",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Host/Stowage",
            swiftSettings: strict
        ),
        .target(
            name: "StowageTesting",
            dependencies: ["Stowage", "StowageCore", .product(name: "NIOCore", package: "swift-nio")],
            path: "Sources/Host/StowageTesting",
            swiftSettings: strict
        ),
        .target(
            name: "StowageBench",
            dependencies: [
                "StowageCore", "StowageSigV4",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Sources/Host/StowageBench",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "StowageCLI",
            dependencies: [
                "Stowage", "StowageBench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Host/StowageCLI",
            swiftSettings: strict
        ),

        // MARK: Tests
        .target(
            name: "StowageBackendConformance",
            dependencies: ["StowageCore"],
            path: "Tests/BackendConformance",
            swiftSettings: strict
        ),
        .testTarget(
            name: "StowageCoreTests",
            dependencies: [
                "StowageCore", "StowageBackendConformance",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            path: "Tests/StowageCoreTests"
        ),
        .testTarget(
            name: "StowageRoutingTests",
            dependencies: ["StowageRouting", "StowageCore"],
            path: "Tests/StowageRoutingTests"
        ),
        .testTarget(
            name: "StowageSigV4Tests",
            dependencies: ["StowageSigV4", "StowageCore", "StowageBackendConformance"],
            path: "Tests/StowageSigV4Tests"
        ),
        .testTarget(
            name: "StowagePolicyTests",
            dependencies: ["StowagePolicy", "StowageCore", "StowageBackendConformance"],
            path: "Tests/StowagePolicyTests"
        ),
        .testTarget(
            name: "StowageCORSTests",
            dependencies: ["StowageCORS", "StowageCore"],
            path: "Tests/StowageCORSTests"
        ),
        .testTarget(
            name: "StowageXMLTests",
            dependencies: ["StowageXML", "StowageCore"],
            path: "Tests/StowageXMLTests"
        ),
        .testTarget(
            name: "StowageFileStoreTests",
            dependencies: [
                "StowageFileStore", "StowageCore", "StowageBackendConformance",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Tests/StowageFileStoreTests"
        ),
        .testTarget(
            name: "StowageInProcessTransportTests",
            dependencies: [
                "StowageInProcessTransport", "StowageCore",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            path: "Tests/StowageInProcessTransportTests"
        ),
        .testTarget(
            name: "StowageTestingTests",
            dependencies: ["StowageTesting", "Stowage", "StowageCore", "StowageSigV4"],
            path: "Tests/StowageTestingTests"
        ),
        .testTarget(
            name: "StowageHostTests",
            dependencies: [
                "Stowage", "StowageCore", "StowageFileStore",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tests/StowageHostTests"
        ),
        .testTarget(
            name: "StowageCLITests",
            dependencies: ["StowageCLI", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Tests/StowageCLITests"
        ),

        // MARK: Examples
        .target(
            name: "ReadOnlyServer",
            dependencies: [
                "Stowage", "StowageCore", "StowageRouting", "StowageXML", "StowageFileStore",
                .product(name: "HTTPTypes", package: "swift-http-types"), .product(name: "Logging", package: "swift-log"),
            ],
            path: "Examples/CustomServer/ReadOnly",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "CustomServerExample",
            dependencies: ["ReadOnlyServer", "StowageCore"],
            path: "Examples/CustomServer/Server",
            swiftSettings: strict
        ),
        .testTarget(
            name: "CustomServerExampleTests",
            dependencies: ["ReadOnlyServer"],
            path: "Examples/CustomServer/Tests"
        ),
        .testTarget(
            name: "EmbeddedInTestsExample",
            dependencies: ["StowageTesting"],
            path: "Examples/EmbeddedInTests"
        ),
        .target(
            name: "BearerAuth",
            dependencies: ["Stowage", "StowageCore", .product(name: "HTTPTypes", package: "swift-http-types")],
            path: "Examples/CustomAuthStage/BearerAuth",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "CustomAuthStageExample",
            dependencies: ["BearerAuth", "Stowage", "StowageCore", .product(name: "Logging", package: "swift-log")],
            path: "Examples/CustomAuthStage/Server",
            swiftSettings: strict
        ),
        .testTarget(
            name: "CustomAuthStageExampleTests",
            dependencies: ["BearerAuth", "Stowage", "StowageCore"],
            path: "Examples/CustomAuthStage/Tests"
        ),
        .target(
            name: "BucketsEndpoint",
            dependencies: ["Stowage", "StowageCore", .product(name: "HTTPTypes", package: "swift-http-types")],
            path: "Examples/CustomEndpoint/BucketsEndpoint",
            swiftSettings: strict
        ),
        .testTarget(
            name: "CustomEndpointExampleTests",
            dependencies: ["BucketsEndpoint", "Stowage", "StowageCore"],
            path: "Examples/CustomEndpoint/Tests"
        ),
        .target(
            name: "TracingTransport",
            dependencies: ["Stowage", "StowageCore"],
            path: "Examples/CustomTransport/TracingTransport",
            swiftSettings: strict
        ),
        .testTarget(
            name: "CustomTransportExampleTests",
            dependencies: [
                "TracingTransport", "Stowage", "StowageCore",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Examples/CustomTransport/Tests"
        ),
        .target(
            name: "InMemoryBackend",
            dependencies: ["StowageCore", .product(name: "NIOCore", package: "swift-nio")],
            path: "Examples/InMemoryBackend/Backend",
            swiftSettings: strict
        ),
        .testTarget(
            name: "InMemoryBackendTests",
            dependencies: ["InMemoryBackend", "StowageBackendConformance", "StowageCore", "Stowage"],
            path: "Examples/InMemoryBackend/Tests"
        ),
    ]
)
