extension SageMakerContract {
    /// Hyperparameters the toolkit reserves (`params.SAGEMAKER_HYPERPARAMETERS`): kept out of
    /// the user's hyperparameters and out of the framework parameters.
    static let reservedHyperparameters: Set<String> = [
        "sagemaker_program", "sagemaker_submit_directory", "sagemaker_enable_cloudwatch_metrics",
        "sagemaker_region", "sagemaker_container_log_level", "sagemaker_job_name",
        "default_user_module_name", "_tuning_objective_metric", "sagemaker_s3_output",
    ]

    /// The toolkit's `read_hyperparameters` followed by `split_by_criteria`.
    struct Hyperparameters: Sendable {
        /// Every hyperparameter, each value `json.loads`-ed or kept as a string, in key order.
        var all: [(String, ContractJSON)]
        /// The user's hyperparameters: neither reserved nor prefixed `sagemaker_` (`SM_HPS`).
        var user: [(String, ContractJSON)]
        /// The reserved and `sagemaker_`-prefixed ones.
        var sageMaker: [String: ContractJSON]
        /// `sagemaker_`-prefixed ones that are not reserved (`SM_FRAMEWORK_PARAMS`).
        var framework: [String: ContractJSON]

        init(_ raw: [String: String]) {
            all = raw.keys.sorted(by: ContractJSON.codePointLess).map { ($0, ContractJSON.hyperparameter(raw[$0]!)) }
            user = all.filter { !SageMakerContract.isSageMakerKey($0.0) }
            sageMaker = Dictionary(uniqueKeysWithValues: all.filter { SageMakerContract.isSageMakerKey($0.0) })
            framework = sageMaker.filter { !SageMakerContract.reservedHyperparameters.contains($0.key) }
        }
    }

    static func isSageMakerKey(_ key: String) -> Bool {
        reservedHyperparameters.contains(key) || key.hasPrefix("sagemaker_")
    }

    /// The framework parameters of a spec: the `sagemaker_*` hyperparameters that are not
    /// reserved, plus what the SageMaker Python SDK would have injected for the spec's
    /// `distribution` when the hyperparameters do not say it already
    /// (`sagemaker_torch_distributed_enabled`; `sagemaker_mpi_enabled`,
    /// `sagemaker_mpi_num_of_processes_per_host`, `sagemaker_mpi_custom_mpi_options`).
    static func frameworkParameters(_ spec: JobSpec, gpus: Int) -> [String: ContractJSON] {
        var framework = Hyperparameters(spec.hyperparameters).framework
        if let distribution = spec.distribution {
            if distribution.torchDistributedEnabled, framework["sagemaker_torch_distributed_enabled"] == nil {
                framework["sagemaker_torch_distributed_enabled"] = .bool(true)
            }
            if distribution.mpiEnabled, framework["sagemaker_mpi_enabled"] == nil {
                framework["sagemaker_mpi_enabled"] = .bool(true)
                framework["sagemaker_mpi_num_of_processes_per_host"] = .int(distribution.mpiProcessesPerHost ?? max(gpus, 1))
                framework["sagemaker_mpi_custom_mpi_options"] = .string("")
            }
        }
        return framework
    }

    /// The toolkit's `mapping.to_cmd_args` over the user's hyperparameters: for each key in
    /// code-point order `--key value` (`-k` for a one-character key); a value is Python's
    /// `str()` of its `json.loads`-ed form (`"\"x\""` → `x`, `"true"` → `True`,
    /// `"1e-3"` → `0.001`), and a dict becomes `k=v,k2=v2` with its keys sorted.
    /// `sagemaker_*` and the other reserved hyperparameters are left out.
    public static func commandArguments(hyperparameters: [String: String]) -> [String] {
        toCommandArguments(Hyperparameters(hyperparameters).user)
    }

    static func toCommandArguments(_ user: [(String, ContractJSON)]) -> [String] {
        var arguments: [String] = []
        for (key, value) in user.sorted(by: { ContractJSON.codePointLess($0.0, $1.0) }) {
            arguments.append(key.isEmpty ? "" : (key.count > 1 ? "--" : "-") + key)
            switch value {
            case .null:
                arguments.append("")
            case .object(let members):
                arguments.append(
                    members.sorted { ContractJSON.codePointLess($0.0, $1.0) }
                        .map { "\($0.0)=\($0.1.pythonStr)" }
                        .joined(separator: ",")
                )
            default:
                arguments.append(value.pythonStr)
            }
        }
        return arguments
    }

    /// The JSON-decoded string value of a `sagemaker_*` hyperparameter, when it is a string.
    static func sageMakerString(_ name: String, in spec: JobSpec) -> String? {
        spec.hyperparameters[name].map(ContractJSON.hyperparameter)?.stringValue
    }
}
