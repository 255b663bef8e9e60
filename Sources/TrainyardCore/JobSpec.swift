/// What a user asks to run: the estimator-style job spec.
///
/// JSON field names follow the SageMaker Python SDK's `Estimator` arguments in snake_case
/// (`instance_type`, `max_wait`, `checkpoint_s3_uri`, …). The spec is stored as JSONB and
/// echoed in descriptions, so decoding accepts any missing optional or defaulted key: rows
/// written by an older Trainyard keep decoding. Only `instance_type` is required.
/// ``JobSpecValidator`` checks the values.
public struct JobSpec: Sendable, Equatable, Codable {
    /// The job's name; generated when absent.
    public var name: String?
    /// The argv each worker runs; exclusive with ``entryPoint``.
    public var command: [String]?
    /// A script, relative to ``sourceDir``, each worker runs; exclusive with ``command``.
    public var entryPoint: String?
    /// An object-store URI of the code archive or directory holding ``entryPoint``.
    public var sourceDir: String?
    /// The container image, for provisioners that run containers.
    public var imageURI: String?
    /// Hyperparameters, written to `hyperparameters.json`.
    public var hyperparameters: [String: String]
    /// Extra environment variables for every worker.
    public var environment: [String: String]
    /// Tags, echoed in descriptions and usable as list filters.
    public var tags: [String: String]
    /// The catalog instance type of every host.
    public var instanceType: String
    /// Hosts the job needs at once (gang scheduling).
    public var instanceCount: Int
    /// Scratch space per worker, in GiB; nil when not asked for (only a provisioner that enforces volume sizes
    /// accepts it).
    public var volumeSize: Int?
    /// Run on spot capacity.
    public var useSpotInstances: Bool
    /// Seconds of training allowed, over all attempts.
    public var maxRun: Int
    /// `max_run` when a job gives none: one day, as SageMaker's default `MaxRuntimeInSeconds`.
    public static let defaultMaxRun = 86_400
    /// Seconds allowed for waiting plus running; spot jobs only, at least ``maxRun``.
    public var maxWait: Int?
    /// Seconds the job may wait for capacity, summed over its waits (before its first start, and again after each
    /// interruption or retry); then it is stopped (SageMaker `MaxPendingTimeInSeconds`). Nil: it waits until stopped.
    public var maxPending: Int?
    /// Where the checkpoint directory is synced to and from.
    public var checkpointS3URI: String?
    /// The checkpoint directory on the worker (default `/opt/ml/checkpoints`).
    public var checkpointLocalPath: String?
    /// Input channels by name.
    public var inputs: [String: InputChannel]
    /// Where `<job>/output/model.tar.gz` and `output.tar.gz` go.
    public var outputPath: String?
    /// Metrics read from the logs.
    public var metricDefinitions: [MetricDefinition]
    /// Retries after infrastructure failures (SageMaker `RetryStrategy`).
    public var maxRetryAttempts: Int
    /// Exit codes of the training process that also count as retryable failures.
    public var retryOnExitCodes: [Int]
    /// Seconds a finished pool stays warm for the next matching job.
    public var keepAlivePeriod: Int
    /// How the processes of a multi-host job find each other.
    public var distribution: Distribution?
    /// Scheduling priority inside the project's quota; higher runs first.
    public var priority: Int
    /// The SageMaker `CreateTrainingJob` body the job was created from, as sent (nil for `/v1` jobs): every member is
    /// stored, and `DescribeTrainingJob` echoes them. Kept as its JSON text (``sageMakerRequestJSON``), so that reading
    /// a job costs one string, and the document is parsed only when it is asked for.
    public var sageMakerRequest: JSONValue? {
        get { sageMakerRequestJSON.flatMap { try? JSONValue.parse(Array($0.utf8)) } }
        set { sageMakerRequestJSON = newValue.map { String(decoding: $0.serialized(), as: UTF8.self) } }
    }
    /// ``sageMakerRequest``'s compact JSON, as stored.
    public var sageMakerRequestJSON: String?
    /// The region of the SageMaker request that created the job (nil for `/v1` jobs, which take the server's
    /// `TRAINYARD_REGION`): its ARN and its workers' `AWS_REGION`.
    public var sageMakerRegion: String?

