import Foundation
import TrainyardCore
import TrainyardStore

/// `DescribeTrainingJob`'s answer, and `ListTrainingJobs`' summaries, from the job as Trainyard keeps it: one job,
/// whichever API created it.
public enum TrainingJobDescription {
    /// Everything Describe says of `job`. A job created through this endpoint echoes its request's members as sent; a
    /// job created through `/v1/jobs` shows the members its spec implies.
    public static func describe(
        _ job: JobRecord, arn: String, events: [JobEventRecord], attempts: [AttemptRecord], finalMetrics: [FinalMetricRecord], capacity: Capacity,
        now: Date
    ) -> JSONValue {
        var body = echoedMembers(of: job)
        body["TrainingJobName"] = .string(job.name)
        body["TrainingJobArn"] = .string(arn)
        body["TrainingJobStatus"] = .string(job.status.rawValue)
        body["SecondaryStatus"] = .string(job.secondaryStatus.rawValue)
        if let reason = job.failureReason { body["FailureReason"] = .string(String(reason.prefix(1024))) }
        body["ModelArtifacts"] = .object(["S3ModelArtifacts": .string(job.modelArtifacts ?? job.paths.artifact(.model))])
        body["CreationTime"] = SageMakerTime.value(job.createdAt)
        body["LastModifiedTime"] = SageMakerTime.value(job.lastModifiedAt)
        if let start = job.trainingStartTime { body["TrainingStartTime"] = SageMakerTime.value(start) }
        if let end = job.trainingEndTime { body["TrainingEndTime"] = SageMakerTime.value(end) }
        let (training, billable) = job.times(attempts: attempts, capacity: capacity, now: now)
        // AWS reports both from 1 once training ran; a job that ended within its first second still counts one.
        if let training, job.status.isTerminal { body["TrainingTimeInSeconds"] = .number(Double(max(1, training))) }
        if let billable, job.status.isTerminal { body["BillableTimeInSeconds"] = .number(Double(max(1, billable))) }
        body["SecondaryStatusTransitions"] = .array(transitions(job: job, events: events))
        if let pool = job.warmPool { body["WarmPoolStatus"] = warmPoolStatus(pool, now: now) }
        if !finalMetrics.isEmpty {
            body["FinalMetricDataList"] = .array(
                finalMetrics.map { metric in
                    .object(["MetricName": .string(metric.name), "Value": .number(metric.value), "Timestamp": SageMakerTime.value(metric.time)])
                })
        }
        return .object(body)
    }

    /// One entry per secondary status the job went through, each closed by the next (the v2 SDK reads every
    /// transition's `StatusMessage`, so each has one).
    static func transitions(job: JobRecord, events: [JobEventRecord]) -> [JSONValue] {
        let statusEvents = events.filter { $0.secondaryStatus != nil }
        return statusEvents.enumerated().map { index, event in
            var transition: [String: JSONValue] = [
                "Status": .string(event.secondaryStatus?.rawValue ?? job.secondaryStatus.rawValue), "StartTime": SageMakerTime.value(event.time),
                "StatusMessage": .string(event.message.isEmpty ? event.secondaryStatus?.rawValue ?? "" : event.message),
            ]
            if index + 1 < statusEvents.count {
                transition["EndTime"] = SageMakerTime.value(statusEvents[index + 1].time)
            } else if job.status.isTerminal {
                transition["EndTime"] = SageMakerTime.value(event.time)
            }
            return .object(transition)
        }
    }

