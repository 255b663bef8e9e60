public import Foundation
package import TrainyardAPI
import TrainyardCore
import TrainyardStore

/// Maps a job to the generated description type: `description(of:…)` writes the job's effective spec back (the spec
/// itself is read with TrainyardAPI's `JobSpec(_:)`). A property test checks that the two agree: what a description
/// shows, submitted again, is the same spec.
enum JobSpecMapping {
    /// Sorted-key JSON of a spec: equal specs give equal bytes whatever the order of the request's keys.
    static func canonicalJSON(_ spec: JobSpec) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(spec)
    }

    /// The job's description: the effective spec, status and the secondary status transitions from its events.
    static func description(
        of job: JobRecord, events: [JobEventRecord], attempts: [AttemptRecord], finalMetrics: [FinalMetricRecord] = [], capacity: Capacity, arn: String,
        now: Date
    ) -> Components.Schemas.JobDescription {
        let spec = job.spec
        let statusEvents = events.filter { $0.secondaryStatus != nil }
        let transitions = statusEvents.enumerated().map { index, event in
            Components.Schemas.SecondaryStatusTransition(
                status: .init(rawValue: event.secondaryStatus?.rawValue ?? "") ?? .starting, startTime: event.time,
                endTime: index + 1 < statusEvents.count ? statusEvents[index + 1].time : (job.status.isTerminal ? event.time : nil),
                statusMessage: event.message)
        }
        let (trainingSeconds, billableSeconds) = job.times(attempts: attempts, capacity: capacity, now: now)
        return Components.Schemas.JobDescription(
            name: job.name, arn: arn, project: job.projectName, status: .init(rawValue: job.status.rawValue) ?? .inProgress,
            secondaryStatus: .init(rawValue: job.secondaryStatus.rawValue) ?? .starting, failureReason: job.failureReason,
            creationTime: job.createdAt, lastModifiedTime: job.lastModifiedAt, trainingStartTime: job.trainingStartTime,
            trainingEndTime: job.trainingEndTime, trainingTimeSeconds: trainingSeconds, billableTimeSeconds: billableSeconds,
            spotSavingsPercent: spotSavings(spot: spec.useSpotInstances, training: trainingSeconds, billable: billableSeconds),
            modelArtifacts: .init(
                s3ModelArtifacts: job.modelArtifacts ?? job.paths.artifact(.model), sizeBytes: job.model?.sizeBytes,
                sha256: job.model?.sha256),
            outputArtifacts: job.output.map { .init(s3OutputArtifacts: $0.uri, sizeBytes: $0.sizeBytes, sha256: $0.sha256) },
            finalMetricDataList: finalMetrics.map { .init(metricName: $0.name, value: $0.value, timestamp: $0.time) },
            secondaryStatusTransitions: transitions, attempts: attempts.map(attempt),
            goodput: goodput(Goodput.of(attempts.map(\.goodput), jobEndedAt: job.status.isTerminal ? (statusEvents.last?.time ?? job.lastModifiedAt) : nil, now: now)),
            warmPoolStatus: job.warmPool.map { warmPool($0, now: now) },
            imageNotUsed: imageNotUsed(spec: spec, events: events), command: spec.command, entryPoint: spec.entryPoint,
            sourceDir: spec.sourceDir, imageUri: spec.imageURI, hyperparameters: .init(additionalProperties: spec.hyperparameters),
            environment: .init(additionalProperties: spec.environment), tags: .init(additionalProperties: spec.tags),
            instanceType: spec.instanceType, instanceCount: spec.instanceCount, volumeSize: spec.volumeSize, useSpotInstances: spec.useSpotInstances,
            maxRun: spec.maxRun, maxWait: spec.maxWait, maxPending: spec.maxPending, checkpointS3Uri: spec.checkpointS3URI, checkpointLocalPath: spec.checkpointLocalPath,
            inputs: .init(additionalProperties: spec.inputs.mapValues(Components.Schemas.JobInput.init)), outputPath: spec.outputPath,
            metricDefinitions: spec.metricDefinitions.map { .init(name: $0.name, regex: $0.regex) }, maxRetryAttempts: spec.maxRetryAttempts,
            retryOnExitCodes: spec.retryOnExitCodes, keepAlivePeriod: spec.keepAlivePeriod,
            distribution: spec.distribution.map(Components.Schemas.Distribution.init), priority: spec.priority)
    }

    /// The job's warm pool as it stands at `now`.
    static func warmPool(_ stored: WarmPool, now: Date) -> Components.Schemas.WarmPoolStatus {
        let pool = stored.asOf(now)
        return .init(
            status: .init(rawValue: pool.status.rawValue) ?? .terminated, resourceRetainedBillableTimeInSeconds: pool.retainedSeconds(now: now),
            reusedByJob: pool.reusedByJob, expiresAt: pool.status == .available ? pool.expiresAt : nil)
    }

    /// The `image_not_used` event's image and reason, when the job's provisioner ran its command without the image.
    static func imageNotUsed(spec: JobSpec, events: [JobEventRecord]) -> Components.Schemas.ImageNotUsed? {
        guard let image = spec.imageURI, let event = events.first(where: { $0.type == imageNotUsedEvent }) else { return nil }
        return .init(imageUri: image, reason: event.message)
    }

    /// The type of the event a job gets when its `image_uri` is not used.
    static let imageNotUsedEvent = JobEventType.imageNotUsed

    /// SageMaker's "Managed Spot Training savings": `100 × (1 − billable / training)`, one decimal.
    static func spotSavings(spot: Bool, training: Int?, billable: Int?) -> Double? {
        guard spot, let training, let billable, training > 0 else { return nil }
        return ((1 - Double(billable) / Double(training)) * 1000).rounded() / 10
    }

    static func goodput(_ goodput: Goodput) -> Components.Schemas.Goodput {
        Components.Schemas.Goodput(
            trainingSeconds: goodput.trainingSeconds.roundedToTenths, productiveSeconds: goodput.productiveSeconds.roundedToTenths,
            lostSeconds: goodput.lostSeconds.roundedToTenths, uptimePercent: goodput.uptimePercent,
            faults: .init(
                spotReclaim: goodput.faults[.spotReclaim] ?? 0, hostLost: goodput.faults[.hostLost] ?? 0, userError: goodput.faults[.userError] ?? 0,
                stop: goodput.faults[.stop] ?? 0),
            autoRecoveries: goodput.autoRecoveries, recoverySeconds: goodput.recoverySeconds.roundedToTenths,
            meanRecoverySeconds: goodput.meanRecoverySeconds?.roundedToTenths)
    }

    static func attempt(_ attempt: AttemptRecord) -> Components.Schemas.JobAttempt {
        Components.Schemas.JobAttempt(
            number: attempt.number, startedAt: attempt.startedAt, endedAt: attempt.endedAt, endReason: attempt.endReason,
            hosts: attempt.hosts.map { host in
                Components.Schemas.AttemptHost(
                    id: host.id, name: host.name, instanceType: host.instanceType, spot: host.spot, state: host.displayState,
                    lastCheckpointSyncTime: host.checkpointSyncedAt)
            })
    }
}

extension Double {
    /// To one decimal, as the description shows seconds.
    fileprivate var roundedToTenths: Double { (self * 10).rounded() / 10 }
}
