public import Foundation
public import TrainyardCore

// The agent protocol's one mapping between the generated wire types (`openapi/trainyard.yaml`, tag `agent`) and
// Core's: the server answers assignments and directives and reads reports through it, the agent the other way round.
// `AgentWireRoundTripTests` checks that every Core value survives the trip.

extension AgentAssignment {
    package init(_ wire: Components.Schemas.AgentAssignment) {
        self.init(
            worker: WorkerAssignment(wire.worker), objectStore: ObjectStoreDescriptor(wire.objectStore),
            systemMetricsIntervalSeconds: wire.systemMetricsIntervalSeconds, serverOutageLimitSeconds: wire.serverOutageLimitSeconds,
            volumeSizeGiB: wire.volumeSizeGib, diskReserveBytes: wire.diskReserveBytes, logSpoolLimitBytes: wire.logSpoolLimitBytes)
    }
}

extension Components.Schemas.AgentAssignment {
    package init(_ assignment: AgentAssignment) {
        self.init(
            worker: .init(assignment.worker), objectStore: .init(assignment.objectStore),
            systemMetricsIntervalSeconds: assignment.systemMetricsIntervalSeconds, serverOutageLimitSeconds: assignment.serverOutageLimitSeconds,
            volumeSizeGib: assignment.volumeSizeGiB, diskReserveBytes: assignment.diskReserveBytes, logSpoolLimitBytes: assignment.logSpoolLimitBytes)
    }
}

extension WorkerAssignment {
    package init(_ wire: Components.Schemas.WorkerAssignment) {
        self.init(
            jobName: wire.jobName, jobARN: wire.jobArn, attempt: wire.attempt, hostName: wire.hostName, hosts: wire.hosts,
            instanceType: wire.instanceType, vcpus: wire.vcpus, gpus: wire.gpus, memoryGiB: wire.memoryGib, region: wire.region,
            spec: JobSpec(wire.spec), heartbeatIntervalSeconds: wire.heartbeatIntervalSeconds, stopGraceSeconds: wire.stopGraceSeconds,
            masterPort: wire.masterPort, outputPrefix: wire.outputPrefix, spotNoticeSeconds: wire.spotNoticeSeconds,
            checkpointSyncIntervalSeconds: wire.checkpointSyncIntervalSeconds)
    }
}

extension Components.Schemas.WorkerAssignment {
    package init(_ worker: WorkerAssignment) {
        self.init(
            jobName: worker.jobName, jobArn: worker.jobARN, attempt: worker.attempt, hostName: worker.hostName, hosts: worker.hosts,
            instanceType: worker.instanceType, vcpus: worker.vcpus, gpus: worker.gpus, memoryGib: worker.memoryGiB, region: worker.region,
            spec: .init(worker.spec), heartbeatIntervalSeconds: worker.heartbeatIntervalSeconds, stopGraceSeconds: worker.stopGraceSeconds,
            masterPort: worker.masterPort, outputPrefix: worker.outputPrefix, spotNoticeSeconds: worker.spotNoticeSeconds,
            checkpointSyncIntervalSeconds: worker.checkpointSyncIntervalSeconds)
    }
}

extension ObjectStoreDescriptor {
    package init(_ wire: Components.Schemas.ObjectStoreDescriptor) {
        self.init(kind: Kind(rawValue: wire.kind), root: wire.root)
        endpoint = wire.endpoint
        region = wire.region
        addressing = wire.addressing
        signedBy = wire.signedBy.map { switch $0 { case .server: .server } }
    }
}

extension Components.Schemas.ObjectStoreDescriptor {
    package init(_ descriptor: ObjectStoreDescriptor) {
        self.init(
            kind: descriptor.kind.rawValue, root: descriptor.root, endpoint: descriptor.endpoint, region: descriptor.region,
            addressing: descriptor.addressing, signedBy: descriptor.signedBy.map { switch $0 { case .server: .server } })
    }
}

extension AgentReport {
    package init(_ wire: Components.Schemas.AgentReport) {
        self.init(
            phase: HostPhase(wire.phase), exitCode: wire.exitCode, signal: wire.signal, failureReason: wire.failureReason, stopped: wire.stopped,
            modelArchive: wire.modelArchive, outputArchive: wire.outputArchive, samples: wire.samples?.map(SystemSample.init),
            interrupted: wire.interrupted, checkpointSyncedAt: wire.checkpointSyncedAt, logDrops: wire.logDrops.map(LogSpoolDrops.init))
    }
}

