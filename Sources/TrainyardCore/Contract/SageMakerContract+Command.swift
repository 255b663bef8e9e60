import Foundation

extension SageMakerContract {
    /// The argv of the training process on one host, run with `layout.code` as its working
    /// directory.
    ///
    /// In order of precedence:
    /// 1. the spec's `command`, as it is;
    /// 2. the spec's `entry_point`, inside `layout.code`;
    /// 3. the SDK frameworks' convention: the JSON-decoded `sagemaker_program`
    ///    hyperparameter (`"\"train.py\""` → `train.py`), run the same way.
    ///
    /// A program runs as the toolkit's `ProcessRunner` does: a `.py` file as
    /// `python3 <code>/<entry> <args>`, anything else (`.sh` included) as
    /// `/bin/sh -c "<code>/<entry> <args>"` (words that need it single-quoted; the file must
    /// be executable). `<args>` is ``commandArguments(hyperparameters:)``. With
    /// `torch_distributed` (the spec's `distribution` or the
    /// `sagemaker_torch_distributed_enabled` hyperparameter) on more than one GPU or host, a
    /// `.py` program is launched as `torchrun --nnodes N --nproc_per_node max(gpus, 1)
    /// [--master_addr <hosts[0]> --master_port P --node_rank R] <code>/<entry> <args>`, the
    /// bracketed part only with more than one host, as the toolkit's
    /// `TorchDistributedRunner` does.
    ///
    /// - Throws: ``ContractError/nothingToRun`` and
    ///   ``ContractError/unsupportedEntryPointForTorchDistributed(entryPoint:)``.
    public static func command(_ a: WorkerAssignment, layout: WorkerLayout) throws -> [String] {
        let spec = a.spec
        if let command = spec.command, !command.isEmpty { return command }
        let program: String
        if let entryPoint = spec.entryPoint, !entryPoint.isEmpty {
            program = entryPoint
        } else if let decoded = sageMakerString("sagemaker_program", in: spec), !decoded.isEmpty {
            program = decoded
        } else {
            throw ContractError.nothingToRun
        }
        let path = layout.code + "/" + program
        let arguments = commandArguments(hyperparameters: spec.hyperparameters)
        let isPython = program.hasSuffix(".py")
        let framework = frameworkParameters(spec, gpus: a.gpus)
        if isTorchDistributed(framework), a.gpus > 1 || a.hosts.count > 1 {
            guard isPython else { throw ContractError.unsupportedEntryPointForTorchDistributed(entryPoint: program) }
            var argv = ["torchrun", "--nnodes", String(a.hosts.count), "--nproc_per_node", String(max(a.gpus, 1))]
            if a.hosts.count > 1 {
                argv += [
                    "--master_addr", a.hosts.first ?? a.hostName, "--master_port", String(a.masterPort),
                    "--node_rank", String(a.hostIndex ?? 0),
                ]
            }
            return argv + [path] + arguments
        }
        if isPython { return ["python3", path] + arguments }
        return ["/bin/sh", "-c", ([path] + arguments).map(shellQuoted).joined(separator: " ")]
    }

    /// `shlex.quote`: the word as it is when it is made of safe characters only, else in
    /// single quotes.
    static func shellQuoted(_ word: String) -> String {
        if word.isEmpty { return "''" }
        let safe = word.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "@%+=:,./-_".unicodeScalars.contains(scalar))
        }
        return safe ? word : "'" + word.replacingOccurrences(of: "'", with: "'\"'\"'") + "'"
    }
}
