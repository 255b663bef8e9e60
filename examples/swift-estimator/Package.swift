// swift-tools-version:6.1
import PackageDescription

// A program of a Trainyard user: it depends on the SDK (the `Trainyard` library) by path, as a team's own package
// would depend on it by URL.
let package = Package(
    name: "swift-estimator",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "trainyard", path: "../..")],
    targets: [
        .executableTarget(name: "swift-estimator", dependencies: [.product(name: "Trainyard", package: "trainyard")])
    ]
)
