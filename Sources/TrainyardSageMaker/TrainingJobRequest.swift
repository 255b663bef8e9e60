import Foundation
import TrainyardCore

/// A `CreateTrainingJob` request, checked and mapped onto Trainyard's ``JobSpec``: the same spec `/v1/jobs` takes, so
/// that a job created either way is one job, validated by the same ``JobSpecValidator`` and run by the same core.
///
/// Every member of the service model is accepted and stored (Describe echoes it); the ones Trainyard cannot honour are
/// refused with a message that says so, rather than stored and ignored (``unsupported(_:)``).
public enum TrainingJobRequest {
    /// SageMaker's rules between members, in AWS's words where AWS's are known (`sagemaker-compat.md` §2.1, §1.4).
    public static func crossFieldViolations(_ request: JSONValue) -> [String] {
        var messages: [String] = []
        let spot = request["EnableManagedSpotTraining"]?.boolValue ?? false
        let stopping = request["StoppingCondition"]
        if let maxWait = stopping?["MaxWaitTimeInSeconds"]?.intValue {
            if !spot {
                messages.append("Invalid MaxWaitTimeInSeconds. It is only supported when EnableManagedSpotTraining is set to true")
            } else if let maxRun = stopping?["MaxRuntimeInSeconds"]?.intValue, maxWait < maxRun {
                messages.append(
                    "Invalid MaxWaitTimeInSeconds. It must be greater than or equal to MaxRuntimeInSeconds (\(maxRun)); it is \(maxWait)")
            }
        }
        if spot, stopping?["MaxWaitTimeInSeconds"] == nil {
            messages.append("MaxWaitTimeInSeconds is required in StoppingCondition when EnableManagedSpotTraining is true")
        }
        let algorithm = request["AlgorithmSpecification"]
        if algorithm == nil {
            messages.append("AlgorithmSpecification is required: give its TrainingImage and TrainingInputMode")
        } else if algorithm?["TrainingImage"] == nil, algorithm?["AlgorithmName"] == nil {
            messages.append("AlgorithmSpecification must name a TrainingImage")
        }
        if request["ResourceConfig"] == nil {
            messages.append("ResourceConfig is required: give its InstanceType, InstanceCount and VolumeSizeInGB")
        } else if request["ResourceConfig"]?["InstanceGroups"] == nil {
            if request["ResourceConfig"]?["InstanceType"] == nil { messages.append("ResourceConfig.InstanceType is required") }
            if let count = request["ResourceConfig"]?["InstanceCount"]?.intValue, count < 1 {
                messages.append("Value \(count) at 'resourceConfig.instanceCount' failed to satisfy constraint: Member must have value greater than or equal to 1")
            } else if request["ResourceConfig"]?["InstanceCount"] == nil {
                messages.append("ResourceConfig.InstanceCount is required")
            }
        }
        if request["StoppingCondition"] == nil {
            messages.append("StoppingCondition is required: give its MaxRuntimeInSeconds")
        }
        var channelNames = Set<String>()
        for (index, channel) in (request["InputDataConfig"]?.arrayValue ?? []).enumerated() {
            if let name = channel["ChannelName"]?.stringValue, !channelNames.insert(name).inserted {
                messages.append("Channel names must be unique within a training job: '\(name)' is used twice")
            }
            let sources = ["S3DataSource", "FileSystemDataSource", "DatasetSource"].filter { channel["DataSource"]?[$0] != nil }
            if sources.count != 1 {
                messages.append("inputDataConfig.\(index + 1).member.dataSource must hold exactly one of S3DataSource, FileSystemDataSource, DatasetSource")
            }
        }
        return messages
    }

