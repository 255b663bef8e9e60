import Foundation
import Trainyard

// Trains examples/mnist-like (a SageMaker script, unchanged) on a Trainyard server, as a SageMaker user's `Estimator(...).fit()` would: the code is
// uploaded through the server, the logs followed as they come, the model downloaded and checked.
//
//   TRAINYARD_URL=http://127.0.0.1:8080 TRAINYARD_API_KEY=… swift run swift-estimator [dataset URI]

let arguments = CommandLine.arguments.dropFirst()
// examples/, two levels above this package's Sources/swift-estimator.
let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

do {
    let client = try TrainyardClient()
    let estimator = Estimator(
        client: client,
        entryPoint: "train.py", sourceDir: examples.appendingPathComponent("mnist-like"),
        instanceType: "ml.m5.large", instanceCount: 2,
        maxRun: .minutes(30),
        hyperparameters: ["epochs": "3", "learning-rate": "0.3"],
        metricDefinitions: [.init(name: "loss", regex: "loss=([0-9.]+)")])
    let inputs = arguments.first.map { ["train": $0] } ?? [:]
    let job = try await estimator.fit(inputs: inputs, wait: false)
    print("submitted \(job.name)")
    for try await line in job.logs(follow: true) { print("\(line.host) | \(line.message)") }
    let done = try await job.wait()
    print("\(done.name) \(done.status.rawValue) in \(done.trainingTimeSeconds ?? 0) s")
    for series in try await job.metrics() where series.name == "loss" {
        print("loss on \(series.host ?? "-"): \(series.points.map { String($0.value) }.joined(separator: " "))")
    }
    let model = try await job.downloadModel(to: URL(fileURLWithPath: "model.tar.gz"))
    print("model.tar.gz \(model.sizeBytes) B sha256 \(model.sha256)")
} catch let error as TrainyardError {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}
