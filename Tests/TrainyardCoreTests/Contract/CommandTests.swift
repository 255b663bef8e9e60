import Testing

@testable import TrainyardCore

@Suite struct CommandTests {
    let layout = WorkerLayout(root: "/opt/ml")

    @Test func aCommandRunsAsGiven() throws {
        let spec = ContractFixtures.spec(command: ["bash", "-c", "echo hi"])
        #expect(try SageMakerContract.command(ContractFixtures.assignment(spec: spec), layout: layout) == ["bash", "-c", "echo hi"])
    }

    @Test func aPythonEntryPointRunsFromTheCodeDirectoryWithSortedArguments() throws {
        let argv = try SageMakerContract.command(ContractFixtures.assignment(), layout: layout)
        #expect(argv == ["python3", "/opt/ml/code/train.py", "--epochs", "3", "--max-leaf-nodes", "8", "--name", "x"])
    }

    @Test func aShellEntryPointRunsThroughBinSh() throws {
        let spec = ContractFixtures.spec(entryPoint: "run.sh", hyperparameters: ["lr": "0.1", "msg": "hello world"])
        let argv = try SageMakerContract.command(ContractFixtures.assignment(spec: spec), layout: layout)
        #expect(argv == ["/bin/sh", "-c", "/opt/ml/code/run.sh --lr 0.1 --msg 'hello world'"])
    }

    @Test func theSageMakerProgramHyperparameterIsTheFrameworkConvention() throws {
        let spec = ContractFixtures.spec(entryPoint: nil, hyperparameters: ["sagemaker_program": "\"fit.py\"", "epochs": "2"])
        let argv = try SageMakerContract.command(ContractFixtures.assignment(spec: spec), layout: layout)
        #expect(argv == ["python3", "/opt/ml/code/fit.py", "--epochs", "2"])
    }

    @Test func nothingToRunIsATypedError() {
        let spec = ContractFixtures.spec(entryPoint: nil, hyperparameters: [:])
        #expect(throws: ContractError.nothingToRun) {
            try SageMakerContract.command(ContractFixtures.assignment(spec: spec), layout: layout)
        }
    }

    @Test func toCmdArgsSortsKeysAndFormatsValuesAsPythonStr() {
        let args = SageMakerContract.commandArguments(hyperparameters: [
            "b": "true", "a-long": "\"s\"", "zeta": "1e-3", "dict": #"{"y": 2, "x": "v"}"#, "list": #"[1, "a"]"#,
            "sagemaker_job_name": "\"j\"", "_tuning_objective_metric": "loss",
        ])
        #expect(args == ["--a-long", "s", "-b", "True", "--dict", "x=v,y=2", "--list", "[1, 'a']", "--zeta", "0.001"])
    }

    @Test func torchDistributedWrapsTheScriptInTorchrun() throws {
        let spec = ContractFixtures.spec(hyperparameters: ["epochs": "3"], distribution: Distribution(torchDistributedEnabled: true))
        let argv = try SageMakerContract.command(ContractFixtures.assignment(gpus: 4, spec: spec), layout: layout)
        #expect(
            argv == [
                "torchrun", "--nnodes", "2", "--nproc_per_node", "4", "--master_addr", "algo-1", "--master_port", "7777",
                "--node_rank", "1", "/opt/ml/code/train.py", "--epochs", "3",
            ]
        )
    }

    @Test func torchDistributedOnOneHostAndOneGPURunsPlainPython() throws {
        let spec = ContractFixtures.spec(hyperparameters: [:], distribution: Distribution(torchDistributedEnabled: true))
        let single = ContractFixtures.assignment(host: "algo-1", hosts: ["algo-1"], gpus: 1, spec: spec)
        #expect(try SageMakerContract.command(single, layout: layout) == ["python3", "/opt/ml/code/train.py"])
        let multiGPU = ContractFixtures.assignment(host: "algo-1", hosts: ["algo-1"], gpus: 2, spec: spec)
        #expect(try SageMakerContract.command(multiGPU, layout: layout) == ["torchrun", "--nnodes", "1", "--nproc_per_node", "2", "/opt/ml/code/train.py"])
    }

    @Test func torchDistributedRejectsAShellEntryPoint() {
        let spec = ContractFixtures.spec(entryPoint: "run.sh", distribution: Distribution(torchDistributedEnabled: true))
        #expect(throws: ContractError.unsupportedEntryPointForTorchDistributed(entryPoint: "run.sh")) {
            try SageMakerContract.command(ContractFixtures.assignment(spec: spec), layout: layout)
        }
    }

    @Test func theSourceArchiveComesFromSourceDirOrTheSubmitDirectory() {
        #expect(SageMakerContract.sourceArchiveURI(ContractFixtures.assignment()) == "s3://code/src.tar.gz")
        var spec = ContractFixtures.spec(hyperparameters: ["sagemaker_submit_directory": "\"s3://b/job/source/sourcedir.tar.gz\""])
        spec.sourceDir = nil
        #expect(SageMakerContract.sourceArchiveURI(ContractFixtures.assignment(spec: spec)) == "s3://b/job/source/sourcedir.tar.gz")
        spec.hyperparameters = ["sagemaker_submit_directory": "\"/opt/ml/code\""]
        #expect(SageMakerContract.sourceArchiveURI(ContractFixtures.assignment(spec: spec)) == nil)
    }
}