    /// The members Trainyard cannot honour, each with why (``sagemaker-compat.md`` §4.4): a ValidationException that
    /// says so, never a job that quietly runs without them.
    public static func unsupported(_ request: JSONValue) -> [String] {
        var messages: [String] = []
        let algorithm = request["AlgorithmSpecification"]
        if algorithm?["AlgorithmName"] != nil {
            messages.append("AlgorithmSpecification.AlgorithmName is not supported: Trainyard runs no built-in or Marketplace algorithms; give a TrainingImage")
        }
        if algorithm?["TrainingImageConfig"] != nil {
            messages.append("AlgorithmSpecification.TrainingImageConfig is not supported: workers pull images the way their provisioner does")
        }
        if algorithm?["TrainingInputMode"]?.stringValue == "Pipe" {
            messages.append("TrainingInputMode Pipe is not supported: use File (FastFile is served as File)")
        }
        for (index, channel) in (request["InputDataConfig"]?.arrayValue ?? []).enumerated() {
            let path = "InputDataConfig[\(index)]"
            if channel["InputMode"]?.stringValue == "Pipe" { messages.append("\(path).InputMode Pipe is not supported: use File") }
            if channel["DataSource"]?["FileSystemDataSource"] != nil {
                messages.append("\(path).DataSource.FileSystemDataSource (EFS, FSx) is not supported: give an S3DataSource")
            }
            if channel["DataSource"]?["DatasetSource"] != nil { messages.append("\(path).DataSource.DatasetSource is not supported: give an S3DataSource") }
            if let s3 = channel["DataSource"]?["S3DataSource"] {
                if let type = s3["S3DataType"]?.stringValue, type != "S3Prefix" {
                    messages.append("\(path).DataSource.S3DataSource.S3DataType \(type) is not supported: give S3Prefix")
                }
                for member in ["AttributeNames", "InstanceGroupNames", "ModelAccessConfig", "HubAccessConfig"] where s3[member] != nil {
                    messages.append("\(path).DataSource.S3DataSource.\(member) is not supported")
                }
            }
            if let compression = channel["CompressionType"]?.stringValue, compression != "None" {
                messages.append("\(path).CompressionType \(compression) is not supported (it is for Pipe mode)")
            }
            if let wrapper = channel["RecordWrapperType"]?.stringValue, wrapper != "None" {
                messages.append("\(path).RecordWrapperType \(wrapper) is not supported (it is for Pipe mode)")
            }
            if channel["ShuffleConfig"] != nil { messages.append("\(path).ShuffleConfig is not supported (it is for Pipe mode and manifests)") }
        }
        let resources = request["ResourceConfig"]
        for member in ["InstanceGroups", "TrainingPlanArn", "InstancePlacementConfig", "VolumeKmsKeyId"] where resources?[member] != nil {
            messages.append("ResourceConfig.\(member) is not supported")
        }
        if request["OutputDataConfig"]?["KmsKeyId"] != nil {
            messages.append("OutputDataConfig.KmsKeyId is not supported: Trainyard's object store does not use AWS KMS")
        }
        if let compression = request["OutputDataConfig"]?["CompressionType"]?.stringValue, compression != "GZIP" {
            messages.append("OutputDataConfig.CompressionType \(compression) is not supported: model.tar.gz is always gzip-compressed")
        }
        for member in ["VpcConfig", "ServerlessJobConfig", "MlflowConfig", "ModelPackageConfig", "DebugRuleConfigurations", "ProfilerRuleConfigurations", "TensorBoardOutputConfig"]
        where request[member] != nil && request[member] != .array([]) {
            messages.append("\(member) is not supported")
        }
        for (member, flag) in [("EnableNetworkIsolation", nil), ("EnableInterContainerTrafficEncryption", nil), ("RemoteDebugConfig", "EnableRemoteDebug"),
            ("InfraCheckConfig", "EnableInfraCheck"), ("SessionChainingConfig", "EnableSessionTagChaining")]
        {
            let value: JSONValue? = if let flag { request[member]?[flag] } else { request[member] }
            if value?.boolValue == true { messages.append("\(member)\(flag.map { ".\($0)" } ?? "") = true is not supported") }
        }
        return messages
    }

