// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "trainyard",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "trainyard", targets: ["trainyard"]),
        .executable(name: "trainyard-server", targets: ["trainyard-server"]),
        .executable(name: "trainyard-agent", targets: ["trainyard-agent"]),
        .executable(name: "trainyard-bench-webhooks", targets: ["trainyard-bench-webhooks"]),
        .executable(name: "trainyard-bench-objects", targets: ["trainyard-bench-objects"]),
        .executable(name: "trainyard-bench-scale", targets: ["trainyard-bench-scale"]),
        .executable(name: "trainyard-bench-sdk", targets: ["trainyard-bench-sdk"]),
        .library(name: "Trainyard", targets: ["Trainyard"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/swift-openapi-hummingbird.git", exact: "2.1.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", exact: "1.33.2"),
        .package(url: "https://github.com/apple/swift-openapi-generator.git", exact: "1.14.3"),
        .package(url: "https://github.com/apple/swift-openapi-runtime.git", exact: "1.13.4"),
        .package(url: "https://github.com/swift-server/swift-openapi-async-http-client.git", exact: "1.5.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", exact: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", exact: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", exact: "2.1.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", exact: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", exact: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.81.0"),
        // `swift package generate-documentation --target Trainyard`: the SDK's DocC documentation.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", exact: "1.5.0"),
    ],
    targets: [
        .target(
            name: "TrainyardCore",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "TrainyardStore",
            dependencies: [
                "TrainyardCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            resources: [.copy("Migrations")]
        ),
        .target(
            name: "TrainyardObjectStore",
            dependencies: [
                "TrainyardCore",
                .product(name: "Logging", package: "swift-log"),
                // The S3 store's HTTP client.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                // Merged archives' SHA-256 for the job description.
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(
            name: "TrainyardProvisioning",
            dependencies: ["TrainyardCore", "CTrainyardSpawn", .product(name: "Logging", package: "swift-log")]
        ),
        // glibc's posix_spawn extensions (chdir, closefrom) and pipe2, which Swift's Glibc module does not export.
        .target(name: "CTrainyardSpawn"),
        .target(
            name: "TrainyardAgent",
            dependencies: [
                "TrainyardCore", "TrainyardObjectStore", "CTrainyardSpawn", "TrainyardAPI",
                // The agent protocol's client, generated in TrainyardAPI from openapi/trainyard.yaml (tag `agent`).
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIAsyncHTTPClient", package: "swift-openapi-async-http-client"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                // Checkpoint manifests record the SHA-256 of what was uploaded.
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "trainyard-agent", dependencies: ["TrainyardAgent", .product(name: "Logging", package: "swift-log")]),
        .target(
            name: "TrainyardAPI",
            // The one mapping between the generated wire types and Core's.
            dependencies: ["TrainyardCore", .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime")],
            plugins: [.plugin(name: "OpenAPIGenerator", package: "swift-openapi-generator")]
        ),
        .target(
            name: "TrainyardServer",
            dependencies: [
                "TrainyardCore", "TrainyardStore", "TrainyardAPI", "TrainyardObjectStore", "TrainyardProvisioning", "TrainyardSageMaker",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "OpenAPIHummingbird", package: "swift-openapi-hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // The webhook sender's HTTP client.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                // What the service records (requests, passes, log ingestion, deliveries), exposed at GET /metrics in
                // Prometheus's text format from a registry of each application's own.
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                // The web dashboard's pages, rendered on the server (HTML-escaped by default).
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            plugins: [.plugin(name: "OpenAPIGenerator", package: "swift-openapi-generator")]
        ),
        // The SageMaker-compatible endpoint (AWS JSON 1.1, SigV4, the CloudWatch Logs subset): AWS's operations mapped onto
        // the same core and repositories as /v1/jobs. Models/ holds the parts of botocore's service models it validates
        // against (scripts/aws-models writes them).
        .target(
            name: "TrainyardSageMaker",
            dependencies: ["TrainyardCore", "TrainyardStore"],
            resources: [.copy("Models")]
        ),
        .target(
            name: "Trainyard",
            dependencies: [
                "TrainyardAPI", "TrainyardCore",
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIAsyncHTTPClient", package: "swift-openapi-async-http-client"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                // The connection errors a request can end with, told to the user in words.
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                // Archives' SHA-256 both ways; webhook signatures (HMAC-SHA256).
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // What the executables share about their command line (a usage error exits 2).
        .target(name: "TrainyardCommandLine", dependencies: [.product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // The CLI: a client of the API only, with none of the server's modules, so that a process started per
        // submission (a sweep's shell loop) carries no more than it uses. `trainyard serve` runs trainyard-server.
        .executableTarget(
            name: "trainyard",
            dependencies: [
                "Trainyard", "TrainyardAPI", "TrainyardCommandLine",
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "trainyard-server",
            dependencies: [
                "TrainyardServer", "Trainyard", "TrainyardCommandLine",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // bench/webhooks' receiver and its baseline sender (a bare loop of AsyncHTTPClient POSTs).
        .executableTarget(
            name: "trainyard-bench-webhooks",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // bench/sdk's driver: one timed upload, download or log follow through the SDK.
        .executableTarget(name: "trainyard-bench-sdk", dependencies: ["Trainyard"]),
        // bench/objects' driver: one timed transfer through our object store.
        .executableTarget(
            name: "trainyard-bench-objects",
            dependencies: [
                "TrainyardObjectStore", "TrainyardCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "TrainyardTestSupport",
            dependencies: [
                "TrainyardStore", "TrainyardObjectStore", "TrainyardCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // bench/scale: the server with a handoff provisioner, and a driver that plays 1,000 hosts and the users.
        .executableTarget(
            name: "trainyard-bench-scale",
            dependencies: [
                "TrainyardServer", "TrainyardStore", "TrainyardAgent", "TrainyardProvisioning", "TrainyardCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(name: "TrainyardCoreTests", dependencies: ["TrainyardCore"]),
        // The SDK below a server: its error mapping and retries over canned answers, the webhook verifier's vectors.
        .testTarget(
            name: "TrainyardSDKTests",
            dependencies: [
                "Trainyard", "TrainyardCore", .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
            ],
            resources: [.copy("Resources")]),
        .testTarget(name: "TrainyardSageMakerTests", dependencies: ["TrainyardSageMaker", "TrainyardCore"]),
        // The agent's parts below a whole job: checkpoint sync against a filesystem store.
        .testTarget(
            name: "TrainyardAgentTests",
            dependencies: [
                "TrainyardAgent", "TrainyardObjectStore", "TrainyardCore", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The object store contract, against the filesystem store and a real SeaweedFS.
        .testTarget(
            name: "TrainyardObjectStoreTests",
            dependencies: [
                "TrainyardObjectStore", "TrainyardCore", "TrainyardTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "TrainyardStoreTests",
            dependencies: ["TrainyardStore", "TrainyardCore", "TrainyardTestSupport", .product(name: "InMemoryLogging", package: "swift-log")]),
        .testTarget(
            name: "TrainyardServerTests",
            dependencies: [
                "TrainyardServer", "TrainyardStore", "TrainyardCore", "Trainyard", "TrainyardTestSupport", "TrainyardObjectStore", "TrainyardProvisioning",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Hummingbird", package: "hummingbird"),
                // Webhook receivers verify signatures with their own HMAC, not the server's code.
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
    ]
)
