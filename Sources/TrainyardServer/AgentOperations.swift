import Foundation
import Hummingbird
import Logging
import OpenAPIRuntime
import TrainyardCore
import TrainyardObjectStore
import TrainyardStore

/// The worker protocol, `/v1/agent/*` (tag `agent` of `openapi/trainyard.yaml`, served by the generated handlers in
/// `APIImplementation+Agent.swift`): an agent authenticates with its attempt-scoped token and sees its own assignment
/// only. This is what each operation does, in Core's types; TrainyardAPI's `AgentWire` maps them to the wire.
struct AgentOperations: Sendable {
    /// The hosts the agents are, and their attempts.
    let attempts: any AttemptRepository
    /// The jobs they run (for their metric definitions).
    let jobs: any JobRepository
    /// Where the agents' log lines and samples go.
    let logs: any LogRepository
    let catalog: InstanceCatalog
    let settings: WorkerSettings
    let objectStore: ObjectStoreDescriptor
    /// Signs the agents' S3 requests with the service's keys, once their job may make them; nil with the filesystem store.
    let s3Signer: SigV4RequestAuthorizer?
    /// Each job's ARN and region, as its descriptions show them.
    let arns: JobARNs
    /// Rung when a host exited: the finalizers may have an attempt to end.
    let finalizers: Doorbell
    let extractors: MetricExtractors
    let logger: Logger
    /// Each live host's S3 scope, built once from its job.
    let s3Scopes = AgentS3Scopes()
    /// Whether the provisioner sizes its hosts' disks: only then is an agent told its volume's size (Slurm's hosts keep
    /// what their nodes have).
    var boundsVolumes = true

    /// At most this many agent requests run at once (``AdmissionGate``); the others wait their turn.
    let admission: AdmissionGate
    /// Where the lines stored are counted.
    var metrics: ServiceMetrics?

    /// The request's host, which must not have ended: a token ends with its host (only its heartbeat still answers, so
    /// that its agent learns to stop), and what it would do (`action`) is not for whoever holds it later.
    func liveHost(action: String) throws -> HostRecord {
        let host = try RequestHost.required()
        guard !host.phase.isFinal else { throw APIError.forbidden(detail: "host \(host.name) (\(host.id)) has ended; its token no longer \(action)") }
        return host
    }

    /// `GET /v1/agent/assignment`.
    func assignment() async throws -> AgentAssignment {
        let host = try liveHost(action: "fetches an assignment")
        guard let assignment = try await attempts.assignment(for: host) else { throw APIError.notFound(detail: "the host's job no longer exists") }
        let job = assignment.job
        let shape = catalog.shape(named: job.spec.instanceType)
        let worker = WorkerAssignment(
            jobName: job.name, jobARN: arns.arn(of: job), attempt: assignment.attemptNumber, hostName: host.name, hosts: assignment.hostNames,
            instanceType: job.spec.instanceType, vcpus: shape?.vcpus ?? 1, gpus: shape?.gpus ?? 0, memoryGiB: shape?.memoryGiB ?? 1, region: arns.region(of: job),
            spec: job.spec, heartbeatIntervalSeconds: settings.heartbeatInterval, stopGraceSeconds: settings.stopGrace,
            outputPrefix: job.paths.attemptPrefix(assignment.attemptNumber), spotNoticeSeconds: settings.spotNotice,
            checkpointSyncIntervalSeconds: settings.checkpointSyncInterval)
        return AgentAssignment(
            worker: worker, objectStore: objectStore, systemMetricsIntervalSeconds: settings.systemMetricsInterval,
            serverOutageLimitSeconds: settings.agentOutageLimit, volumeSizeGiB: boundsVolumes ? job.spec.volumeSize ?? settings.defaultVolumeSizeGiB : nil,
            diskReserveBytes: settings.diskReserveBytes, logSpoolLimitBytes: settings.logSpoolLimitBytes)
    }

    /// `POST /v1/agent/heartbeat`: an ended host's token still answers, with `stop`.
    func heartbeat(_ sent: AgentReport) async throws -> AgentDirective {
        let host = try RequestHost.required()
        // A crafted agent's texts (a NUL in the failure reason) must not make the database refuse the report.
        let report = sent.storable()
        let directive = try await attempts.recordHeartbeat(
            hostID: host.id, report: report, leaseSeconds: settings.hostLease, heartbeatSeconds: settings.heartbeatInterval,
            spotNoticeSeconds: settings.spotNotice)
        if report.phase == .exited { finalizers.ring() }
        if let samples = report.samples { try await logs.recordSamples(host: host, samples: samples) }
        return directive
    }

