// swift-tools-version: 6.2
// Stowage: an S3-compatible object storage server built from pluggable stages and backends.
// Dependency direction is one way: Host → Plugins → Core. A plugin imports another plugin
// only when it is built on it.
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]
/// Tests import what they use, too.
let testSettings: [SwiftSetting] = [.enableUpcomingFeature("MemberImportVisibility")]

/// The products targets depend on most, by the module name they import.
let nioCore: Target.Dependency = .product(name: "NIOCore", package: "swift-nio")
let httpTypes: Target.Dependency = .product(name: "HTTPTypes", package: "swift-http-types")
let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")
let coreMetrics: Target.Dependency = .product(name: "CoreMetrics", package: "swift-metrics")
let serviceLifecycle: Target.Dependency = .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let grdb: Target.Dependency = .product(name: "GRDB", package: "GRDB.swift")

let package = Package(
    name: "Stowage",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "StowageCore", targets: ["StowageCore"]),
        .library(name: "StowageRouting", targets: ["StowageRouting"]),
        .library(name: "StowageXML", targets: ["StowageXML"]),
        .library(name: "StowageLocalFiles", targets: ["StowageLocalFiles"]),
        .library(name: "StowageSQLiteIndex", targets: ["StowageSQLiteIndex"]),
        .library(name: "StowageFileStore", targets: ["StowageFileStore"]),
        .library(name: "StowageSigV4", targets: ["StowageSigV4"]),
        .library(name: "StowagePolicy", targets: ["StowagePolicy"]),
        .library(name: "StowageCORS", targets: ["StowageCORS"]),
        .library(name: "StowageErasure", targets: ["StowageErasure"]),
        .library(name: "StowageCluster", targets: ["StowageCluster"]),
        .library(name: "StowageInProcessTransport", targets: ["StowageInProcessTransport"]),
        .library(name: "StowageQUIC", targets: ["StowageQUIC"]),
        .library(name: "Stowage", targets: ["Stowage"]),
        .library(name: "StowageBackendConformance", targets: ["StowageBackendConformance"]),
        .library(name: "StowageTesting", targets: ["StowageTesting"]),
        .executable(name: "stowage", targets: ["StowageCLI"]),
        .executable(name: "quic-bench", targets: ["QUICBench"]),
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
                nioCore,
                httpTypes,
                logging,
                serviceLifecycle,
            ],
            path: "Sources/Core/StowageCore",
            swiftSettings: strict
        ),

        // MARK: Plugins — one target per plugin.
        .target(
            name: "StowageRouting",
            dependencies: [httpTypes, "StowageCore"],
            path: "Sources/Plugins/Routing",
            swiftSettings: strict
        ),
        .target(
            name: "StowageSigV4",
            dependencies: ["StowageCore", httpTypes, nioCore],
            path: "Sources/Plugins/SigV4",
            swiftSettings: strict
        ),
        .target(
            name: "StowagePolicy",
            dependencies: ["StowageCore", httpTypes, nioCore],
            path: "Sources/Plugins/Policy",
            swiftSettings: strict
        ),
        .target(
            name: "StowageCORS",
            dependencies: ["StowageCore", httpTypes, nioCore],
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
            dependencies: [httpTypes, logging, nioCore, "StowageCore", "CLibXML2"],
            path: "Sources/Plugins/XML/StowageXML",
            swiftSettings: strict
        ),
        .target(
            name: "StowageLocalFiles",
            dependencies: ["StowageCore", nioCore],
            path: "Sources/Plugins/LocalFiles",
            swiftSettings: strict
        ),
        .target(
            name: "StowageErasure",
            dependencies: ["StowageCore", "CStowageISAL"],
            path: "Sources/Plugins/Erasure",
            swiftSettings: strict
        ),
        .target(
            name: "StowageCluster",
            dependencies: ["StowageCore", "StowageErasure", "StowageSQLiteIndex", grdb, logging, nioCore, serviceLifecycle, httpTypes],
            path: "Sources/Plugins/Cluster",
            swiftSettings: strict
        ),
        .target(
            name: "StowageSQLiteIndex",
            dependencies: ["StowageCore", grdb, .product(name: "GRDBSQLite", package: "GRDB.swift"), logging],
            path: "Sources/Plugins/SQLiteIndex",
            swiftSettings: strict
        ),
        .target(
            name: "StowageFileStore",
            dependencies: ["StowageSQLiteIndex", "StowageLocalFiles", logging, nioCore,
                "StowageCore",
                grdb,
            ],
            path: "Sources/Plugins/FileStore",
            swiftSettings: strict
        ),
        .target(
            name: "StowageInProcessTransport",
            dependencies: ["StowageCore", nioCore, httpTypes],
            path: "Sources/Plugins/Transports/InProcess",
            swiftSettings: strict
        ),
        // QUIC between nodes: ngtcp2 0.12 with its GnuTLS helper, nghttp3 0.8, GnuTLS 3.7
        // (Debian 12's packages; notes/quic-feasibility.md).
        .systemLibrary(
            name: "CNgtcp2",
            path: "Sources/Plugins/Transports/QUIC/CNgtcp2",
            pkgConfig: "libngtcp2_crypto_gnutls",
            providers: [.apt(["libngtcp2-dev", "libngtcp2-crypto-gnutls-dev"])]
        ),
        .systemLibrary(
            name: "CNghttp3",
            path: "Sources/Plugins/Transports/QUIC/CNghttp3",
            pkgConfig: "libnghttp3",
            providers: [.apt(["libnghttp3-dev"])]
        ),
        .systemLibrary(
            name: "CGnuTLS",
            path: "Sources/Plugins/Transports/QUIC/CGnuTLS",
            pkgConfig: "gnutls",
            providers: [.apt(["libgnutls28-dev"])]
        ),
        .target(
            name: "StowageQUIC",
            dependencies: [
                "StowageCore", "CNgtcp2", "CNghttp3", "CGnuTLS", nioCore, httpTypes,
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Sources/Plugins/Transports/QUIC/StowageQUIC",
            swiftSettings: strict
        ),

        // MARK: Host — the HTTP server, the facade, the executable.
        .target(
            name: "Stowage",
            dependencies: [coreMetrics, httpTypes,
                "StowageCore", "StowageRouting", "StowageXML", "StowageFileStore", "StowageSigV4", "StowagePolicy", "StowageCORS", "StowageCluster",
                "StowageInProcessTransport", "StowageQUIC", "CStowageOpenSSL",
                nioCore,
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                logging,
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                serviceLifecycle,
            ],
            path: "Sources/Host/Stowage",
            swiftSettings: strict
        ),
        .target(
            name: "StowageTesting",
            dependencies: ["Stowage", "StowageCore", nioCore],
            path: "Sources/Host/StowageTesting",
            swiftSettings: strict
        ),
        .target(
            name: "StowageBench",
            dependencies: [
                "StowageCore", "StowageSigV4",
                nioCore,
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Sources/Host/StowageBench",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "StowageCLI",
            dependencies: [logging, "StowageCore",
                "Stowage", "StowageBench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                serviceLifecycle,
                nioCore,
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Sources/Host/StowageCLI",
            swiftSettings: strict
        ),

        // MARK: Tests
        .target(
            name: "StowageBackendConformance",
            dependencies: [nioCore, "StowageCore"],
            path: "Tests/BackendConformance",
            swiftSettings: strict
        ),
        .testTarget(
            name: "StowageCoreTests",
            dependencies: [logging,
                "StowageCore", "StowageBackendConformance",
                nioCore, httpTypes,
            ],
            path: "Tests/StowageCoreTests",
            swiftSettings: testSettings
        ),
        .testTarget(
            name: "StowageRoutingTests",
            dependencies: [httpTypes, logging, "StowageRouting", "StowageCore"],
            path: "Tests/StowageRoutingTests",
            swiftSettings: testSettings
        ),
        .testTarget(
            name: "StowageSigV4Tests",
            dependencies: [httpTypes, "StowageSigV4", "StowageCore", "StowageBackendConformance", logging],
            path: "Tests/StowageSigV4Tests",
            swiftSettings: testSettings
        ),
        .testTarget(
            name: "StowagePolicyTests",
            dependencies: ["StowagePolicy", "StowageCore", "StowageBackendConformance", "StowageFileStore", httpTypes, logging],
            path: "Tests/StowagePolicyTests",
            swiftSettings: testSettings
        ),
        .testTarget(
            name: "StowageCORSTests",
            dependencies: ["StowageCORS", "StowageCore", "StowageFileStore", "StowageXML", httpTypes, logging],
            path: "Tests/StowageCORSTests",
            swiftSettings: testSettings
        ),
        .testTarget(
            name: "StowageXMLTests",
            dependencies: [httpTypes, logging, nioCore, "StowageXML", "StowageCore"],
            path: "Tests/StowageXMLTests",
            swiftSettings: testSettings
        ),
        .testTarget(
            name: "StowageSQLiteIndexTests",
            dependencies: ["StowageSQLiteIndex", "StowageCore", grdb, logging],
            path: "Tests/StowageSQLiteIndexTests",
            swiftSettings: testSettings
        ),
        .testTarget(
            name: "StowageLocalFilesTests",
            dependencies: ["StowageLocalFiles", "StowageCore", "StowageBackendConformance"],
            path: "Tests/StowageLocalFilesTests",
            swiftSettings: testSettings
        ),
        .testTarget(
            name: "StowageFileStoreTests",
            dependencies: ["StowageLocalFiles", nioCore,
                "StowageFileStore", "StowageCore", "StowageBackendConformance",
                grdb,
            ],
            path: "Tests/StowageFileStoreTests",
            swiftSettings: testSettings
        ),
        .target(
            name: "StowageTransportConformance",
            dependencies: ["StowageCore", nioCore, httpTypes],
            path: "Tests/TransportConformance",
            swiftSettings: strict
        ),
        .testTarget(
            name: "StowageQUICTests",
            dependencies: [
                "StowageQUIC", "StowageCore", "StowageTransportConformance", nioCore, httpTypes,
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tests/StowageQUICTests",
            swiftSettings: testSettings
        ),
        .testTarget(
            name: "StowageInProcessTransportTests",
            dependencies: [
                "StowageInProcessTransport", "StowageCore", "StowageTransportConformance",
                nioCore, httpTypes,
            ],
            path: "Tests/StowageInProcessTransportTests",
            swiftSettings: testSettings
        ),
        .testTarget(
            name: "StowageTestingTests",
            dependencies: ["StowageTesting", "Stowage", "StowageCore", "StowageSigV4"],
            path: "Tests/StowageTestingTests",
            swiftSettings: testSettings
        ),
        .testTarget(
            name: "StowageHostTests",
            dependencies: [httpTypes,
                "Stowage", "StowageCore", "StowageFileStore", "StowageCluster", "StowageQUIC",
                serviceLifecycle,
                logging,
                nioCore,
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            path: "Tests/StowageHostTests",
            swiftSettings: testSettings
        ),
        .testTarget(
            name: "StowageErasureTests",
            dependencies: ["StowageErasure", "StowageCore"],
            path: "Tests/StowageErasureTests",
            swiftSettings: testSettings
        ),
        .testTarget(
            name: "StowageClusterTests",
            dependencies: [
                "StowageCluster", "StowageCore", "StowageErasure", "StowageInProcessTransport", "StowageBackendConformance",
                logging, nioCore, httpTypes, serviceLifecycle, grdb,
            ],
            path: "Tests/StowageClusterTests",
            swiftSettings: testSettings
        ),
        .testTarget(
            name: "StowageCLITests",
            dependencies: ["StowageCLI", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Tests/StowageCLITests",
            swiftSettings: testSettings
        ),

        // MARK: Benchmarks
        .executableTarget(
            name: "QUICBench",
            dependencies: ["StowageQUIC", "StowageInProcessTransport", "StowageCore", nioCore, httpTypes],
            path: "Benchmarks/QUICBench",
            swiftSettings: strict
        ),

        // MARK: Examples
        .target(
            name: "ReadOnlyServer",
            dependencies: [
                "Stowage", "StowageCore", "StowageRouting", "StowageXML", "StowageFileStore",
                httpTypes, logging,
            ],
            path: "Examples/CustomServer/ReadOnly",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "CustomServerExample",
            dependencies: ["Stowage", "ReadOnlyServer", "StowageCore"],
            path: "Examples/CustomServer/Server",
            swiftSettings: strict
        ),
        .testTarget(
            name: "CustomServerExampleTests",
            dependencies: ["Stowage", "StowageCore", "ReadOnlyServer"],
            path: "Examples/CustomServer/Tests",
            swiftSettings: testSettings
        ),
        .testTarget(
            name: "EmbeddedInTestsExample",
            dependencies: ["StowageTesting"],
            path: "Examples/EmbeddedInTests",
            swiftSettings: testSettings
        ),
        .target(
            name: "BearerAuth",
            dependencies: ["Stowage", "StowageCore", httpTypes],
            path: "Examples/CustomAuthStage/BearerAuth",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "CustomAuthStageExample",
            dependencies: ["BearerAuth", "Stowage", "StowageCore", logging],
            path: "Examples/CustomAuthStage/Server",
            swiftSettings: strict
        ),
        .testTarget(
            name: "CustomAuthStageExampleTests",
            dependencies: ["BearerAuth", "Stowage", "StowageCore"],
            path: "Examples/CustomAuthStage/Tests",
            swiftSettings: testSettings
        ),
        .target(
            name: "BucketsEndpoint",
            dependencies: ["Stowage", "StowageCore", httpTypes],
            path: "Examples/CustomEndpoint/BucketsEndpoint",
            swiftSettings: strict
        ),
        .testTarget(
            name: "CustomEndpointExampleTests",
            dependencies: ["BucketsEndpoint", "Stowage", "StowageCore"],
            path: "Examples/CustomEndpoint/Tests",
            swiftSettings: testSettings
        ),
        .target(
            name: "TracingTransport",
            dependencies: [httpTypes, "Stowage", "StowageCore"],
            path: "Examples/CustomTransport/TracingTransport",
            swiftSettings: strict
        ),
        .testTarget(
            name: "CustomTransportExampleTests",
            dependencies: [
                "TracingTransport", "Stowage", "StowageCore",
                nioCore, httpTypes,
                logging,
            ],
            path: "Examples/CustomTransport/Tests",
            swiftSettings: testSettings
        ),
        .target(
            name: "InMemoryBackend",
            dependencies: ["StowageCore", nioCore],
            path: "Examples/InMemoryBackend/Backend",
            swiftSettings: strict
        ),
        .testTarget(
            name: "InMemoryBackendTests",
            dependencies: ["InMemoryBackend", "StowageBackendConformance", "StowageCore", "Stowage"],
            path: "Examples/InMemoryBackend/Tests",
            swiftSettings: testSettings
        ),
    ]
)
