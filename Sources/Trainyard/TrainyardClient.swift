public import Foundation
public import OpenAPIRuntime
public import TrainyardAPI

/// A Trainyard service, as one project's key reaches it: every public operation of the API with Swift types and
/// typed errors (``TrainyardError``).
///
/// ```swift
/// let client = try TrainyardClient()          // TRAINYARD_URL / TRAINYARD_API_KEY, or the profile in use
/// let job = try await client.submit(JobSpec(command: ["python3", "train.py"], instanceType: "ml.m5.large"))
/// ```
///
/// Calls that change nothing (and job submissions, which carry an `Idempotency-Key`) are tried again after a dropped
/// connection or a 502, 503 or 504, so a restarting server costs a caller nothing.
public struct TrainyardClient: Sendable {
    /// Where the service is and which key is used.
    public let connection: TrainyardConnection
    let client: Client
    /// For archives up and down: the connection's timeout bounds the wait for an answer's head, which for an upload
    /// comes after its last byte, so a 1 GiB upload over a slow link would be cut at 60 seconds.
    let transfers: Client

    /// How long an archive transfer may take.
    static let transferTimeout: Duration = .seconds(7 * 86_400)

    /// A client for `connection`.
    public init(connection: TrainyardConnection) {
        self.connection = connection
        self.client = connection.makeClient()
        self.transfers = connection.makeClient(timeout: Self.transferTimeout)
    }

    /// A client over another transport (tests' canned answers), with the same middleware.
    package init(connection: TrainyardConnection, transport: any ClientTransport, retryPause: Duration = .milliseconds(250)) {
        self.connection = connection
        self.client = connection.makeClient(transport: transport, retryPause: retryPause)
        self.transfers = client
    }

    /// A client for the service the environment names: `TRAINYARD_URL` and `TRAINYARD_API_KEY` where set, else the
    /// profile `profile` (or `TRAINYARD_PROFILE`, or the default one) of the per-user configuration that the CLI shares
    /// (``ClientProfiles``).
    public init(profile: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        var environment = environment
        if let profile { environment["TRAINYARD_PROFILE"] = profile }
        self.init(connection: try TrainyardConnection.fromEnvironment(environment))
    }

    /// Runs one generated call, with the failures a caller can act on as ``TrainyardError``.
    func call<Answer>(_ body: () async throws -> Answer) async throws -> Answer {
        do {
            return try await body()
        } catch let error as ClientError {
            if let failure = error.underlyingError as? TrainyardError { throw failure }
            if let reason = TrainyardConnection.unreachableReason(error) { throw TrainyardError.unreachable(url: connection.url, reason: reason) }
            if error.underlyingError is CancellationError { throw CancellationError() }
            throw error
        }
    }

    // MARK: - Jobs

    /// Submits a job. Without an `idempotencyKey` the client makes one, so that a retry after a dropped connection
    /// finds the job the first try created instead of making a second.
    public func submit(_ spec: JobSpec, idempotencyKey: String? = nil) async throws -> TrainingJob {
        let key = idempotencyKey ?? "sdk-\(UUID().uuidString.lowercased())"
        let description = try await call { try await client.createJob(headers: .init(idempotencyKey: key), body: .json(spec)).created.body.json }
        return TrainingJob(client: self, name: description.name, submitted: description)
    }

    /// The job of this name in the caller's project (submitted anywhere: the CLI, boto3, another program).
    public func attach(name: String) async throws -> TrainingJob {
        let description = try await describeJob(name)
        return TrainingJob(client: self, name: name, submitted: description)
    }

    public func describeJob(_ name: String) async throws -> JobDescription {
        try await call { try await client.describeJob(path: .init(name: name)).ok.body.json }
    }

    /// One page of the project's jobs, newest first unless sorted otherwise.
    public func listJobs(_ query: JobQuery = JobQuery(), nextToken: String? = nil) async throws -> JobList {
        try await call {
            try await client.listJobs(
                query: .init(
                    status: query.status, nameContains: query.nameContains, createdAfter: query.createdAfter, createdBefore: query.createdBefore,
                    warmPoolStatus: query.warmPoolStatus, sortBy: query.sortBy, sortOrder: query.sortOrder, maxResults: query.pageSize,
                    nextToken: nextToken)
            ).ok.body.json
        }
    }

