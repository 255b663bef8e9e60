public import TrainyardAPI

// The API's shapes, generated from openapi/trainyard.yaml, under the names the SDK's users write.

/// A job spec, estimator-style (the SageMaker Python SDK's `Estimator` arguments in snake_case on the wire).
public typealias JobSpec = Components.Schemas.JobSpec
/// A job's whole description (SageMaker `DescribeTrainingJob`).
public typealias JobDescription = Components.Schemas.JobDescription
/// How much of a job's time went into training that counts (a description's `goodput`).
public typealias Goodput = Components.Schemas.Goodput
/// A job's status: `InProgress`, `Completed`, `Failed`, `Stopping`, `Stopped`.
public typealias JobStatus = Components.Schemas.JobStatus
/// A job's secondary status (`Starting`, `Downloading`, `Training`, `Interrupted`, …).
public typealias SecondaryStatus = Components.Schemas.SecondaryStatus
/// One change of secondary status, with its time and message.
public typealias SecondaryStatusTransition = Components.Schemas.SecondaryStatusTransition
/// One line of a job list.
public typealias JobSummary = Components.Schemas.JobSummary
/// One page of a job list, with the token of the next.
public typealias JobList = Components.Schemas.JobList
/// One entry of a job's event log (transitions, stop requests, interruptions, retries).
public typealias JobEvent = Components.Schemas.JobEvent
/// One log line of one host.
public typealias LogLine = Components.Schemas.LogLine
/// One page of log lines.
public typealias LogPage = Components.Schemas.LogPage
/// One metric of one host, its points oldest first.
public typealias MetricSeries = Components.Schemas.MetricSeries
/// A metric extracted from the logs by a regex (SageMaker `MetricDefinition`).
public typealias MetricDefinition = Components.Schemas.MetricDefinition
/// An input channel: a URI, or a channel with its settings.
public typealias JobInput = Components.Schemas.JobInput
/// An input channel's settings (SageMaker `Channel`).
public typealias InputChannel = Components.Schemas.InputChannel
/// A distributed-training set-up (`torch_distributed` or `mpi`).
public typealias Distribution = Components.Schemas.Distribution
/// A code archive stored by ``TrainyardClient/uploadSource(directory:jobName:outputPath:)``.
public typealias SourceArchive = Components.Schemas.SourceArchive
/// Who the key is: its id, role, project and the project's locations.
public typealias CallerIdentity = Components.Schemas.CallerIdentity
/// An instance type of the catalog, with its capacity.
public typealias InstanceType = Components.Schemas.InstanceType
/// A project just created, with its first admin key.
public typealias ProjectCreated = Components.Schemas.ProjectCreated
/// Where a project's jobs may read and write.
public typealias ProjectLocations = Components.Schemas.ProjectLocations
/// A location granted to a project.
public typealias LocationGrant = Components.Schemas.LocationGrant
/// An API key's role: `admin`, `member`, `viewer`.
public typealias APIKeyRole = Components.Schemas.APIKeyRole
/// A key just created, with its token (shown once).
public typealias CreatedAPIKey = Components.Schemas.CreatedAPIKey
/// A key as listed (no secret).
public typealias APIKeySummary = Components.Schemas.APIKeySummary
/// A webhook subscription.
public typealias Webhook = Components.Schemas.Webhook
/// A subscription just created, with its secret (shown once).
public typealias WebhookCreated = Components.Schemas.WebhookCreated
/// The events a subscription may ask for.
public typealias WebhookEventType = Components.Schemas.WebhookEventType
/// One delivery of one event to one subscription, with its tries.
public typealias WebhookDelivery = Components.Schemas.WebhookDelivery

extension JobStatus {
    /// Whether the job has ended (`Completed`, `Failed` or `Stopped`).
    public var hasEnded: Bool { self == .completed || self == .failed || self == .stopped }
}

extension JobDescription {
    /// The spec the job was submitted with, its name included: what to submit again for a job like it (SageMaker's
    /// "Clone"), with a new name and whatever else should change. `source_dir` still names the archive uploaded for it.
    public var spec: JobSpec {
        JobSpec(
            name: name, command: command, entryPoint: entryPoint, sourceDir: sourceDir, imageUri: imageUri,
            hyperparameters: .init(additionalProperties: hyperparameters.additionalProperties),
            environment: .init(additionalProperties: environment.additionalProperties),
            tags: .init(additionalProperties: tags.additionalProperties), instanceType: instanceType, instanceCount: instanceCount,
            volumeSize: volumeSize, useSpotInstances: useSpotInstances, maxRun: maxRun, maxWait: maxWait, maxPending: maxPending,
            checkpointS3Uri: checkpointS3Uri, checkpointLocalPath: checkpointLocalPath,
            inputs: .init(additionalProperties: inputs.additionalProperties), outputPath: outputPath, metricDefinitions: metricDefinitions,
            maxRetryAttempts: maxRetryAttempts, retryOnExitCodes: retryOnExitCodes, keepAlivePeriod: keepAlivePeriod,
            distribution: distribution, priority: priority)
    }
}
