public import TrainyardCore

/// The one mapping between the generated job spec and Core's ``JobSpec``, both ways: a submitted spec is read with
/// `JobSpec(_:)`, and the agent protocol carries a job's effective spec as `Components.Schemas.JobSpec(_:)`. A property
/// test (`JobSpecRoundTripTests`) checks that the two agree for any spec.
extension JobSpec {
    package init(_ wire: Components.Schemas.JobSpec) {
        self.init(instanceType: wire.instanceType)
        name = wire.name
        command = wire.command
        entryPoint = wire.entryPoint
        sourceDir = wire.sourceDir
        imageURI = wire.imageUri
        hyperparameters = wire.hyperparameters?.additionalProperties ?? [:]
        environment = wire.environment?.additionalProperties ?? [:]
        tags = wire.tags?.additionalProperties ?? [:]
        instanceCount = wire.instanceCount ?? instanceCount
        volumeSize = wire.volumeSize
        useSpotInstances = wire.useSpotInstances ?? false
        maxRun = wire.maxRun ?? maxRun
        maxWait = wire.maxWait
        maxPending = wire.maxPending
        checkpointS3URI = wire.checkpointS3Uri
        checkpointLocalPath = wire.checkpointLocalPath
        inputs = (wire.inputs?.additionalProperties ?? [:]).mapValues(InputChannel.init)
        outputPath = wire.outputPath
        metricDefinitions = (wire.metricDefinitions ?? []).map { MetricDefinition(name: $0.name, regex: $0.regex) }
        maxRetryAttempts = wire.maxRetryAttempts ?? 0
        retryOnExitCodes = wire.retryOnExitCodes ?? []
        keepAlivePeriod = wire.keepAlivePeriod ?? 0
        distribution = wire.distribution.map(Distribution.init)
        priority = wire.priority ?? 0
    }
}

extension Components.Schemas.JobSpec {
    /// The spec as the wire carries it, every field given (defaults filled in).
    package init(_ spec: JobSpec) {
        self.init(
            name: spec.name, command: spec.command, entryPoint: spec.entryPoint, sourceDir: spec.sourceDir, imageUri: spec.imageURI,
            hyperparameters: .init(additionalProperties: spec.hyperparameters), environment: .init(additionalProperties: spec.environment),
            tags: .init(additionalProperties: spec.tags), instanceType: spec.instanceType, instanceCount: spec.instanceCount, volumeSize: spec.volumeSize,
            useSpotInstances: spec.useSpotInstances, maxRun: spec.maxRun, maxWait: spec.maxWait, maxPending: spec.maxPending, checkpointS3Uri: spec.checkpointS3URI,
            checkpointLocalPath: spec.checkpointLocalPath, inputs: .init(additionalProperties: spec.inputs.mapValues(Components.Schemas.JobInput.init)),
            outputPath: spec.outputPath, metricDefinitions: spec.metricDefinitions.map { .init(name: $0.name, regex: $0.regex) },
            maxRetryAttempts: spec.maxRetryAttempts, retryOnExitCodes: spec.retryOnExitCodes, keepAlivePeriod: spec.keepAlivePeriod,
            distribution: spec.distribution.map(Components.Schemas.Distribution.init), priority: spec.priority)
    }
}

extension InputChannel {
    package init(_ wire: Components.Schemas.JobInput) {
        switch wire {
        case .InputURI(let uri):
            self.init(s3URI: uri)
        case .InputChannel(let channel):
            self.init(
                s3URI: channel.s3Uri, inputMode: channel.inputMode?.rawValue ?? "File", contentType: channel.contentType,
                distribution: channel.distribution?.rawValue ?? "FullyReplicated")
        }
    }
}

extension Components.Schemas.JobInput {
    /// A channel in its long form, every field given.
    package init(_ channel: InputChannel) {
        self = .InputChannel(
            .init(
                s3Uri: channel.s3URI, inputMode: .init(rawValue: channel.inputMode), contentType: channel.contentType,
                distribution: .init(rawValue: channel.distribution)))
    }
}

extension Distribution {
    package init(_ wire: Components.Schemas.Distribution) {
        self.init(
            torchDistributedEnabled: wire.torchDistributed?.enabled ?? false, mpiEnabled: wire.mpi?.enabled ?? false,
            mpiProcessesPerHost: wire.mpi?.processesPerHost)
    }
}

extension Components.Schemas.Distribution {
    package init(_ distribution: Distribution) {
        self.init(
            torchDistributed: distribution.torchDistributedEnabled ? .init(enabled: true) : nil,
            mpi: distribution.mpiEnabled || distribution.mpiProcessesPerHost != nil
                ? .init(enabled: distribution.mpiEnabled, processesPerHost: distribution.mpiProcessesPerHost) : nil)
    }
}