    /// The ``JobSpec`` a checked request asks for.
    public static func spec(_ request: JSONValue, provisioner: ProvisionerCapabilities) -> JobSpec {
        let algorithm = request["AlgorithmSpecification"]
        let resources = request["ResourceConfig"]
        let stopping = request["StoppingCondition"]
        var command: [String]?
        if let entrypoint = algorithm?["ContainerEntrypoint"]?.arrayValue?.compactMap(\.stringValue) {
            command = entrypoint + (algorithm?["ContainerArguments"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        }
        var inputs: [String: InputChannel] = [:]
        for channel in request["InputDataConfig"]?.arrayValue ?? [] {
            guard let name = channel["ChannelName"]?.stringValue, let s3 = channel["DataSource"]?["S3DataSource"],
                let uri = s3["S3Uri"]?.stringValue
            else { continue }
            inputs[name] = InputChannel(
                s3URI: uri, inputMode: channel["InputMode"]?.stringValue ?? algorithm?["TrainingInputMode"]?.stringValue ?? "File",
                contentType: channel["ContentType"]?.stringValue,
                distribution: s3["S3DataDistributionType"]?.stringValue ?? "FullyReplicated")
        }
        var tags: [String: String] = [:]
        for tag in request["Tags"]?.arrayValue ?? [] {
            if let key = tag["Key"]?.stringValue { tags[key] = tag["Value"]?.stringValue ?? "" }
        }
        let spot = request["EnableManagedSpotTraining"]?.boolValue ?? false
        return JobSpec(
            name: request["TrainingJobName"]?.stringValue,
            command: command,
            imageURI: algorithm?["TrainingImage"]?.stringValue,
            hyperparameters: request["HyperParameters"]?.stringMap ?? [:],
            environment: request["Environment"]?.stringMap ?? [:],
            tags: tags,
            instanceType: resources?["InstanceType"]?.stringValue ?? "",
            instanceCount: resources?["InstanceCount"]?.intValue ?? 1,
            // The SDKs always send a volume size (30 GB); a provisioner that does not size volumes keeps it in the
            // request (Describe echoes it) rather than refusing every SDK's job.
            volumeSize: provisioner.features.contains(.volumeSizes) ? resources?["VolumeSizeInGB"]?.intValue : nil,
            useSpotInstances: spot,
            maxRun: stopping?["MaxRuntimeInSeconds"]?.intValue ?? JobSpec.defaultMaxRun,
            maxWait: stopping?["MaxWaitTimeInSeconds"]?.intValue,
            maxPending: stopping?["MaxPendingTimeInSeconds"]?.intValue,
            checkpointS3URI: request["CheckpointConfig"]?["S3Uri"]?.stringValue,
            checkpointLocalPath: request["CheckpointConfig"]?["LocalPath"]?.stringValue,
            inputs: inputs,
            outputPath: request["OutputDataConfig"]?["S3OutputPath"]?.stringValue,
            metricDefinitions: (algorithm?["MetricDefinitions"]?.arrayValue ?? []).compactMap { definition in
                guard let name = definition["Name"]?.stringValue, let regex = definition["Regex"]?.stringValue else { return nil }
                return MetricDefinition(name: name, regex: regex)
            },
            maxRetryAttempts: request["RetryStrategy"]?["MaximumRetryAttempts"]?.intValue ?? 0,
            keepAlivePeriod: resources?["KeepAlivePeriodInSeconds"]?.intValue ?? 0,
            distribution: distribution(request["HyperParameters"]?.stringMap ?? [:]))
    }

    /// The SDK's distribution hyperparameters (`sagemaker_torch_distributed_enabled`, `sagemaker_mpi_enabled`) as
    /// Trainyard's ``Distribution``; nil when neither is on.
    static func distribution(_ hyperparameters: [String: String]) -> Distribution? {
        func enabled(_ key: String) -> Bool {
            guard let value = hyperparameters[key] else { return false }
            return value == "true" || value == "\"true\"" || value == "True"
        }
        let torch = enabled("sagemaker_torch_distributed_enabled")
        let mpi = enabled("sagemaker_mpi_enabled")
        guard torch || mpi else { return nil }
        let perHost = hyperparameters["sagemaker_mpi_num_of_processes_per_host"].flatMap { Int($0.trimmingCharacters(in: CharacterSet(charactersIn: "\""))) }
        return Distribution(torchDistributedEnabled: torch, mpiEnabled: mpi, mpiProcessesPerHost: mpi ? perHost : nil)
    }

    /// Where a ``JobSpecValidator`` field sits in the request, as AWS's messages name members
    /// (`instance_count` → `resourceConfig.instanceCount`).
    public static func requestPath(ofSpecField field: String) -> String {
        let head = field.split(whereSeparator: { $0 == "." || $0 == "[" }).first.map(String.init) ?? field
        let rest = String(field.dropFirst(head.count))
        let paths = [
            "name": "trainingJobName", "command": "algorithmSpecification.containerEntrypoint", "image_uri": "algorithmSpecification.trainingImage",
            "hyperparameters": "hyperParameters", "environment": "environment", "tags": "tags", "instance_type": "resourceConfig.instanceType",
            "instance_count": "resourceConfig.instanceCount", "volume_size": "resourceConfig.volumeSizeInGB",
            "use_spot_instances": "enableManagedSpotTraining", "max_run": "stoppingCondition.maxRuntimeInSeconds",
            "max_wait": "stoppingCondition.maxWaitTimeInSeconds", "max_pending": "stoppingCondition.maxPendingTimeInSeconds", "checkpoint_s3_uri": "checkpointConfig.s3Uri",
            "checkpoint_local_path": "checkpointConfig.localPath", "inputs": "inputDataConfig", "output_path": "outputDataConfig.s3OutputPath",
            "metric_definitions": "algorithmSpecification.metricDefinitions", "max_retry_attempts": "retryStrategy.maximumRetryAttempts",
            "keep_alive_period": "resourceConfig.keepAlivePeriodInSeconds", "distribution": "hyperParameters",
        ]
        guard let path = paths[head] else { return field }
        return path + rest
    }

    /// A ``JobSpecValidator`` violation in AWS's words: `Value at '<path>' failed to satisfy constraint: <why>`, with
    /// the messages that name `/v1` fields told in SageMaker's terms.
    public static func message(for violation: FieldViolation) -> String {
        let path = requestPath(ofSpecField: violation.field)
        switch (violation.field, violation.rule) {
        case ("image_uri", "unsupported"), ("command", "required"):
            return "Value at '\(path)' failed to satisfy constraint: this server's provisioner runs no containers, so the image's own program "
                + "cannot run; give AlgorithmSpecification.ContainerEntrypoint (and ContainerArguments) to run on the worker host, or the "
                + "SDK's sagemaker_program and sagemaker_submit_directory hyperparameters"
        default:
            return "Value at '\(path)' failed to satisfy constraint: \(violation.message)"
        }
    }
}
