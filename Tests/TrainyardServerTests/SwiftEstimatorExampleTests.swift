import Foundation
import Testing
import TrainyardObjectStore

/// `examples/swift-estimator`, a separate package that depends on the SDK by path, built as its README says and run
/// against a real server with only a URL and a key. Building it compiles the SDK and its dependencies afresh, so it
/// runs on its own in `scripts/test` (`TRAINYARD_EXAMPLE_TEST=1`), where the build cannot slow the other tests down.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["TRAINYARD_EXAMPLE_TEST"] == "1"))
struct SwiftEstimatorExampleTests {
    @Test(.timeLimit(.minutes(30))) func theExamplePackageBuildsAndTrainsThroughTheSDK() async throws {
        let package = ServerSettingsTests.repository.appendingPathComponent("examples/swift-estimator").path
        // The example's own build, kept under this checkout's .build (ignored by git; a second run is incremental).
        let scratch = ServerSettingsTests.repository.appendingPathComponent(".build/swift-estimator").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let (built, buildOutput) = try await runTrainyard(
            ["swift", "build", "--package-path", package, "--scratch-path", scratch + "/build", "-j", "\(ProcessInfo.processInfo.activeProcessorCount)"],
            in: scratch, environment: [:], mergingErrors: true, timeout: .seconds(1500), executable: "/usr/bin/env")
        #expect(built == 0, "\(buildOutput.suffix(3000))")
        guard built == 0 else { return }
        try await LiveApp.run { app in
            let work = app.dataDirectory + "/user"
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            let (status, output) = try await runTrainyard(
                [], in: work, environment: ["TRAINYARD_URL": app.baseURL, "TRAINYARD_API_KEY": TestApp.adminToken], isolated: true,
                mergingErrors: true, timeout: .seconds(300), executable: scratch + "/build/debug/swift-estimator")
            #expect(status == 0, "\(output)")
            let name = try #require(output.firstMatch(of: /submitted (\S+)/).map { String($0.1) }, "\(output)")
            #expect(output.contains("algo-1 | algo-1 of ['algo-1', 'algo-2']: 0 samples, 3 epochs, lr=0.3"), "\(output)")
            #expect(output.contains("algo-2 | epoch=3 loss="), "\(output)")
            #expect(output.contains("\(name) Completed"), "\(output)")
            #expect(output.contains("loss on algo-1: ") && output.contains("loss on algo-2: "), "\(output)")
            let job = try await app.describe(name)
            let model = try #require(job["model_artifacts"] as? [String: Any])
            #expect(output.contains("model.tar.gz \(model["size_bytes"] as? Int ?? -1) B sha256 \(model["sha256"] as? String ?? "-")"), "\(output)")
            try TarArchive.extract(work + "/model.tar.gz", into: work + "/model")
            #expect(FileManager.default.fileExists(atPath: work + "/model/model-algo-1.json"))
            #expect(FileManager.default.fileExists(atPath: work + "/model/model-algo-2.json"))
        }
    }
}