    /// Creates a spec; everything but the instance type has a default.
    public init(
        name: String? = nil,
        command: [String]? = nil,
        entryPoint: String? = nil,
        sourceDir: String? = nil,
        imageURI: String? = nil,
        hyperparameters: [String: String] = [:],
        environment: [String: String] = [:],
        tags: [String: String] = [:],
        instanceType: String,
        instanceCount: Int = 1,
        volumeSize: Int? = nil,
        useSpotInstances: Bool = false,
        maxRun: Int = JobSpec.defaultMaxRun,
        maxWait: Int? = nil,
        maxPending: Int? = nil,
        checkpointS3URI: String? = nil,
        checkpointLocalPath: String? = nil,
        inputs: [String: InputChannel] = [:],
        outputPath: String? = nil,
        metricDefinitions: [MetricDefinition] = [],
        maxRetryAttempts: Int = 0,
        retryOnExitCodes: [Int] = [],
        keepAlivePeriod: Int = 0,
        distribution: Distribution? = nil,
        priority: Int = 0,
        sageMakerRequest: JSONValue? = nil,
        sageMakerRegion: String? = nil
    ) {
        self.name = name
        self.command = command
        self.entryPoint = entryPoint
        self.sourceDir = sourceDir
        self.imageURI = imageURI
        self.hyperparameters = hyperparameters
        self.environment = environment
        self.tags = tags
        self.instanceType = instanceType
        self.instanceCount = instanceCount
        self.volumeSize = volumeSize
        self.useSpotInstances = useSpotInstances
        self.maxRun = maxRun
        self.maxWait = maxWait
        self.maxPending = maxPending
        self.checkpointS3URI = checkpointS3URI
        self.checkpointLocalPath = checkpointLocalPath
        self.inputs = inputs
        self.outputPath = outputPath
        self.metricDefinitions = metricDefinitions
        self.maxRetryAttempts = maxRetryAttempts
        self.retryOnExitCodes = retryOnExitCodes
        self.keepAlivePeriod = keepAlivePeriod
        self.distribution = distribution
        self.priority = priority
        self.sageMakerRequestJSON = sageMakerRequest.map { String(decoding: $0.serialized(), as: UTF8.self) }
        self.sageMakerRegion = sageMakerRegion
    }

    /// The JSON names of the fields, as validation reports them.
    public enum CodingKeys: String, CodingKey, Sendable, CaseIterable {
        case name
        case command
        case entryPoint = "entry_point"
        case sourceDir = "source_dir"
        case imageURI = "image_uri"
        case hyperparameters
        case environment
        case tags
        case instanceType = "instance_type"
        case instanceCount = "instance_count"
        case volumeSize = "volume_size"
        case useSpotInstances = "use_spot_instances"
        case maxRun = "max_run"
        case maxWait = "max_wait"
        case maxPending = "max_pending"
        case checkpointS3URI = "checkpoint_s3_uri"
        case checkpointLocalPath = "checkpoint_local_path"
        case inputs
        case outputPath = "output_path"
        case metricDefinitions = "metric_definitions"
        case maxRetryAttempts = "max_retry_attempts"
        case retryOnExitCodes = "retry_on_exit_codes"
        case keepAlivePeriod = "keep_alive_period"
        case distribution
        case priority
        case sageMakerRequest = "sagemaker_request"
        case sageMakerRegion = "sagemaker_region"
    }

