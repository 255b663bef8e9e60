import Foundation
import Testing

@testable import TrainyardCore

@Suite struct EnvironmentTests {
    let layout = WorkerLayout(root: "/opt/ml")

    @Test func clusterVariablesAreCompactJSON() {
        // when
        let env = SageMakerContract.environment(ContractFixtures.assignment(), layout: layout)
        // then
        #expect(env["SM_HOSTS"] == #"["algo-1","algo-2"]"#)
        #expect(env["SM_CURRENT_HOST"] == "algo-2")
        #expect(env["SM_CURRENT_INSTANCE_GROUP"] == "homogeneousCluster")
        #expect(env["SM_INSTANCE_GROUPS"] == #"["homogeneousCluster"]"#)
        #expect(env["SM_IS_HETERO"] == "false")
        #expect(env["SM_NUM_CPUS"] == "8")
        #expect(env["SM_NUM_GPUS"] == "0")
        #expect(env["SM_NUM_NEURONS"] == "0")
        #expect(env["SM_NETWORK_INTERFACE_NAME"] == "eth0")
        #expect(env["SM_HOST_COUNT"] == "2")
        #expect(env["SM_CURRENT_HOST_RANK"] == "1")
        #expect(env["SM_MASTER_ADDR"] == "algo-1")
        #expect(env["SM_MASTER_PORT"] == "7777")
        #expect(env["TRAINING_JOB_NAME"] == "job-1")
        #expect(env["CURRENT_HOST"] == "algo-2")
        #expect(env["AWS_REGION"] == "us-east-1")
        #expect(env["SM_RESOURCE_CONFIG"]?.hasPrefix(#"{"current_group_name":"homogeneousCluster","current_host":"algo-2""#) == true)
    }

    @Test func pathsAndChannelsFollowTheLayout() {
        let env = SageMakerContract.environment(ContractFixtures.assignment(), layout: WorkerLayout(root: "/w/job-1/algo-2"))
        #expect(env["SM_MODEL_DIR"] == "/w/job-1/algo-2/model")
        #expect(env["SM_CHANNEL_TRAIN"] == "/w/job-1/algo-2/input/data/train")
        #expect(env["SM_CHANNEL_TEST-SET"] == "/w/job-1/algo-2/input/data/test-set")
        #expect(env["SM_CHANNELS"] == #"["test-set","train"]"#)
        #expect(env["SM_OUTPUT_FAILURE"] == "/w/job-1/algo-2/output/failure")
        #expect(env["SM_CHECKPOINT_DIR"] == "/w/job-1/algo-2/checkpoints")
        #expect(env["SM_MODULE_DIR"] == "/w/job-1/algo-2/code")
    }

    @Test func hyperparametersAreDecodedAsTheToolkitReadsThem() {
        let env = SageMakerContract.environment(ContractFixtures.assignment(), layout: layout)
        #expect(env["SM_HPS"] == #"{"epochs":3,"max-leaf-nodes":8,"name":"x"}"#)
        #expect(env["SM_HP_MAX-LEAF-NODES"] == "8")
        #expect(env["SM_HP_NAME"] == "x")
        #expect(env["SM_HP_EPOCHS"] == "3")
        #expect(env["SM_HP_SAGEMAKER_PROGRAM"] == nil)
        #expect(env["SM_USER_ARGS"] == #"["--epochs","3","--max-leaf-nodes","8","--name","x"]"#)
        #expect(env["SM_USER_ENTRY_POINT"] == "train.py")
        #expect(env["SM_MODULE_NAME"] == "train")
        #expect(env["SM_LOG_LEVEL"] == "20")
    }

    @Test func nonStringHyperparametersBecomeCompactJSONWithSortedKeys() {
        let spec = ContractFixtures.spec(hyperparameters: ["nested": #"{"b": [1, 2.5], "a": true}"#, "raw": "not json", "sagemaker_extra": "1"])
        let env = SageMakerContract.environment(ContractFixtures.assignment(spec: spec), layout: layout)
        #expect(env["SM_HP_NESTED"] == #"{"a":true,"b":[1,2.5]}"#)
        #expect(env["SM_HP_RAW"] == "not json")
        #expect(env["SM_FRAMEWORK_PARAMS"] == #"{"sagemaker_extra":1}"#)
    }

    @Test func trainingEnvHoldsEveryToolkitProperty() throws {
        let env = SageMakerContract.environment(ContractFixtures.assignment(), layout: layout)
        let json = try #require(env["SM_TRAINING_ENV"])
        let object = try #require(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        for key in ["hosts", "current_host", "channel_input_dirs", "hyperparameters", "model_dir", "num_gpus", "job_name", "module_name",
                    "resource_config", "input_data_config", "is_master", "master_hostname", "user_entry_point"] {
            #expect(object[key] != nil, "\(key)")
        }
        #expect(object["job_name"] as? String == "job-1")
        #expect((object["channel_input_dirs"] as? [String: String])?["train"] == "/opt/ml/input/data/train")
    }

    @Test func theUsersEnvironmentWins() {
        let spec = ContractFixtures.spec(environment: ["SM_NUM_GPUS": "7", "EXTRA": "1"])
        let env = SageMakerContract.environment(ContractFixtures.assignment(spec: spec), layout: layout)
        #expect(env["SM_NUM_GPUS"] == "7")
        #expect(env["EXTRA"] == "1")
    }

    @Test func torchDistributedGetsTheRendezvousVariables() {
        let spec = ContractFixtures.spec(distribution: Distribution(torchDistributedEnabled: true))
        let env = SageMakerContract.environment(ContractFixtures.assignment(spec: spec), layout: layout)
        #expect(env["MASTER_ADDR"] == "algo-1")
        #expect(env["MASTER_PORT"] == "7777")
        #expect(env["WORLD_SIZE"] == "2")
        #expect(env["NODE_RANK"] == "1")
        #expect(env["NCCL_SOCKET_IFNAME"] == "eth0")
        #expect(env["NCCL_PROTO"] == "simple")
        let plain = SageMakerContract.environment(ContractFixtures.assignment(), layout: layout)
        #expect(plain["MASTER_ADDR"] == nil)
    }

    @Test func mpiPutsTheGroupIntoTheDistribution() {
        let spec = ContractFixtures.spec(distribution: Distribution(mpiEnabled: true, mpiProcessesPerHost: 4))
        let env = SageMakerContract.environment(ContractFixtures.assignment(spec: spec), layout: layout)
        #expect(env["SM_DISTRIBUTION_INSTANCE_GROUPS"] == #"["homogeneousCluster"]"#)
        #expect(
            env["SM_FRAMEWORK_PARAMS"]
                == #"{"sagemaker_mpi_custom_mpi_options":"","sagemaker_mpi_enabled":true,"sagemaker_mpi_num_of_processes_per_host":4}"#
        )
        #expect(env["NCCL_SOCKET_IFNAME"] == "eth0")
    }
}
