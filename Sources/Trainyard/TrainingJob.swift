public import Foundation
public import TrainyardAPI

/// A handle on one job of the caller's project: what ``TrainyardClient/submit(_:idempotencyKey:)``,
/// ``Estimator/fit(inputs:wait:logs:jobName:)`` and ``TrainyardClient/attach(name:)`` answer.
public struct TrainingJob: Sendable {
    public let client: TrainyardClient
    public let name: String
    /// The description as it was when the handle was made (nil for a handle made from a name alone).
    public let submitted: JobDescription?

    public init(client: TrainyardClient, name: String, submitted: JobDescription? = nil) {
        self.client = client
        self.name = name
        self.submitted = submitted
    }

    /// The job's description now.
    public func describe() async throws -> JobDescription { try await client.describeJob(name) }

    /// Requests a stop (SIGTERM, grace, SIGKILL; outputs still uploaded).
    @discardableResult
    public func stop() async throws -> JobDescription { try await client.stopJob(name) }

    public func events() async throws -> [JobEvent] { try await client.events(of: name) }

    public func metrics() async throws -> [MetricSeries] { try await client.metrics(of: name) }

    /// The job's log lines, oldest first: those stored so far, or with `follow` every line until the job has ended;
    /// with `tail`, from the last `tail` lines (1 to 10,000) on, as `tail -n` does. A dropped connection or a
    /// restarting server is resumed where it stopped (`Last-Event-ID`): no line is lost or repeated.
    public func logs(host: String? = nil, since: Date? = nil, tail: Int? = nil, follow: Bool = false) -> LogLines {
        LogLines(client: client, name: name, host: host, since: since, tail: tail, follow: follow)
    }

    /// Polls the job until `done` holds for its description (by default, until it has ended) and answers that
    /// description, calling `onTransition` with each secondary status transition as it is first seen. A server that
    /// stops answering after it once did (a restart) is waited out, as a log follow waits.
    @discardableResult
    public func follow(
        pollInterval: Duration = .seconds(1), until done: (JobDescription) -> Bool = { $0.status.hasEnded },
        onTransition: (SecondaryStatusTransition) async throws -> Void = { _ in }
    ) async throws -> JobDescription {
        var seen = 0
        var outage = Outage()
        while true {
            let job: JobDescription
            do {
                job = try await client.describeJob(name)
                outage.answered()
            } catch let error as TrainyardError {
                guard case .unreachable = error else { throw error }
                try await outage.wait(after: error, pause: pollInterval)
                continue
            }
            for transition in job.secondaryStatusTransitions.dropFirst(seen) { try await onTransition(transition) }
            seen = job.secondaryStatusTransitions.count
            if done(job) || job.status.hasEnded { return job }
            try await Task.sleep(for: pollInterval)
        }
    }

    /// The job's secondary status transitions as they happen, from the first; the sequence ends when the job has.
    public func statusChanges(pollInterval: Duration = .seconds(1)) -> AsyncThrowingStream<SecondaryStatusTransition, any Error> {
        let job = self
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    try await job.follow(pollInterval: pollInterval, onTransition: { continuation.yield($0) })
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Waits until the job has ended (or, with `until`, reached one of those statuses) and answers its description.
    /// A job that ended `Failed` throws ``TrainyardError/jobFailed(name:reason:)``, one that ended `Stopped`
    /// ``TrainyardError/jobStopped(name:secondaryStatus:)``, unless `until` names that status.
    @discardableResult
    public func wait(until statuses: Set<JobStatus> = [.completed], pollInterval: Duration = .seconds(1)) async throws -> JobDescription {
        let job = try await follow(pollInterval: pollInterval, until: { statuses.contains($0.status) })
        if statuses.contains(job.status) { return job }
        switch job.status {
        case .failed: throw TrainyardError.jobFailed(name: name, reason: job.failureReason ?? "no reason recorded")
        case .stopped: throw TrainyardError.jobStopped(name: name, secondaryStatus: job.secondaryStatus.rawValue)
        default: return job
        }
    }

    /// Downloads `model.tar.gz` to `file`, checked against the SHA-256 the service recorded.
    @discardableResult
    public func downloadModel(to file: URL) async throws -> DownloadedArtifact {
        try await client.download(.model, of: name, to: file)
    }

    /// Downloads `output.tar.gz` (every host's `/opt/ml/output/data`) to `file`, checked against its SHA-256.
    @discardableResult
    public func downloadOutput(to file: URL) async throws -> DownloadedArtifact {
        try await client.download(.output, of: name, to: file)
    }
}

/// How long a follower (of logs, of status) keeps trying while the server is away, restarting say: two minutes from
/// the first of a run of failures, once the server has answered at least once (a follower that never reached a
/// server says so at once: nothing listens there, most likely).
struct Outage {
    static let limit: Duration = .seconds(120)
    private var failingSince: ContinuousClock.Instant?
    private var everAnswered = false

    /// The server answered: a later failure starts a new window.
    mutating func answered() {
        failingSince = nil
        everAnswered = true
    }

    /// Throws `error` once the window has passed since the run of failures began; else waits `pause`.
    mutating func wait(after error: any Error, pause: Duration) async throws {
        guard everAnswered else { throw error }
        let since = failingSince ?? ContinuousClock.now
        failingSince = since
        if ContinuousClock.now - since > Self.limit { throw error }
        try await Task.sleep(for: pause)
    }
}