    /// The request members Describe echoes: the stored request's, less what it never echoes (tags are ListTags'),
    /// or, for a `/v1` job, the members its spec implies.
    public static func echoedMembers(of job: JobRecord) -> [String: JSONValue] {
        if var stored = job.spec.sageMakerRequest?.objectValue {
            stored["Tags"] = nil
            // The keep-alive as it is now: `PATCH /v1/jobs/{name}` changes it without the stored request.
            var resources = stored["ResourceConfig"]?.objectValue ?? [:]
            if job.spec.keepAlivePeriod > 0 || resources["KeepAlivePeriodInSeconds"] != nil {
                resources["KeepAlivePeriodInSeconds"] = .number(Double(job.spec.keepAlivePeriod))
                stored["ResourceConfig"] = .object(resources)
            }
            return stored
        }
        let spec = job.spec
        var algorithm: [String: JSONValue] = ["TrainingInputMode": .string("File"), "TrainingImage": .string(spec.imageURI ?? "")]
        if let command = spec.command, let program = command.first {
            algorithm["ContainerEntrypoint"] = .array([.string(program)])
            if command.count > 1 { algorithm["ContainerArguments"] = .array(command.dropFirst().map { .string($0) }) }
        }
        if !spec.metricDefinitions.isEmpty {
            algorithm["MetricDefinitions"] = .array(spec.metricDefinitions.map { .object(["Name": .string($0.name), "Regex": .string($0.regex)]) })
        }
        var resources: [String: JSONValue] = ["InstanceType": .string(spec.instanceType), "InstanceCount": .number(Double(spec.instanceCount))]
        if let volume = spec.volumeSize { resources["VolumeSizeInGB"] = .number(Double(volume)) }
        if spec.keepAlivePeriod > 0 { resources["KeepAlivePeriodInSeconds"] = .number(Double(spec.keepAlivePeriod)) }
        var stopping: [String: JSONValue] = ["MaxRuntimeInSeconds": .number(Double(spec.maxRun))]
        if let maxWait = spec.maxWait { stopping["MaxWaitTimeInSeconds"] = .number(Double(maxWait)) }
        if let maxPending = spec.maxPending { stopping["MaxPendingTimeInSeconds"] = .number(Double(maxPending)) }
        var members: [String: JSONValue] = [
            "AlgorithmSpecification": .object(algorithm), "ResourceConfig": .object(resources), "StoppingCondition": .object(stopping),
            "OutputDataConfig": .object(["S3OutputPath": .string(job.outputPath)]),
            "HyperParameters": .object(spec.hyperparameters.mapValues { .string($0) }),
            "Environment": .object(spec.environment.mapValues { .string($0) }),
            "EnableManagedSpotTraining": .bool(spec.useSpotInstances),
        ]
        if !spec.inputs.isEmpty {
            members["InputDataConfig"] = .array(
                spec.inputs.sorted { $0.key < $1.key }.map { name, channel in
                    var entry: [String: JSONValue] = [
                        "ChannelName": .string(name), "InputMode": .string(channel.inputMode),
                        "DataSource": .object([
                            "S3DataSource": .object([
                                "S3DataType": .string("S3Prefix"), "S3Uri": .string(channel.s3URI), "S3DataDistributionType": .string(channel.distribution),
                            ])
                        ]),
                    ]
                    if let type = channel.contentType { entry["ContentType"] = .string(type) }
                    return .object(entry)
                })
        }
        if let checkpoint = spec.checkpointS3URI {
            var config: [String: JSONValue] = ["S3Uri": .string(checkpoint)]
            if let local = spec.checkpointLocalPath { config["LocalPath"] = .string(local) }
            members["CheckpointConfig"] = .object(config)
        }
        if spec.maxRetryAttempts > 0 { members["RetryStrategy"] = .object(["MaximumRetryAttempts": .number(Double(spec.maxRetryAttempts))]) }
        return members
    }

    /// One `TrainingJobSummaries` entry.
    public static func summary(_ job: JobRecord, arn: String) -> JSONValue {
        var summary: [String: JSONValue] = [
            "TrainingJobName": .string(job.name), "TrainingJobArn": .string(arn), "CreationTime": SageMakerTime.value(job.createdAt),
            "LastModifiedTime": SageMakerTime.value(job.lastModifiedAt), "TrainingJobStatus": .string(job.status.rawValue),
            "SecondaryStatus": .string(job.secondaryStatus.rawValue),
        ]
        if let end = job.trainingEndTime { summary["TrainingEndTime"] = SageMakerTime.value(end) }
        if let pool = job.warmPool { summary["WarmPoolStatus"] = warmPoolStatus(pool, now: Date()) }
        return .object(summary)
    }

    /// `WarmPoolStatus`: the pool as it stands at `now`, the seconds its hosts were kept, and the job that took it over.
    static func warmPoolStatus(_ stored: WarmPool, now: Date) -> JSONValue {
        let pool = stored.asOf(now)
        var status: [String: JSONValue] = ["Status": .string(pool.status.rawValue)]
        if let seconds = pool.retainedSeconds(now: now) { status["ResourceRetainedBillableTimeInSeconds"] = .number(Double(seconds)) }
        if let job = pool.reusedByJob { status["ReusedByJob"] = .string(job) }
        return .object(status)
    }
}