    /// Decodes a spec; missing optional keys are `nil` and missing defaulted keys take the
    /// defaults of ``init(name:command:entryPoint:sourceDir:imageURI:hyperparameters:environment:tags:instanceType:instanceCount:volumeSize:useSpotInstances:maxRun:maxWait:maxPending:checkpointS3URI:checkpointLocalPath:inputs:outputPath:metricDefinitions:maxRetryAttempts:retryOnExitCodes:keepAlivePeriod:distribution:priority:sageMakerRequest:sageMakerRegion:)``.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            name: try c.decodeIfPresent(String.self, forKey: .name),
            command: try c.decodeIfPresent([String].self, forKey: .command),
            entryPoint: try c.decodeIfPresent(String.self, forKey: .entryPoint),
            sourceDir: try c.decodeIfPresent(String.self, forKey: .sourceDir),
            imageURI: try c.decodeIfPresent(String.self, forKey: .imageURI),
            hyperparameters: try c.decodeIfPresent([String: String].self, forKey: .hyperparameters) ?? [:],
            environment: try c.decodeIfPresent([String: String].self, forKey: .environment) ?? [:],
            tags: try c.decodeIfPresent([String: String].self, forKey: .tags) ?? [:],
            instanceType: try c.decode(String.self, forKey: .instanceType),
            instanceCount: try c.decodeIfPresent(Int.self, forKey: .instanceCount) ?? 1,
            volumeSize: try c.decodeIfPresent(Int.self, forKey: .volumeSize),
            useSpotInstances: try c.decodeIfPresent(Bool.self, forKey: .useSpotInstances) ?? false,
            maxRun: try c.decodeIfPresent(Int.self, forKey: .maxRun) ?? Self.defaultMaxRun,
            maxWait: try c.decodeIfPresent(Int.self, forKey: .maxWait),
            maxPending: try c.decodeIfPresent(Int.self, forKey: .maxPending),
            checkpointS3URI: try c.decodeIfPresent(String.self, forKey: .checkpointS3URI),
            checkpointLocalPath: try c.decodeIfPresent(String.self, forKey: .checkpointLocalPath),
            inputs: try c.decodeIfPresent([String: InputChannel].self, forKey: .inputs) ?? [:],
            outputPath: try c.decodeIfPresent(String.self, forKey: .outputPath),
            metricDefinitions: try c.decodeIfPresent([MetricDefinition].self, forKey: .metricDefinitions) ?? [],
            maxRetryAttempts: try c.decodeIfPresent(Int.self, forKey: .maxRetryAttempts) ?? 0,
            retryOnExitCodes: try c.decodeIfPresent([Int].self, forKey: .retryOnExitCodes) ?? [],
            keepAlivePeriod: try c.decodeIfPresent(Int.self, forKey: .keepAlivePeriod) ?? 0,
            distribution: try c.decodeIfPresent(Distribution.self, forKey: .distribution),
            priority: try c.decodeIfPresent(Int.self, forKey: .priority) ?? 0,
            sageMakerRequest: nil,
            sageMakerRegion: try c.decodeIfPresent(String.self, forKey: .sageMakerRegion)
        )
        sageMakerRequestJSON = try c.decodeIfPresent(String.self, forKey: .sageMakerRequest)
    }

    /// Encodes every field; `nil` optionals are left out.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(name, forKey: .name)
        try c.encodeIfPresent(command, forKey: .command)
        try c.encodeIfPresent(entryPoint, forKey: .entryPoint)
        try c.encodeIfPresent(sourceDir, forKey: .sourceDir)
        try c.encodeIfPresent(imageURI, forKey: .imageURI)
        try c.encode(hyperparameters, forKey: .hyperparameters)
        try c.encode(environment, forKey: .environment)
        try c.encode(tags, forKey: .tags)
        try c.encode(instanceType, forKey: .instanceType)
        try c.encode(instanceCount, forKey: .instanceCount)
        try c.encodeIfPresent(volumeSize, forKey: .volumeSize)
        try c.encode(useSpotInstances, forKey: .useSpotInstances)
        try c.encode(maxRun, forKey: .maxRun)
        try c.encodeIfPresent(maxWait, forKey: .maxWait)
        try c.encodeIfPresent(maxPending, forKey: .maxPending)
        try c.encodeIfPresent(checkpointS3URI, forKey: .checkpointS3URI)
        try c.encodeIfPresent(checkpointLocalPath, forKey: .checkpointLocalPath)
        try c.encode(inputs, forKey: .inputs)
        try c.encodeIfPresent(outputPath, forKey: .outputPath)
        try c.encode(metricDefinitions, forKey: .metricDefinitions)
        try c.encode(maxRetryAttempts, forKey: .maxRetryAttempts)
        try c.encode(retryOnExitCodes, forKey: .retryOnExitCodes)
        try c.encode(keepAlivePeriod, forKey: .keepAlivePeriod)
        try c.encodeIfPresent(distribution, forKey: .distribution)
        try c.encode(priority, forKey: .priority)
        try c.encodeIfPresent(sageMakerRequestJSON, forKey: .sageMakerRequest)
        try c.encodeIfPresent(sageMakerRegion, forKey: .sageMakerRegion)
    }
}