    /// Every job the query matches, page after page, as they are read.
    public func allJobs(_ query: JobQuery = JobQuery()) -> AsyncThrowingStream<JobSummary, any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    var token: String?
                    repeat {
                        let page = try await listJobs(query, nextToken: token)
                        for job in page.jobs { continuation.yield(job) }
                        token = page.nextToken
                    } while token != nil
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Requests a stop: SIGTERM, a grace period, SIGKILL; outputs are still uploaded. Answers the job as it is now
    /// (`Stopping`, or `Stopped` when nothing ran yet).
    @discardableResult
    /// Changes how long the job's hosts stay warm after it ends (`PATCH /v1/jobs/{name}`, SageMaker's
    /// `UpdateTrainingJob`): an available pool lasts until the job's end plus `keepAlivePeriod` seconds; 0 ends it now.
    public func updateJob(_ name: String, keepAlivePeriod: Int) async throws -> JobDescription {
        try await call {
            try await client.updateJob(path: .init(name: name), body: .json(.init(keepAlivePeriod: keepAlivePeriod))).ok.body.json
        }
    }

    public func stopJob(_ name: String) async throws -> JobDescription {
        try await call { try await client.stopJob(path: .init(name: name)).accepted.body.json }
    }

    /// Every transition and notable event of the job, oldest first.
    public func events(of name: String) async throws -> [JobEvent] {
        try await call { try await client.listJobEvents(path: .init(name: name)).ok.body.json.events }
    }

    /// Every metric series of the job (all pages, a series cut by a page joined again).
    public func metrics(of name: String) async throws -> [MetricSeries] {
        var series: [MetricSeries] = []
        var token: String?
        repeat {
            let page = try await call { try await client.getJobMetrics(path: .init(name: name), query: .init(nextToken: token)).ok.body.json }
            for next in page.metrics {
                if let last = series.last, last.name == next.name, last.host == next.host, last.kind == next.kind {
                    series[series.count - 1].points += next.points
                } else {
                    series.append(next)
                }
            }
            token = page.nextToken
        } while token != nil
        return series
    }

    /// One page of the job's log lines, oldest first; with `tail`, the page of its last `tail` lines (its token then
    /// continues with the lines written after them).
    public func logPage(
        of name: String, host: String? = nil, since: Date? = nil, tail: Int? = nil, limit: Int? = nil, nextToken: String? = nil
    ) async throws -> LogPage {
        try await call {
            try await client.getJobLogs(
                path: .init(name: name), query: .init(host: host, since: since, limit: limit, tail: tail, nextToken: nextToken)
            ).ok.body.json
        }
    }

    // MARK: - Who, where, what

    /// The caller's key: its id, role, project and where the project's jobs may read and write.
    public func whoAmI() async throws -> CallerIdentity {
        try await call { try await client.whoAmI().ok.body.json }
    }

    /// The catalog's instance types with their capacity.
    public func instanceTypes() async throws -> [InstanceType] {
        try await call { try await client.listInstanceTypes().ok.body.json.instanceTypes }
    }
}

/// What ``TrainyardClient/listJobs(_:nextToken:)`` selects and how it orders.
public struct JobQuery: Sendable {
    public var status: JobStatus?
    public var nameContains: String?
    public var createdAfter: Date?
    public var createdBefore: Date?
    public var sortBy: Operations.ListJobs.Input.Query.SortByPayload?
    public var sortOrder: Operations.ListJobs.Input.Query.SortOrderPayload?
    /// Jobs per page, 1 to 100 (the service's default is 10).
    public var pageSize: Int?
    /// Only jobs whose warm pool is in this state.
    public var warmPoolStatus: Operations.ListJobs.Input.Query.WarmPoolStatusPayload?

    public init(
        status: JobStatus? = nil, nameContains: String? = nil, createdAfter: Date? = nil, createdBefore: Date? = nil,
        sortBy: Operations.ListJobs.Input.Query.SortByPayload? = nil, sortOrder: Operations.ListJobs.Input.Query.SortOrderPayload? = nil,
        pageSize: Int? = nil, warmPoolStatus: Operations.ListJobs.Input.Query.WarmPoolStatusPayload? = nil
    ) {
        self.warmPoolStatus = warmPoolStatus
        self.status = status
        self.nameContains = nameContains
        self.createdAfter = createdAfter
        self.createdBefore = createdBefore
        self.sortBy = sortBy
        self.sortOrder = sortOrder
        self.pageSize = pageSize
    }
}
