/// How much one request, key or project may ask of the service: the bounds that make bad or hostile input fail
/// closed, with a clear error, before it costs memory, threads or other tenants' turn.
///
/// The per-project and per-key counts are settings (`TRAINYARD_MAX_QUEUED_JOBS`, `TRAINYARD_MAX_WEBHOOKS`,
/// `TRAINYARD_MAX_LOG_FOLLOWERS`), and so is the size of a job's code archive (`TRAINYARD_MAX_SOURCE_BYTES`); the other
/// body sizes are fixed.
public struct RequestLimits: Sendable, Equatable {
    /// Jobs of one project that may wait to run (submitted, not yet given hosts); past it a submission is refused (429).
    public var queuedJobsPerProject: Int
    /// Webhook subscriptions of one project (each job event is one delivery per subscription).
    public var webhooksPerProject: Int
    /// Log streams (`follow=true`) one API key may hold open at once, per server.
    public var logFollowersPerKey: Int
    /// The largest code archive `PUT /v1/jobs/{name}/source` stores (it streams: the size costs no memory).
    public var sourceArchiveBytes: Int64

    public init(queuedJobsPerProject: Int = 10_000, webhooksPerProject: Int = 100, logFollowersPerKey: Int = 10, sourceArchiveBytes: Int64 = 5 << 30) {
        self.queuedJobsPerProject = queuedJobsPerProject
        self.webhooksPerProject = webhooksPerProject
        self.logFollowersPerKey = logFollowersPerKey
        self.sourceArchiveBytes = sourceArchiveBytes
    }

    /// Whether the request is a code archive upload (`PUT /v1/jobs/{name}/source`): its body streams to the object
    /// store, bounded by ``sourceArchiveBytes``, instead of being read whole.
    public static func isSourceUpload(method: String, path: String) -> Bool {
        guard method == "PUT" else { return false }
        // Judged on the segments, as the router matches them (it collapses repeated slashes).
        let segments = path.split(separator: "/")
        return segments.count == 4 && segments[0] == "v1" && segments[1] == "jobs" && segments[3] == "source"
    }

    /// The largest job spec body (`POST /v1/jobs`): a spec's bounded fields add up to well under it.
    public static let jobBodyBytes = 1 << 20
    /// The largest body of an agent's log batch (the agent sends at most 1 MiB, and some slack).
    public static let agentBodyBytes = 4 << 20
    /// The largest heartbeat: a report with its unacknowledged system samples.
    public static let heartbeatBodyBytes = 1 << 20
    /// The largest body of any other route.
    public static let bodyBytes = 64 << 10

    /// The largest body a request to `path` with `method` may carry.
    public static func maximumBodyBytes(method: String, path: String) -> Int {
        if path.hasPrefix("/v1/agent/") {
            // A signature request describes one S3 call (a key of at most 1,024 bytes, a few headers): the general limit.
            if path.hasPrefix("/v1/agent/logs") { return agentBodyBytes }
            return path.hasPrefix("/v1/agent/heartbeat") ? heartbeatBodyBytes : bodyBytes
        }
        // A job spec, or the SageMaker endpoint's requests (a CreateTrainingJob with its hyperparameters is the largest).
        if method == "POST", path == "/v1/jobs" || path == "/v1/jobs/" || path == "/" { return jobBodyBytes }
        return bodyBytes
    }

    /// Seconds a client should wait before submitting again to a full queue (about one scheduling round of a busy pool).
    public static let queueFullRetryAfterSeconds = 60
    /// Seconds before asking again for a limit that only the caller's own action frees (deleting a subscription,
    /// closing a stream).
    public static let heldRetryAfterSeconds = 30

    /// The JSON nesting the API reads: no request shape goes deeper than a few levels, and a decoder walks deep
    /// nesting recursively.
    public static let maximumJSONDepth = 64
}
