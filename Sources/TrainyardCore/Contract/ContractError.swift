/// Why the training-container contract cannot be derived for an assignment.
public enum ContractError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The spec has no `command`, no `entry_point` and no `sagemaker_program` hyperparameter.
    case nothingToRun
    /// The assignment's host is not one of its hosts.
    case hostNotInCluster(host: String, hosts: [String])
    /// `torch_distributed` launches Python scripts only (the toolkit's `ClientError`).
    case unsupportedEntryPointForTorchDistributed(entryPoint: String)

    /// A message that says what to change.
    public var description: String {
        switch self {
        case .nothingToRun:
            return "The job has nothing to run: set command, or entry_point (with source_dir), or the sagemaker_program hyperparameter."
        case .hostNotInCluster(let host, let hosts):
            return "Host \(host) is not one of the attempt's hosts \(hosts)."
        case .unsupportedEntryPointForTorchDistributed(let entryPoint):
            return "torch_distributed runs Python scripts only; entry point \(entryPoint) is not a .py file. Use a .py entry point or a command."
        }
    }
}