    /// `POST /v1/agent/logs`: a batch of the host's log records (``LogRecord``'s wire form); answers what was stored.
    /// Metric points are extracted here, with the job's `metric_definitions` under a time budget off the request
    /// threads (``MetricExtractors``), and stored with the lines.
    func shipLogs(_ body: HTTPBody) async throws -> LogBatchReceipt {
        // An agent ships every line before its final report: lines under an ended host's token are someone else's.
        let host = try liveHost(action: "adds log lines")
        let bytes = try await ArraySlice(collecting: body, upTo: Self.maximumLogBatchBytes)
        let records: [LogRecord]
        do {
            // Messages come out storable (NULs and invalid UTF-8 replaced, cut to a line piece's length).
            records = try bytes.withUnsafeBytes { try LogRecord.decode($0) }
        } catch {
            throw APIError.badRequest(detail: "the log batch is malformed: \(error)")
        }
        let points = try await extractors.points(for: records, host: host, jobs: jobs, logger: logger)
        let receipt = try await logs.ingestLogs(host: host, records: records, points: points)
        if let metrics, receipt.stored > 0 {
            // A batch sent again stores only what was not stored before: the newest records.
            metrics.logLinesIngested(receipt.stored, bytes: records.suffix(receipt.stored).reduce(0) { $0 + $1.message.utf8.count })
        }
        return receipt
    }

    /// A batch is at most 1 MiB of records (the agent's limit) and some slack.
    static let maximumLogBatchBytes = 4 << 20
}

/// The host the agent request being handled authenticated as; set by ``AgentAuthMiddleware`` for the generated
/// handlers, which do not see Hummingbird's request context.
enum RequestHost {
    @TaskLocal static var current: HostRecord?

    /// The authenticated host; a handler reached without one is a wiring bug, answered as 401.
    static func required() throws -> HostRecord {
        guard let current else { throw AgentAuthMiddleware<BasicRequestContext>.missingToken }
        return current
    }
}

/// Admits agent requests through their ``AdmissionGate`` and checks `Authorization: Bearer <host id>.<secret>` on each:
/// an attempt-scoped token, never an API key.
struct AgentAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let attempts: any AttemptRepository
    let admission: AdmissionGate

    static var missingToken: APIError { APIError.unauthorized(detail: "an agent token is required: Authorization: Bearer <host id>.<secret>") }

    /// Whether `path` is the agents' (judged on its segments, as ``AuthMiddleware/takesAPIKey(path:)`` does).
    static func isAgentPath(_ path: String) -> Bool {
        let segments = path.split(separator: "/")
        return segments.count > 1 && segments[0] == "v1" && segments[1] == "agent"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard Self.isAgentPath(request.uri.path) else { return try await next(request, context) }
        return try await admission.admitted {
            guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer "),
                let host = try await attempts.authenticateAgent(String(header.dropFirst(7)))
            else { throw Self.missingToken }
            var context = context
            context.logger[metadataKey: "host"] = "\(host.id)"
            return try await Self.inTaskOfItsOwn(request, context) { request, context in
                try await RequestHost.$current.withValue(host) { try await next(request, context) }
            }
        }
    }

    /// Runs `handle` in a child task that ends with the request. An agent's connection lives as long as its host (a
    /// heartbeat every few seconds keeps it open), and a task keeps the memory its deepest call needed until it ends:
    /// run on the connection's own task, every agent connection would hold what its largest request took (the JSON
    /// decoding, the generated layers, the database call) for hours; in a child task only the requests under way hold
    /// it, and the admission gate bounds those.
    static func inTaskOfItsOwn(
        _ request: Request, _ context: Context, _ handle: (Request, Context) async throws -> Response
    ) async throws -> Response {
        try await withoutActuallyEscaping(handle) { handle in
            // The group is awaited before this returns: `handle` (and what it captured) does not outlive the call.
            let call = UncheckedHandler(handle: handle)
            return try await withThrowingTaskGroup(of: Response.self) { group in
                group.addTask { try await call.handle(request, context) }
                guard let response = try await group.next() else { throw CancellationError() }
                return response
            }
        }
    }

    /// A request's handler carried into the child task that runs it, which ends before the handler's caller returns.
    private struct UncheckedHandler: @unchecked Sendable {
        let handle: (Request, Context) async throws -> Response
    }
}
