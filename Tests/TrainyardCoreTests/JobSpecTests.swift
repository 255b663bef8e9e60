import Foundation
import Testing

@testable import TrainyardCore

@Suite struct JobSpecTests {
    @Test func aSpecRoundTripsThroughJSON() throws {
        // given
        let spec = JobSpecValidatorTests.validSpec()
        // when
        let decoded = try JSONDecoder().decode(JobSpec.self, from: try JSONEncoder().encode(spec))
        // then
        #expect(decoded == spec)
    }

    @Test func aMinimalRowDecodesWithDefaults() throws {
        // given an old stored row with only the instance type
        let json = #"{"instance_type": "ml.m5.large", "command": ["python", "train.py"]}"#
        // when
        let spec = try JSONDecoder().decode(JobSpec.self, from: Data(json.utf8))
        // then
        #expect(spec == JobSpec(command: ["python", "train.py"], instanceType: "ml.m5.large"))
        #expect(spec.instanceCount == 1)
        #expect(spec.volumeSize == nil)
        #expect(spec.maxRun == 86_400)
        #expect(!spec.useSpotInstances)
        #expect(spec.hyperparameters.isEmpty && spec.inputs.isEmpty && spec.metricDefinitions.isEmpty)
    }

    @Test func jsonUsesSnakeCaseNames() throws {
        // given
        let spec = JobSpec(
            imageURI: "img", instanceType: "ml.m5.large", volumeSize: 30, maxWait: 10, checkpointS3URI: "s3://b12/c",
            checkpointLocalPath: "/c", outputPath: "s3://b12/o")
        // when
        let object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(spec)) as? [String: Any])
        // then
        for key in [
            "image_uri", "instance_type", "instance_count", "volume_size", "use_spot_instances", "max_run", "max_wait",
            "checkpoint_s3_uri", "checkpoint_local_path", "output_path", "metric_definitions", "max_retry_attempts",
            "retry_on_exit_codes", "keep_alive_period", "priority", "hyperparameters", "environment", "tags", "inputs",
        ] {
            #expect(object[key] != nil, "\(key)")
        }
        #expect(object["name"] == nil)
    }

    @Test func aChannelMayBeJustAURI() throws {
        let json = #"{"instance_type": "ml.m5.large", "inputs": {"train": "s3://bucket/train", "test": {"s3_uri": "s3://bucket/test", "distribution": "ShardedByS3Key"}}}"#
        let spec = try JSONDecoder().decode(JobSpec.self, from: Data(json.utf8))
        #expect(spec.inputs["train"] == InputChannel(s3URI: "s3://bucket/train"))
        #expect(spec.inputs["test"] == InputChannel(s3URI: "s3://bucket/test", distribution: "ShardedByS3Key"))
    }

    @Test(arguments: [
        (#"{"torch_distributed": {"enabled": true}}"#, Distribution(torchDistributedEnabled: true)),
        (#"{"mpi": {"enabled": true, "processes_per_host": 8}}"#, Distribution(mpiEnabled: true, mpiProcessesPerHost: 8)),
        (#"{"mpi": {"enabled": false}}"#, Distribution()),
        (#"{}"#, Distribution()),
    ])
    func distributionUsesTheSDKsShape(_ json: String, _ expected: Distribution) throws {
        let decoded = try JSONDecoder().decode(Distribution.self, from: Data(json.utf8))
        #expect(decoded == expected)
        #expect(try JSONDecoder().decode(Distribution.self, from: JSONEncoder().encode(decoded)) == decoded)
    }
}
