@testable import TrainyardCore

/// Assignments shared by the contract suites.
enum ContractFixtures {
    static func assignment(
        host: String = "algo-2",
        hosts: [String] = ["algo-1", "algo-2"],
        gpus: Int = 0,
        spec: JobSpec = spec()
    ) -> WorkerAssignment {
        WorkerAssignment(
            jobName: "job-1", jobARN: "arn:aws:sagemaker:local:000000000000:training-job/job-1", attempt: 1,
            hostName: host, hosts: hosts, instanceType: "ml.g5.2xlarge", vcpus: 8, gpus: gpus, memoryGiB: 32,
            region: "us-east-1", spec: spec, heartbeatIntervalSeconds: 10, stopGraceSeconds: 120,
            outputPrefix: "s3://models/job-1/attempts/1"
        )
    }

    static func spec(
        command: [String]? = nil,
        entryPoint: String? = "train.py",
        hyperparameters: [String: String] = ["epochs": "3", "name": "\"x\"", "max-leaf-nodes": "8", "sagemaker_program": "\"train.py\""],
        environment: [String: String] = [:],
        distribution: Distribution? = nil
    ) -> JobSpec {
        JobSpec(
            command: command, entryPoint: entryPoint, sourceDir: "s3://code/src.tar.gz", hyperparameters: hyperparameters,
            environment: environment, instanceType: "ml.g5.2xlarge", instanceCount: 2,
            checkpointS3URI: "s3://ckpt/job-1",
            inputs: [
                "train": InputChannel(s3URI: "s3://data/train", contentType: "text/csv", distribution: "ShardedByS3Key"),
                "test-set": InputChannel(s3URI: "s3://data/test", inputMode: "FastFile"),
            ],
            distribution: distribution
        )
    }
}
