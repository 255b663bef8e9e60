/// The SageMaker `/opt/ml` tree, rooted anywhere.
///
/// The root is `/opt/ml` when the worker has its own mount namespace (a container), and the
/// worker's own directory otherwise (a plain local process); every path below is absolute
/// and the environment variables point at these paths.
public struct WorkerLayout: Sendable, Hashable {
    /// SageMaker's root of the tree.
    public static let sageMakerRoot = "/opt/ml"
    /// SageMaker's default checkpoint directory (`CheckpointConfig.LocalPath`).
    public static let sageMakerCheckpoints = "/opt/ml/checkpoints"

    /// The root of the tree, without a trailing slash.
    public let root: String

    /// Creates a layout rooted at `root` (trailing slashes are dropped).
    public init(root: String) {
        var trimmed = root
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.root = trimmed
    }

    private func under(_ path: String) -> String {
        root == "/" ? "/" + path : root + "/" + path
    }

    /// `<root>/input` (`SM_INPUT_DIR`).
    public var input: String { under("input") }
    /// `<root>/input/config` (`SM_INPUT_CONFIG_DIR`).
    public var inputConfig: String { under("input/config") }
    /// `<root>/input/data` (`SM_INPUT_DATA_DIR`).
    public var inputData: String { under("input/data") }
    /// `<root>/input/data/<name>` (`SM_CHANNEL_<NAME>`).
    public func channel(_ name: String) -> String { inputData + "/" + name }
    /// `<root>/input/config/hyperparameters.json`.
    public var hyperparametersFile: String { inputConfig + "/hyperparameters.json" }
    /// `<root>/input/config/resourceconfig.json`.
    public var resourceConfigFile: String { inputConfig + "/resourceconfig.json" }
    /// `<root>/input/config/inputdataconfig.json`.
    public var inputDataConfigFile: String { inputConfig + "/inputdataconfig.json" }
    /// `<root>/input/config/checkpointconfig.json`.
    public var checkpointConfigFile: String { inputConfig + "/checkpointconfig.json" }
    /// `<root>/code`: the user's code, and the working directory of the training process.
    public var code: String { under("code") }
    /// `<root>/model` (`SM_MODEL_DIR`), packaged as `model.tar.gz`.
    public var model: String { under("model") }
    /// `<root>/output` (`SM_OUTPUT_DIR`).
    public var output: String { under("output") }
    /// `<root>/output/data` (`SM_OUTPUT_DATA_DIR`), packaged as `output.tar.gz`.
    public var outputData: String { under("output/data") }
    /// `<root>/output/intermediate` (`SM_OUTPUT_INTERMEDIATE_DIR`).
    public var outputIntermediate: String { under("output/intermediate") }
    /// `<root>/output/failure`: the failure text a failed job leaves (`SM_OUTPUT_FAILURE`).
    public var failureFile: String { under("output/failure") }
    /// `<root>/output/success`: written when the training process exits 0.
    public var successFile: String { under("output/success") }

    /// The checkpoint directory of `spec` on this worker.
    ///
    /// Without `checkpoint_local_path` it is `<root>/checkpoints`. SageMaker's default
    /// `/opt/ml/checkpoints`, given explicitly, also maps to `<root>/checkpoints` when the
    /// root is not `/opt/ml`; any other absolute path is used as given, and a relative one is
    /// taken relative to the root.
    public func checkpoints(_ spec: JobSpec) -> String {
        guard var path = spec.checkpointLocalPath, !path.isEmpty else { return under("checkpoints") }
        while path.count > 1, path.hasSuffix("/") { path.removeLast() }
        if path == Self.sageMakerCheckpoints { return under("checkpoints") }
        if path.hasPrefix("/") { return path }
        return under(path)
    }

    /// Every directory the agent creates before the job starts, parents before children:
    /// the root, `input`, `input/config`, `input/data`, one per channel (sorted), `code`,
    /// `model`, `output`, `output/data`, `output/intermediate` and the checkpoint directory.
    public func directories(for spec: JobSpec) -> [String] {
        var list = [root, input, inputConfig, inputData]
        list += spec.inputs.keys.sorted(by: ContractJSON.codePointLess).map(channel)
        list += [code, model, output, outputData, outputIntermediate]
        let checkpointDirectory = checkpoints(spec)
        if !list.contains(checkpointDirectory) { list.append(checkpointDirectory) }
        return list
    }
}
