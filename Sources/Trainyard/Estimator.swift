public import Foundation
public import TrainyardAPI

/// What a SageMaker user writes in Python, in Swift: an estimator-style job definition whose ``fit(inputs:wait:logs:jobName:)``
/// uploads the code, submits the job and, if asked, follows it to its end.
///
/// ```swift
/// let estimator = Estimator(client: client, entryPoint: "train.py", sourceDir: URL(filePath: "./src"),
///                           instanceType: "ml.g5.xlarge", instanceCount: 2, useSpotInstances: true,
///                           maxRun: .hours(4), maxWait: .hours(8), hyperparameters: ["epochs": "30"])
/// let job = try await estimator.fit(inputs: ["train": "s3://datasets/mnist"], wait: false)
/// ```
public struct Estimator: Sendable {
    /// How the hosts of a multi-host job find each other.
    public enum DistributionKind: Sendable, Equatable {
        /// `torchrun`-style: `MASTER_ADDR`, `MASTER_PORT`, `WORLD_SIZE`, `NODE_RANK` on every host.
        case torchDistributed
        /// MPI, with `processesPerHost` ranks per host.
        case mpi(processesPerHost: Int? = nil)
    }

    public var client: TrainyardClient
    /// The script each worker runs, relative to ``sourceDir``.
    public var entryPoint: String?
    /// A local directory (packed and uploaded by ``fit(inputs:wait:logs:jobName:)``), or nil with ``sourceURI`` or ``command``.
    public var sourceDir: URL?
    /// Code already in the object store (`s3://…/sourcedir.tar.gz` or a `file://` directory), used as is.
    public var sourceURI: String?
    /// The argv each worker runs, instead of an entry point.
    public var command: [String]?
    public var imageURI: String?
    public var instanceType: String
    public var instanceCount: Int
    public var volumeSizeGiB: Int?
    public var useSpotInstances: Bool
    public var maxRun: Duration?
    /// Waiting plus training, spot only.
    public var maxWait: Duration?
    /// Waiting for capacity, summed over the job's waits; then it is stopped (SageMaker
    /// `StoppingCondition.MaxPendingTimeInSeconds`).
    public var maxPending: Duration?
    /// How long the job's hosts stay warm after it ends, for the next job of the project with the same instance type,
    /// count, market and volume size and a keep-alive of its own (SageMaker `keep_alive_period_in_seconds`); at most 6
    /// hours, whole seconds.
    public var keepAlive: Duration?
    public var checkpointS3URI: String?
    public var checkpointLocalPath: String?
    /// Where `model.tar.gz` goes (`<outputPath>/<job>/output/model.tar.gz`); the project's own location when nil.
    public var outputPath: String?
    public var hyperparameters: [String: String]
    public var environment: [String: String]
    public var tags: [String: String]
    public var metricDefinitions: [MetricDefinition]
    public var distribution: DistributionKind?
    /// Retries after infrastructure failures.
    public var maxRetryAttempts: Int?
    public var priority: Int?
    /// The start of generated job names; the entry point's stem when nil.
    public var baseJobName: String?

    public init(
        client: TrainyardClient, entryPoint: String? = nil, sourceDir: URL? = nil, sourceURI: String? = nil, command: [String]? = nil,
        imageURI: String? = nil, instanceType: String, instanceCount: Int = 1, volumeSizeGiB: Int? = nil, useSpotInstances: Bool = false,
        maxRun: Duration? = nil, maxWait: Duration? = nil, maxPending: Duration? = nil, keepAlive: Duration? = nil, checkpointS3URI: String? = nil,
        checkpointLocalPath: String? = nil, outputPath: String? = nil, hyperparameters: [String: String] = [:], environment: [String: String] = [:], tags: [String: String] = [:],
        metricDefinitions: [MetricDefinition] = [], distribution: DistributionKind? = nil, maxRetryAttempts: Int? = nil, priority: Int? = nil,
        baseJobName: String? = nil
    ) {
        self.client = client
        self.entryPoint = entryPoint
        self.sourceDir = sourceDir
        self.sourceURI = sourceURI
        self.command = command
        self.imageURI = imageURI
        self.instanceType = instanceType
        self.instanceCount = instanceCount
        self.volumeSizeGiB = volumeSizeGiB
        self.useSpotInstances = useSpotInstances
        self.maxRun = maxRun
        self.maxWait = maxWait
        self.maxPending = maxPending
        self.keepAlive = keepAlive
        self.checkpointS3URI = checkpointS3URI
        self.checkpointLocalPath = checkpointLocalPath
        self.outputPath = outputPath
        self.hyperparameters = hyperparameters
        self.environment = environment
        self.tags = tags
        self.metricDefinitions = metricDefinitions
        self.distribution = distribution
        self.maxRetryAttempts = maxRetryAttempts
        self.priority = priority
        self.baseJobName = baseJobName
    }

