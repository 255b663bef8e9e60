extension SageMakerContract {
    /// The environment of the training process on one host.
    ///
    /// The `SM_*` set is the toolkit's `Environment.to_env_vars`: each property under an
    /// `SM_` prefix, uppercased, strings as they are and other values as compact JSON with
    /// sorted keys (`SM_HOSTS=["algo-1","algo-2"]`), `SM_CHANNEL_<NAME>` per channel and
    /// `SM_HP_<KEY>` per user hyperparameter (hyphens kept), and `SM_TRAINING_ENV` holding
    /// every property. Hyperparameters are read as `read_hyperparameters` does (each value
    /// `json.loads`-ed, else kept as a string). To that come the SDK v3 drivers' extras
    /// (`SM_INPUT_DATA_DIR`, `SM_OUTPUT_FAILURE`, `SM_MASTER_ADDR`, `SM_MASTER_PORT`,
    /// `SM_HOST_COUNT`, `SM_CURRENT_HOST_RANK`), `SM_CHECKPOINT_DIR`, the platform's
    /// `TRAINING_JOB_NAME`, `TRAINING_JOB_ARN`, `AWS_REGION`, what the toolkit exports
    /// (`SAGEMAKER_JOB_NAME`, `CURRENT_HOST`, `SAGEMAKER_REGION`), and for
    /// `torch_distributed` the rendezvous (`MASTER_ADDR`, `MASTER_PORT`, `WORLD_SIZE`,
    /// `NODE_RANK`, `NCCL_SOCKET_IFNAME`, `NCCL_PROTO`); MPI jobs get
    /// `NCCL_SOCKET_IFNAME` and their `sagemaker_mpi_*` framework parameters. The spec's
    /// `environment` is applied last and wins.
    ///
    /// A host missing from `hosts` is given rank 0; ``configFiles(_:layout:)`` rejects it.
    public static func environment(_ a: WorkerAssignment, layout: WorkerLayout) -> [String: String] {
        let spec = a.spec
        let hps = Hyperparameters(spec.hyperparameters)
        let framework = frameworkParameters(spec, gpus: a.gpus)
        let rank = a.hostIndex ?? 0
        let master = a.hosts.first ?? a.hostName

        // Environment.__init__
        let group = instanceGroupName
        let distributionGroups = framework["sagemaker_distribution_instance_groups"] ?? .strings(
            distributionFlags.contains { framework[$0]?.isTruthy == true } ? [group] : []
        )
        let inDistribution: Bool
        if case .array(let groups) = distributionGroups { inDistribution = groups.contains(.string(group)) } else { inDistribution = false }
        let distributionHosts = inDistribution ? a.hosts : []
        let masterHostname = distributionHosts.first ?? master
        let program = spec.entryPoint ?? hps.sageMaker["sagemaker_program"]?.stringValue
        let moduleName: String = {
            // str(sagemaker_hyperparameters.get("sagemaker_program", None)), then ".py" removed.
            let name = program ?? hps.sageMaker["sagemaker_program"]?.pythonStr ?? "None"
            return name.hasSuffix(".py") ? String(name.dropLast(3)) : name
        }()
        let moduleDir = hps.sageMaker["sagemaker_submit_directory"].map(\.pythonStr) ?? layout.code
        let logLevel = hps.sageMaker["sagemaker_container_log_level"] ?? .int(20)
        let channels = spec.inputs.keys.sorted(by: ContractJSON.codePointLess)
        let channelDirs = ContractJSON.object(Dictionary(uniqueKeysWithValues: channels.map { ($0, ContractJSON.string(layout.channel($0))) }))
        let resource = resourceConfig(a)
        let inputData = inputDataConfig(spec)
        let userHps = ContractJSON.object(hps.user)
        let frameworkJSON = ContractJSON.object(framework)
        let frameworkModule = spec.environment["SAGEMAKER_TRAINING_MODULE"]
        let userArgs = toCommandArguments(hps.user)

        // dict(Environment): every public property.
        let training: [String: ContractJSON] = [
            "additional_framework_parameters": frameworkJSON,
            "channel_input_dirs": channelDirs,
            "current_host": .string(a.hostName),
            "current_instance_group": .string(group),
            "current_instance_group_hosts": .strings(a.hosts),
            "current_instance_type": .string(a.instanceType),
            "distribution_hosts": .strings(distributionHosts),
            "distribution_instance_groups": distributionGroups,
            "framework_module": .optional(frameworkModule),
            "hosts": .strings(a.hosts),
            "hyperparameters": userHps,
            "input_config_dir": .string(layout.inputConfig),
            "input_data_config": inputData,
            "input_dir": .string(layout.input),
            "instance_groups": .strings([group]),
            "instance_groups_dict": .object([group: instanceGroup(a)]),
            "is_hetero": .bool(false),
            "is_master": .bool(a.hostName == masterHostname),
            "is_modelparallel_enabled": .null,
            "job_name": .string(a.jobName),
            "log_level": logLevel,
            "master_hostname": .string(masterHostname),
            "model_dir": .string(layout.model),
            "module_dir": .string(moduleDir),
            "module_name": .string(moduleName),
            "network_interface_name": .string(networkInterfaceName),
            "num_cpus": .int(a.vcpus),
            "num_gpus": .int(a.gpus),
            "num_neurons": .int(0),
            "output_data_dir": .string(layout.outputData),
            "output_dir": .string(layout.output),
            "output_intermediate_dir": .string(layout.outputIntermediate),
            "resource_config": resource,
            "user_entry_point": .optional(program),
        ]

        // Environment.to_env_vars
        var properties: [String: ContractJSON] = [
            "hosts": .strings(a.hosts),
            "network_interface_name": .string(networkInterfaceName),
            "hps": userHps,
            "user_entry_point": .optional(program),
            "framework_params": frameworkJSON,
            "resource_config": resource,
            "input_data_config": inputData,
            "output_data_dir": .string(layout.outputData),
            "channels": .strings(channels),
            "current_host": .string(a.hostName),
            "current_instance_type": .string(a.instanceType),
            "current_instance_group": .string(group),
            "current_instance_group_hosts": .strings(a.hosts),
            "instance_groups": .strings([group]),
            "instance_groups_dict": .object([group: instanceGroup(a)]),
            "distribution_instance_groups": distributionGroups,
            "is_hetero": .bool(false),
            "module_name": .string(moduleName),
            "log_level": logLevel,
            "framework_module": .optional(frameworkModule),
            "input_dir": .string(layout.input),
            "input_config_dir": .string(layout.inputConfig),
            "output_dir": .string(layout.output),
            "num_cpus": .int(a.vcpus),
            "num_gpus": .int(a.gpus),
            "num_neurons": .int(0),
            "model_dir": .string(layout.model),
            "module_dir": .string(moduleDir),
            "training_env": .object(training),
            "user_args": .strings(userArgs),
            "output_intermediate_dir": .string(layout.outputIntermediate),
        ]
        for channel in channels { properties["channel_" + channel] = .string(layout.channel(channel)) }
        for (key, value) in hps.user { properties["hp_" + key] = value }

        var env: [String: String] = [:]
        for (key, value) in properties where !key.isEmpty {
            env["SM_" + key.uppercased()] = envValue(value)
        }

        // SDK v3 drivers, platform and toolkit exports.
        env["SM_INPUT_DATA_DIR"] = layout.inputData
        env["SM_OUTPUT_FAILURE"] = layout.failureFile
        env["SM_MASTER_ADDR"] = master
        env["SM_MASTER_PORT"] = String(a.masterPort)
        env["SM_HOST_COUNT"] = String(a.hosts.count)
        env["SM_CURRENT_HOST_RANK"] = String(rank)
        env["SM_CHECKPOINT_DIR"] = layout.checkpoints(spec)
        env["TRAINING_JOB_NAME"] = a.jobName
        env["TRAINING_JOB_ARN"] = a.jobARN
        env["SAGEMAKER_JOB_NAME"] = hps.sageMaker["sagemaker_job_name"]?.pythonStr ?? a.jobName
        env["CURRENT_HOST"] = a.hostName
        env["AWS_REGION"] = a.region
        env["SAGEMAKER_REGION"] = hps.sageMaker["sagemaker_region"]?.pythonStr ?? a.region

        if isTorchDistributed(framework) {
            env["MASTER_ADDR"] = master
            env["MASTER_PORT"] = String(a.masterPort)
            env["WORLD_SIZE"] = String(a.hosts.count)
            env["NODE_RANK"] = String(rank)
            env["NCCL_SOCKET_IFNAME"] = networkInterfaceName
            env["NCCL_PROTO"] = "simple"
        }
        if framework["sagemaker_mpi_enabled"]?.isTruthy == true {
            env["NCCL_SOCKET_IFNAME"] = networkInterfaceName
        }

        env.merge(spec.environment) { _, user in user }
        return env
    }

    /// Framework parameters that put the current group into `distribution_instance_groups`
    /// (`get_distribution_instance_groups_from_resource_config`).
    static let distributionFlags = [
        "sagemaker_mpi_enabled", "sagemaker_parameter_server_enabled", "sagemaker_distributed_dataparallel_enabled",
        "sagemaker_pytorch_ddp_enabled", "sagemaker_pytorch_xla_multi_worker_enabled",
        "sagemaker_multi_worker_mirrored_strategy_enabled",
    ]

    static func isTorchDistributed(_ framework: [String: ContractJSON]) -> Bool {
        framework["sagemaker_torch_distributed_enabled"]?.isTruthy == true
    }

    /// `mapping.to_env_vars`' `format_value`: `None` → empty, strings raw, the rest compact JSON.
    static func envValue(_ value: ContractJSON) -> String {
        switch value {
        case .null: return ""
        case .string(let s): return s
        default: return value.compact
        }
    }
}
