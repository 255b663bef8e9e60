import Foundation

/// The SageMaker training-container contract, as the sagemaker-training toolkit (5.1.4)
/// and the SDK v3 drivers expect it: the configuration files under `input/config`, the
/// `SM_*` environment, the command line, input sharding and the failure reason.
///
/// Everything here is pure: the agent does the I/O.
public enum SageMakerContract {
    /// The instance group of a homogeneous cluster (`current_group_name`).
    public static let instanceGroupName = "homogeneousCluster"
    /// The network interface reported to the job (`network_interface_name`).
    public static let networkInterfaceName = "eth0"
    /// Largest `FailureReason`, in characters.
    public static let failureReasonLimit = 1024

    /// The files the agent writes under `input/config` before the job starts:
    /// `hyperparameters.json` (the spec's map, values verbatim), `resourceconfig.json`,
    /// `inputdataconfig.json`, and `checkpointconfig.json` when the spec has a
    /// `checkpoint_s3_uri`. JSON is compact with sorted keys.
    ///
    /// - Throws: ``ContractError/hostNotInCluster(host:hosts:)``.
    public static func configFiles(_ a: WorkerAssignment, layout: WorkerLayout) throws -> [ContractFile] {
        guard a.hostIndex != nil else { throw ContractError.hostNotInCluster(host: a.hostName, hosts: a.hosts) }
        var files = [
            file(layout.hyperparametersFile, .object(a.spec.hyperparameters.mapValues(ContractJSON.string))),
            file(layout.resourceConfigFile, resourceConfig(a)),
            file(layout.inputDataConfigFile, inputDataConfig(a.spec)),
        ]
        if let uri = a.spec.checkpointS3URI {
            files.append(
                file(layout.checkpointConfigFile, .object(["LocalPath": .string(layout.checkpoints(a.spec)), "S3Uri": .string(uri)]))
            )
        }
        return files
    }

    private static func file(_ path: String, _ json: ContractJSON) -> ContractFile {
        ContractFile(path: path, contents: Data(json.compact.utf8))
    }

    /// `resourceconfig.json`: one homogeneous instance group holding every host.
    static func resourceConfig(_ a: WorkerAssignment) -> ContractJSON {
        .object([
            "current_host": .string(a.hostName),
            "current_instance_type": .string(a.instanceType),
            "current_group_name": .string(instanceGroupName),
            "hosts": .strings(a.hosts),
            "instance_groups": .array([instanceGroup(a)]),
            "network_interface_name": .string(networkInterfaceName),
        ])
    }

    static func instanceGroup(_ a: WorkerAssignment) -> ContractJSON {
        .object([
            "instance_group_name": .string(instanceGroupName),
            "instance_type": .string(a.instanceType),
            "hosts": .strings(a.hosts),
        ])
    }

    /// `inputdataconfig.json`: every channel delivered in `File` mode (`FastFile` is written
    /// as `File`), with its distribution and, when given, its content type.
    static func inputDataConfig(_ spec: JobSpec) -> ContractJSON {
        .object(
            spec.inputs.mapValues { channel in
                var entry: [String: ContractJSON] = [
                    "TrainingInputMode": .string("File"),
                    "S3DistributionType": .string(channel.distribution),
                    "RecordWrapperType": .string("None"),
                ]
                if let contentType = channel.contentType { entry["ContentType"] = .string(contentType) }
                return .object(entry)
            }
        )
    }

    /// Where the job's code archive or directory comes from: `source_dir`, else the
    /// JSON-decoded `sagemaker_submit_directory` hyperparameter when it is an `s3://` or
    /// `file://` URI (the v2 SDK's `sourcedir.tar.gz`); `nil` when the code is elsewhere.
    public static func sourceArchiveURI(_ a: WorkerAssignment) -> String? {
        if let sourceDir = a.spec.sourceDir { return sourceDir }
        guard let submit = sageMakerString("sagemaker_submit_directory", in: a.spec) else { return nil }
        return submit.hasPrefix("s3://") || submit.hasPrefix("file://") ? submit : nil
    }

    /// The object keys one host downloads for a `ShardedByS3Key` channel.
    ///
    /// The keys are sorted by code point and host `hostIndex` (0-based) takes every key
    /// whose position is congruent to `hostIndex` modulo `hostCount`, so every key goes to
    /// exactly one host and the hosts' shares differ by at most one key. With one host (or
    /// fewer) a host gets every key; an index outside the cluster gets none.
    public static func shard(_ keys: [String], hostIndex: Int, hostCount: Int) -> [String] {
        let sorted = keys.sorted(by: ContractJSON.codePointLess)
        guard hostCount > 1 else { return sorted }
        guard (0..<hostCount).contains(hostIndex) else { return [] }
        return sorted.enumerated().filter { $0.offset % hostCount == hostIndex }.map(\.element)
    }

    /// The job's `FailureReason` after the training process failed, at most
    /// ``failureReasonLimit`` characters.
    ///
    /// A non-empty failure file (`output/failure`) wins: `AlgorithmError: ` and the start of
    /// its text. Otherwise `AlgorithmError: ` and how the process ended ("Training process
    /// exited with code N", or "was killed by signal S (NAME)", SIGKILL adding the toolkit's
    /// OutOfMemory hint), then the last lines of its standard error, as many as fit.
    /// The reason is made storable (``StorableText``: a failure file may hold NUL bytes).
    public static func failureReason(failureFile: String?, exitCode: Int32?, signal: Int32?, stderrTail: [String]) -> String {
        StorableText.sanitize(unsafeFailureReason(failureFile: failureFile, exitCode: exitCode, signal: signal, stderrTail: stderrTail))
    }

    private static func unsafeFailureReason(failureFile: String?, exitCode: Int32?, signal: Int32?, stderrTail: [String]) -> String {
        let prefix = "AlgorithmError: "
        let limit = failureReasonLimit
        if let text = failureFile?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty {
            return String((prefix + text).prefix(limit))
        }
        var head = prefix
        if let signal {
            head += "Training process was killed by signal \(signal)"
            if let name = signalName(signal) { head += " (\(name))" }
            if signal == 9 { head += ". OutOfMemory: Process killed by SIGKILL (signal 9)" }
        } else if let exitCode {
            head += "Training process exited with code \(exitCode)"
        } else {
            head += "Training process failed"
        }
        head = String(head.prefix(limit))
        var lines = stderrTail
        while let last = lines.last, last.trimmingCharacters(in: .whitespaces).isEmpty { lines.removeLast() }
        let separator = "\nstderr:\n"
        var room = limit - head.count - separator.count
        guard room > 0, !lines.isEmpty else { return head }
        var kept: [String] = []
        for line in lines.reversed() {
            let cost = line.count + (kept.isEmpty ? 0 : 1)
            if cost <= room {
                kept.insert(line, at: 0)
                room -= cost
            } else {
                if kept.isEmpty { kept.append(String(line.suffix(room))) }
                break
            }
        }
        return head + separator + kept.joined(separator: "\n")
    }

    private static func signalName(_ signal: Int32) -> String? {
        let names: [Int32: String] = [
            1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE",
            9: "SIGKILL", 11: "SIGSEGV", 13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM",
        ]
        return names[signal]
    }
}