    /// Uploads ``sourceDir`` (when set), submits the job with `inputs` (channel name → URI) and, with `wait`, waits
    /// for its end, printing its log lines as they come when `logs` is set (as the SageMaker SDK does). With `wait`, a
    /// job that fails throws ``TrainyardError/jobFailed(name:reason:)``.
    @discardableResult
    public func fit(inputs: [String: String] = [:], wait: Bool = true, logs: Bool = true, jobName: String? = nil) async throws -> TrainingJob {
        let name = jobName ?? JobNames.generate(base: baseJobName ?? entryPoint ?? command?.last ?? "job")
        var spec = try self.spec(inputs: inputs, jobName: name)
        if let sourceDir {
            spec.sourceDir = try await client.uploadSource(directory: sourceDir, jobName: name, outputPath: outputPath).sourceDir
        }
        let job = try await client.submit(spec)
        guard wait else { return job }
        if logs {
            async let printed: Void = Self.printLines(of: job)
            _ = try await job.wait()
            try await printed
        } else {
            _ = try await job.wait()
        }
        return job
    }

    /// The spec ``fit(inputs:wait:logs:jobName:)`` submits (without the uploaded `source_dir` of a local ``sourceDir``).
    public func spec(inputs: [String: String] = [:], jobName: String) throws -> JobSpec {
        if sourceDir != nil, sourceURI != nil {
            throw TrainyardError.invalidInput("give sourceDir (a local directory to upload) or sourceURI (code already stored), not both")
        }
        var spec = JobSpec(instanceType: instanceType)
        spec.name = jobName
        spec.command = command
        spec.entryPoint = entryPoint
        spec.sourceDir = sourceURI
        spec.imageUri = imageURI
        spec.instanceCount = instanceCount
        spec.volumeSize = volumeSizeGiB
        spec.useSpotInstances = useSpotInstances
        spec.maxRun = try maxRun.map { try Self.seconds($0, "maxRun") }
        spec.maxWait = try maxWait.map { try Self.seconds($0, "maxWait") }
        spec.maxPending = try maxPending.map { try Self.seconds($0, "maxPending") }
        spec.keepAlivePeriod = try keepAlive.map { try Self.seconds($0, "keepAlive") }
        spec.checkpointS3Uri = checkpointS3URI
        spec.checkpointLocalPath = checkpointLocalPath
        spec.outputPath = outputPath
        if !hyperparameters.isEmpty { spec.hyperparameters = .init(additionalProperties: hyperparameters) }
        if !environment.isEmpty { spec.environment = .init(additionalProperties: environment) }
        if !tags.isEmpty { spec.tags = .init(additionalProperties: tags) }
        if !inputs.isEmpty { spec.inputs = .init(additionalProperties: inputs.mapValues { .InputURI($0) }) }
        if !metricDefinitions.isEmpty { spec.metricDefinitions = metricDefinitions }
        switch distribution {
        case .torchDistributed: spec.distribution = .init(torchDistributed: .init(enabled: true))
        case .mpi(let processes): spec.distribution = .init(mpi: .init(enabled: true, processesPerHost: processes))
        case nil: break
        }
        spec.maxRetryAttempts = maxRetryAttempts
        spec.priority = priority
        return spec
    }

    /// A whole number of seconds, as the spec takes durations.
    static func seconds(_ duration: Duration, _ field: String) throws -> Int {
        let (seconds, attoseconds) = duration.components
        guard attoseconds == 0, seconds > 0, seconds <= Int64(Int32.max) else {
            throw TrainyardError.invalidInput("\(field) must be a whole, positive number of seconds; it is \(duration)")
        }
        return Int(seconds)
    }

    /// `algo-1 | message`, each line as it comes, until the job has ended.
    static func printLines(of job: TrainingJob) async throws {
        for try await line in job.logs(follow: true) {
            print("\(line.host) | \(line.message)")
        }
    }
}

extension Duration {
    /// `hours` hours.
    public static func hours(_ hours: Int) -> Duration { .seconds(hours * 3600) }
    /// `minutes` minutes.
    public static func minutes(_ minutes: Int) -> Duration { .seconds(minutes * 60) }
}

/// Job names as the SageMaker SDK makes them: a base and the time to the millisecond.
public enum JobNames {
    /// `<base>-YYYY-MM-DD-HH-MM-SS-mmm`, the base reduced to letters, digits and hyphens (a file's stem for an entry
    /// point: `train.py` gives `train`), at most 63 characters in all.
    public static func generate(base: String, now: Date = Date()) -> String {
        let stem = (base as NSString).lastPathComponent.split(separator: ".").first.map(String.init) ?? "job"
        var cleaned = String(stem.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "-" })
        while cleaned.hasPrefix("-") { cleaned.removeFirst() }
        while cleaned.hasSuffix("-") { cleaned.removeLast() }
        while cleaned.contains("--") { cleaned = cleaned.replacingOccurrences(of: "--", with: "-") }
        if cleaned.isEmpty { cleaned = "job" }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? .current
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .nanosecond], from: now)
        let stamp = String(
            format: "%04d-%02d-%02d-%02d-%02d-%02d-%03d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0, parts.hour ?? 0, parts.minute ?? 0,
            parts.second ?? 0, (parts.nanosecond ?? 0) / 1_000_000)
        var prefix = String(cleaned.prefix(63 - stamp.count - 1))
        while prefix.hasSuffix("-") { prefix.removeLast() }
        return prefix + "-" + stamp
    }
}
