import Foundation
import Testing
import TrainyardServer
import TrainyardTestSupport

/// The sagemaker Python SDK, unchanged, against a live server and a real S3 server (SeaweedFS): v2's
/// `Estimator.fit()` and v3's `ModelTrainer.train()`, with their logs, as README's "Use it from SageMaker code" sets
/// them up (`sagemaker-compat.md` §4.3, §6 21-22).
@Suite(.serialized) struct SageMakerSDKTests {
    /// A training script as SageMaker's framework containers run it: hyperparameters as arguments, the channel and
    /// model directories from the environment.
    static let trainer = #"""
        import argparse, json, os
        parser = argparse.ArgumentParser()
        parser.add_argument("--epochs", type=int, default=1)
        args = parser.parse_args()
        files = sorted(os.listdir(os.environ["SM_CHANNEL_TRAIN"]))
        for epoch in range(args.epochs):
            print(f"epoch {epoch} loss={1 / (epoch + 1):.3f}", flush=True)
        with open(os.path.join(os.environ["SM_MODEL_DIR"], "model.json"), "w") as handle:
            json.dump({"files": files, "epochs": args.epochs}, handle)
        print("trained on", ",".join(files), flush=True)
        """#

    /// The environment of README's recipe: the Trainyard key for every AWS service, the SageMaker and Logs endpoints at
    /// the server, S3 at SeaweedFS, a default bucket and telemetry off in the SDK's config file.
    static func environment(_ app: LiveApp, seaweed: TestSeaweed, bucket: String, directory: String) throws -> [String: String] {
        let config = directory + "/sagemaker-config.yaml"
        try """
            SchemaVersion: '1.0'
            SageMaker:
              PythonSDK:
                Modules:
                  Session:
                    DefaultS3Bucket: \(bucket)
                  TelemetryOptOut: true
              TrainingJob:
                RoleArn: 'arn:aws:iam::000000000000:role/trainyard'
            """.write(toFile: config, atomically: true, encoding: .utf8)
        var environment = SageMakerClients.environment(app, token: app.token)
        environment["AWS_ENDPOINT_URL_S3"] = seaweed.endpoint
        environment["SAGEMAKER_USER_CONFIG_OVERRIDE"] = config
        environment["SAGEMAKER_VALIDATE_ROLE"] = "false"
        environment["BUCKET"] = bucket
        return environment
    }

    /// The README's example marked `<!-- tested: SageMakerSDKTests <label> -->`: the Python block that follows it.
    static func readmeExample(_ label: String) throws -> String {
        let readme = try String(contentsOf: ServerSettingsTests.repository.appendingPathComponent("README.md"), encoding: .utf8)
        guard let marker = readme.range(of: "<!-- tested: SageMakerSDKTests \(label) -->\n```python\n"),
            let end = readme.range(of: "\n```\n", range: marker.upperBound..<readme.endIndex)
        else { throw TestFailure("README.md has no Python example marked 'tested: SageMakerSDKTests \(label)'") }
        return String(readme[marker.upperBound..<end.lowerBound]) + "\n"
    }

    /// The README's example `label` run as a user runs it: from a directory holding `src/train.py`, with README's
    /// environment and `my-bucket` being the test's bucket; `checks` runs after it in the same script.
    static func runExample(_ label: String, checks: String, app: LiveApp, seaweed: TestSeaweed, bucket: String, scratch: String) async throws -> (Int32, String) {
        try FileManager.default.createDirectory(atPath: scratch + "/src", withIntermediateDirectories: true)
        try Self.trainer.write(toFile: scratch + "/src/train.py", atomically: true, encoding: .utf8)
        let version = label == "v2" ? TestAWSClients.sageMakerV2Version : TestAWSClients.sageMakerV3Version
        let venv = try await TestAWSClients.sageMakerVenv(version: version)
        let example = try readmeExample(label).replacingOccurrences(of: "my-bucket", with: bucket)
        let script = "import os\nos.chdir(\(String(reflecting: scratch)))\n" + example + checks
        let file = scratch + "/example-\(label).py"
        try script.write(toFile: file, atomically: true, encoding: .utf8)
        return try await TestSchemathesis.run(
            venv + "/bin/python", [file], environment: try Self.environment(app, seaweed: seaweed, bucket: bucket, directory: scratch))
    }

    /// Runs README's example `label` on a live server over SeaweedFS, then `jobName`'s Describe: the example printed
    /// the job's own lines (its logs) and ended on a completed job whose model the SDK knows as Describe does.
    static func expectExampleRunsItsJob(_ label: String, jobName: String, modelData: String, warmPool: String = "none") async throws {
        let scratch = try LiveApp.dataDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let (seaweed, _, bucket) = try await S3JobTests.bucketWithNumbers("sdk-\(label)", scratch: scratch)
        try await LiveApp.run(objectStore: S3JobTests.settings(seaweed, bucket: bucket)) { app in
            let checks = """
                import boto3
                described = boto3.client("sagemaker").describe_training_job(TrainingJobName=\(jobName))
                print("STATUS", described["TrainingJobStatus"], flush=True)
                print("MODEL_DATA", \(modelData), flush=True)
                print("ARTIFACTS", described["ModelArtifacts"]["S3ModelArtifacts"], flush=True)
                print("WARM", described.get("WarmPoolStatus", {}).get("Status", "none"), flush=True)

                """
            let (status, output) = try await Self.runExample(label, checks: checks, app: app, seaweed: seaweed, bucket: bucket, scratch: scratch)
            #expect(status == 0, "\(output)")
            #expect(output.contains("epoch 2 loss=0.333") && output.contains("trained on part-0.txt,part-1.txt,part-2.txt,part-3.txt"), "\(output)")
            #expect(output.contains("STATUS Completed"), "\(output)")
            #expect(output.contains("WARM \(warmPool)\n"), "\(output)")
            let lines = output.split(separator: "\n")
            let model = lines.first { $0.hasPrefix("MODEL_DATA ") }?.dropFirst("MODEL_DATA ".count)
            let artifacts = lines.first { $0.hasPrefix("ARTIFACTS ") }?.dropFirst("ARTIFACTS ".count)
            #expect(model != nil && model == artifacts && model?.hasPrefix("s3://\(bucket)/") == true, "\(output)")
        }
    }

    @Test func v2EstimatorFitRunsTheJobAndPrintsItsLogs() async throws {
        // The example keeps its host warm (keep_alive_period_in_seconds), as a user iterating on a script does.
        try await Self.expectExampleRunsItsJob(
            "v2", jobName: "estimator.latest_training_job.name", modelData: "estimator.model_data", warmPool: "Available")
    }

    @Test func v3ModelTrainerTrainRunsTheJobAndPrintsItsLogs() async throws {
        try await Self.expectExampleRunsItsJob(
            "v3", jobName: "trainer._latest_training_job.training_job_name", modelData: "trainer._latest_training_job.model_artifacts.s3_model_artifacts")
    }
}