extension Components.Schemas.AgentReport {
    package init(_ report: AgentReport) {
        self.init(
            phase: .init(report.phase), exitCode: report.exitCode, signal: report.signal, failureReason: report.failureReason, stopped: report.stopped,
            modelArchive: report.modelArchive, outputArchive: report.outputArchive, samples: report.samples?.map(Components.Schemas.SystemSample.init),
            interrupted: report.interrupted, checkpointSyncedAt: report.checkpointSyncedAt, logDrops: report.logDrops.map(Components.Schemas.LogSpoolDrops.init))
    }
}

extension HostPhase {
    package init(_ wire: Components.Schemas.AgentReport.PhasePayload) {
        self =
            switch wire {
            case .launching: .launching
            case .preparing: .preparing
            case .downloading: .downloading
            case .training: .training
            case .uploading: .uploading
            case .exited: .exited
            case .lost: .lost
            }
    }
}

extension Components.Schemas.AgentReport.PhasePayload {
    package init(_ phase: HostPhase) {
        self =
            switch phase {
            case .launching: .launching
            case .preparing: .preparing
            case .downloading: .downloading
            case .training: .training
            case .uploading: .uploading
            case .exited: .exited
            case .lost: .lost
            }
    }
}

extension SystemSample {
    package init(_ wire: Components.Schemas.SystemSample) {
        self.init(name: wire.name, value: wire.value, timeMicros: wire.timeMicros)
    }
}

extension Components.Schemas.SystemSample {
    package init(_ sample: SystemSample) {
        self.init(name: sample.name, value: sample.value, timeMicros: sample.timeMicros)
    }
}

extension LogSpoolDrops {
    package init(_ wire: Components.Schemas.LogSpoolDrops) {
        self.init(
            cappedLines: wire.cappedLines, cappedBytes: wire.cappedBytes, unwritableLines: wire.unwritableLines, unwritableBytes: wire.unwritableBytes,
            capBytes: wire.capBytes)
    }
}

extension Components.Schemas.LogSpoolDrops {
    package init(_ drops: LogSpoolDrops) {
        self.init(
            cappedLines: drops.cappedLines, cappedBytes: drops.cappedBytes, unwritableLines: drops.unwritableLines,
            unwritableBytes: drops.unwritableBytes, capBytes: drops.capBytes)
    }
}

extension AgentDirective {
    package init(_ wire: Components.Schemas.AgentDirective) {
        let action: Action =
            switch wire.action {
            case .proceed: .proceed
            case .stop: .stop
            }
        self.init(action: action, graceSeconds: wire.graceSeconds, heartbeatIntervalSeconds: wire.heartbeatIntervalSeconds)
    }
}

extension Components.Schemas.AgentDirective {
    package init(_ directive: AgentDirective) {
        let action: ActionPayload =
            switch directive.action {
            case .proceed: .proceed
            case .stop: .stop
            }
        self.init(action: action, graceSeconds: directive.graceSeconds, heartbeatIntervalSeconds: directive.heartbeatIntervalSeconds)
    }
}

extension S3SignatureRequest {
    package init(_ wire: Components.Schemas.S3SignatureRequest) {
        self.init(
            method: wire.method, bucket: wire.bucket, key: wire.key, query: wire.query.map(Field.init), headers: wire.headers.map(Field.init),
            payloadHash: wire.payloadHash)
    }
}

extension Components.Schemas.S3SignatureRequest {
    package init(_ request: S3SignatureRequest) {
        self.init(
            method: request.method, bucket: request.bucket, key: request.key, query: request.query.map(Components.Schemas.S3Field.init),
            headers: request.headers.map(Components.Schemas.S3Field.init), payloadHash: request.payloadHash)
    }
}

extension S3SignatureRequest.Field {
    package init(_ wire: Components.Schemas.S3Field) {
        self.init(name: wire.name, value: wire.value)
    }
}

extension Components.Schemas.S3Field {
    package init(_ field: S3SignatureRequest.Field) {
        self.init(name: field.name, value: field.value)
    }
}

extension S3SignatureAnswer {
    package init(_ wire: Components.Schemas.S3SignatureAnswer) {
        self.init(headers: wire.headers.map(S3SignatureRequest.Field.init))
    }
}

extension Components.Schemas.S3SignatureAnswer {
    package init(_ answer: S3SignatureAnswer) {
        self.init(headers: answer.headers.map(Components.Schemas.S3Field.init))
    }
}

extension LogBatchReceipt {
    package init(_ wire: Components.Schemas.LogBatchReceipt) {
        self.init(stored: wire.stored, lastSeq: wire.lastSeq)
    }
}

extension Components.Schemas.LogBatchReceipt {
    package init(_ receipt: LogBatchReceipt) {
        self.init(stored: receipt.stored, lastSeq: receipt.lastSeq)
    }
}
