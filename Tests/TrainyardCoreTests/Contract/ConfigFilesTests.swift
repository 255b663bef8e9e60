import Foundation
import Testing

@testable import TrainyardCore

@Suite struct ConfigFilesTests {
    let layout = WorkerLayout(root: "/opt/ml")

    func text(_ files: [ContractFile], _ path: String) -> String? {
        files.first { $0.path == path }.map { String(decoding: $0.contents, as: UTF8.self) }
    }

    @Test func aTwoHostJobGetsTheToolkitsResourceConfig() throws {
        // when
        let files = try SageMakerContract.configFiles(ContractFixtures.assignment(), layout: layout)
        // then
        #expect(
            text(files, "/opt/ml/input/config/resourceconfig.json")
                == #"{"current_group_name":"homogeneousCluster","current_host":"algo-2","current_instance_type":"ml.g5.2xlarge","#
                + #""hosts":["algo-1","algo-2"],"instance_groups":[{"hosts":["algo-1","algo-2"],"instance_group_name":"homogeneousCluster","#
                + #""instance_type":"ml.g5.2xlarge"}],"network_interface_name":"eth0"}"#
        )
    }

    @Test func inputDataConfigWritesFastFileAsFileWithDistributionAndContentType() throws {
        let files = try SageMakerContract.configFiles(ContractFixtures.assignment(), layout: layout)
        #expect(
            text(files, "/opt/ml/input/config/inputdataconfig.json")
                == #"{"test-set":{"RecordWrapperType":"None","S3DistributionType":"FullyReplicated","TrainingInputMode":"File"},"#
                + #""train":{"ContentType":"text/csv","RecordWrapperType":"None","S3DistributionType":"ShardedByS3Key","TrainingInputMode":"File"}}"#
        )
    }

    @Test func hyperparametersAreWrittenVerbatim() throws {
        // given
        let assignment = ContractFixtures.assignment()
        // when
        let files = try SageMakerContract.configFiles(assignment, layout: layout)
        // then
        let data = try #require(files.first { $0.path == "/opt/ml/input/config/hyperparameters.json" }).contents
        let decoded = try JSONDecoder().decode([String: String].self, from: data)
        #expect(decoded == assignment.spec.hyperparameters)
        #expect(decoded["name"] == "\"x\"")
        #expect(text(files, "/opt/ml/input/config/hyperparameters.json")?.contains(#""name":"\"x\"""#) == true)
    }

    @Test func checkpointConfigIsWrittenOnlyWithACheckpointURI() throws {
        let files = try SageMakerContract.configFiles(ContractFixtures.assignment(), layout: layout)
        #expect(text(files, "/opt/ml/input/config/checkpointconfig.json") == #"{"LocalPath":"/opt/ml/checkpoints","S3Uri":"s3://ckpt/job-1"}"#)
        var spec = ContractFixtures.spec()
        spec.checkpointS3URI = nil
        let without = try SageMakerContract.configFiles(ContractFixtures.assignment(spec: spec), layout: layout)
        #expect(without.map(\.path) == [layout.hyperparametersFile, layout.resourceConfigFile, layout.inputDataConfigFile])
    }

    @Test func aHostOutsideTheClusterIsRejected() {
        #expect(throws: ContractError.hostNotInCluster(host: "algo-3", hosts: ["algo-1", "algo-2"])) {
            try SageMakerContract.configFiles(ContractFixtures.assignment(host: "algo-3"), layout: layout)
        }
    }
}
