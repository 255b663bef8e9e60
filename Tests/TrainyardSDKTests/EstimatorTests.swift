import Foundation
import Testing
@testable import Trainyard

struct EstimatorTests {
    static let client = TrainyardClient(connection: TrainyardConnection(url: URL(string: "http://127.0.0.1:1")!, apiKey: nil))

    @Test func itsSpecIsTheSDKsArgumentsInTheAPIsNames() throws {
        let estimator = Estimator(
            client: Self.client, entryPoint: "train.py", sourceURI: "s3://code/src.tar.gz", instanceType: "ml.g5.xlarge", instanceCount: 2,
            useSpotInstances: true, maxRun: .hours(4), maxWait: .hours(8), checkpointS3URI: "s3://ckpt/run-7", outputPath: "s3://models/",
            hyperparameters: ["epochs": "30"], metricDefinitions: [.init(name: "loss", regex: "loss=([0-9.]+)")], distribution: .torchDistributed)
        let spec = try estimator.spec(inputs: ["train": "s3://datasets/mnist"], jobName: "run-7")
        #expect(spec.name == "run-7" && spec.instanceType == "ml.g5.xlarge" && spec.instanceCount == 2)
        #expect(spec.maxRun == 14_400 && spec.maxWait == 28_800 && spec.useSpotInstances == true)
        #expect(spec.entryPoint == "train.py" && spec.sourceDir == "s3://code/src.tar.gz")
        #expect(spec.hyperparameters?.additionalProperties == ["epochs": "30"])
        #expect(spec.inputs?.additionalProperties["train"] == .InputURI("s3://datasets/mnist"))
        #expect(spec.distribution?.torchDistributed?.enabled == true)
        #expect(spec.checkpointS3Uri == "s3://ckpt/run-7" && spec.outputPath == "s3://models/")
        let encoded = String(decoding: try JSONEncoder().encode(spec), as: UTF8.self)
        #expect(encoded.contains(#""use_spot_instances":true"#) && encoded.contains(#""max_wait":28800"#))
    }

    @Test func aDurationThatIsNotWholeSecondsIsRefusedBeforeAnyRequest() {
        let estimator = Estimator(client: Self.client, command: ["true"], instanceType: "ml.m5.large", maxRun: .milliseconds(1500))
        #expect(throws: TrainyardError.self) { try estimator.spec(jobName: "x") }
    }

    @Test func generatedNamesAreTheSDKsBaseAndTime() {
        let now = Date(timeIntervalSince1970: 1_796_374_200.5)
        #expect(JobNames.generate(base: "train.py", now: now) == "train-2026-12-04-08-50-00-500")
        #expect(JobNames.generate(base: "--my_model--", now: now) == "my-model-2026-12-04-08-50-00-500")
        #expect(JobNames.generate(base: String(repeating: "a", count: 80), now: now).count == 63)
        #expect(JobNames.generate(base: "??", now: now) == "job-2026-12-04-08-50-00-500")
    }
}
