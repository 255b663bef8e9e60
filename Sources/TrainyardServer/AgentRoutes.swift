import Foundation
import Hummingbird
import TrainyardCore
import TrainyardObjectStore
import TrainyardStore

/// The worker protocol, `/v1/agent/*`: an agent authenticates with its attempt-scoped token (`Bearer <host id>.<secret>`)
/// and sees its own assignment only. Bodies are Core's ``AgentAssignment``, ``AgentReport``, ``AgentDirective`` and
/// ``S3SignatureRequest``.
struct AgentRoutes: Sendable {
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
    let arnPrefix: String
    let region: String
    /// Rung when a host exited: the finalizers may have an attempt to end.
    let finalizers: Doorbell
    let extractors: MetricExtractors
    /// Each live host's S3 scope, built once from its job.
    let s3Scopes = AgentS3Scopes()
    /// Whether the provisioner sizes its hosts' disks: only then is an agent told its volume's size (Slurm's hosts keep
    /// what their nodes have).
    var boundsVolumes = true

    /// At most this many agent requests run at once (``AdmissionGate``); the others wait their turn.
    let admission: AdmissionGate

    func register(on router: Router<BasicRequestContext>) {
        router.get("v1/agent/assignment") { request, _ in try await admission.admitted { try await assignment(request) } }
        router.post("v1/agent/heartbeat") { request, context in try await admission.admitted { try await heartbeat(request, context: context) } }
        router.post("v1/agent/logs") { request, context in try await admission.admitted { try await logs(request, context: context) } }
        router.post("v1/agent/s3-signatures") { request, context in
            try await admission.admitted { try await s3Signature(request, context: context) }
        }
    }

    func authenticate(_ request: Request) async throws -> HostRecord {
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer "),
            let host = try await attempts.authenticateAgent(String(header.dropFirst(7)))
        else {
            throw APIError.unauthorized(detail: "an agent token is required: Authorization: Bearer <host id>.<secret>")
        }
        return host
    }

    /// The token's host, which must not have ended: a token ends with its host (only its heartbeat still answers, so
    /// that its agent learns to stop), and what it would do (`action`) is not for whoever holds it later.
    func authenticateLiveHost(_ request: Request, action: String) async throws -> HostRecord {
        let host = try await authenticate(request)
        guard !host.phase.isFinal else { throw APIError.forbidden(detail: "host \(host.name) (\(host.id)) has ended; its token no longer \(action)") }
        return host
    }

    func assignment(_ request: Request) async throws -> Response {
        let host = try await authenticateLiveHost(request, action: "fetches an assignment")
        guard let assignment = try await attempts.assignment(for: host) else { throw APIError.notFound(detail: "the host's job no longer exists") }
        let job = assignment.job
        let shape = catalog.shape(named: job.spec.instanceType)
        let worker = WorkerAssignment(
            jobName: job.name, jobARN: arnPrefix + job.name, attempt: assignment.attemptNumber, hostName: host.name, hosts: assignment.hostNames,
            instanceType: job.spec.instanceType, vcpus: shape?.vcpus ?? 1, gpus: shape?.gpus ?? 0, memoryGiB: shape?.memoryGiB ?? 1, region: region,
            spec: job.spec, heartbeatIntervalSeconds: settings.heartbeatInterval, stopGraceSeconds: settings.stopGrace,
            outputPrefix: Finalizer.paths(job).attemptPrefix(assignment.attemptNumber), spotNoticeSeconds: settings.spotNotice,
            checkpointSyncIntervalSeconds: settings.checkpointSyncInterval)
        return try Self.json(AgentAssignment(
                worker: worker, objectStore: objectStore, systemMetricsIntervalSeconds: settings.systemMetricsInterval,
                serverOutageLimitSeconds: settings.agentOutageLimit, volumeSizeGiB: boundsVolumes ? job.spec.volumeSize ?? settings.defaultVolumeSizeGiB : nil,
                diskReserveBytes: settings.diskReserveBytes, logSpoolLimitBytes: settings.logSpoolLimitBytes))
    }

    func heartbeat(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let host = try await authenticate(request)
        let body = try await request.body.collect(upTo: 1 << 20)
        let report: AgentReport
        do {
            // A crafted agent's texts (a NUL in the failure reason) must not make the database refuse the report.
            report = try JSONDecoder().decode(AgentReport.self, from: Data(buffer: body)).storable()
        } catch {
            throw APIError.badRequest(detail: "the heartbeat body is not an agent report: \(error)")
        }
        let directive = try await attempts.recordHeartbeat(
            hostID: host.id, report: report, leaseSeconds: settings.hostLease, heartbeatSeconds: settings.heartbeatInterval,
            spotNoticeSeconds: settings.spotNotice)
        if report.phase == .exited { finalizers.ring() }
        if let samples = report.samples { try await logs.recordSamples(host: host, samples: samples) }
        return try Self.json(directive)
    }

    /// A batch of the host's log records (``LogRecord``'s wire form); answers what was stored. Metric points are
    /// extracted here, with the job's `metric_definitions` under a time budget off the request threads
    /// (``MetricExtractors``), and stored with the lines.
    func logs(_ request: Request, context: BasicRequestContext) async throws -> Response {
        // An agent ships every line before its final report: lines under an ended host's token are someone else's.
        let host = try await authenticateLiveHost(request, action: "adds log lines")
        let body = try await request.body.collect(upTo: Self.maximumLogBatchBytes)
        let records: [LogRecord]
        do {
            // Messages come out storable (NULs and invalid UTF-8 replaced, cut to a line piece's length).
            records = try body.withUnsafeReadableBytes { try LogRecord.decode($0) }
        } catch {
            throw APIError.badRequest(detail: "the log batch is malformed: \(error)")
        }
        let points = try await extractors.points(for: records, host: host, jobs: jobs, logger: context.logger)
        return try Self.json(try await logs.ingestLogs(host: host, records: records, points: points))
    }

    /// A batch is at most 1 MiB of records (the agent's limit) and some slack.
    static let maximumLogBatchBytes = 4 << 20

    static func json(_ value: some Encodable) throws -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: try JSONEncoder().encode(value))))
    }
}
