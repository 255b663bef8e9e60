import Foundation
import Logging
import PostgresNIO
import TrainyardCore

/// The one way a job's life changes in the database: load the aggregate under its locks, let Core's ``JobAggregate``
/// decide, and carry out the effects here, in the caller's transaction.
extension PostgresStore {
    /// A locked job and its attempt `attemptID` as the lifecycle sees them: the attempt's state, stop reason and
    /// training clock, its hosts' phases, the job's training time and stored deadline. `limits` are the job's
    /// (``JobRecord/limits``), or nil where its spec was not read (the deadline is then left as stored). The caller
    /// holds the locks (host, then attempt, then job).
    func loadAggregate(of job: JobRecord, attemptID: Int64?, limits: JobLimits?, on connection: PostgresConnection) async throws -> JobAggregate {
        var aggregate = JobAggregate(state: job.state, limits: limits)
        for try await (trained, deadline, state, stopReason, trainingSince) in try await connection.query(
            """
            SELECT j.trained_seconds, j.deadline_at, a.state, a.stop_reason, a.training_started_at
            FROM jobs j LEFT JOIN attempts a ON a.id = \(attemptID) AND a.job_id = j.id WHERE j.id = \(job.id)
            """, logger: logger
        ).decode((Double, Date?, String?, String?, Date?).self) {
            aggregate.trainedSeconds = trained
            aggregate.deadline = deadline
            aggregate.attempt = try state.map(Self.attemptState)
            aggregate.stopReason = stopReason.flatMap(StopReason.init(rawValue:))
            aggregate.trainingSince = trainingSince
        }
        guard let attemptID else { return aggregate }
        for try await phase in try await connection.query("SELECT phase FROM hosts WHERE attempt_id = \(attemptID)", logger: logger)
            .decode(String.self)
        {
            aggregate.hostPhases.append(HostPhase(rawValue: phase) ?? .lost)
        }
        return aggregate
    }

    static func attemptState(_ stored: String) throws -> AttemptState {
        guard let state = AttemptState(rawValue: stored) else { throw StoreError.corrupt("attempt state \(stored)") }
        return state
    }

    /// Runs `input` through Core for `job` (locked by the caller, with its attempt `attemptID` and its `limits`) and carries out the
    /// effects. Answers them, for a caller that refuses a request the state machine refused.
    @discardableResult
    func run(_ input: LifecycleInput, job: JobRecord, attemptID: Int64?, limits: JobLimits?, on connection: PostgresConnection, now: Date)
        async throws -> [LifecycleEffect]
    {
        var aggregate = try await loadAggregate(of: job, attemptID: attemptID, limits: limits, on: connection)
        let effects = aggregate.handle(input, now: now)
        try await persist(effects, input: input, state: aggregate.state, job: job, attemptID: attemptID, on: connection, now: now)
        return effects
    }

    /// Carries out `effects` (``JobAggregate/handle(_:now:)``'s answer to `input`, leaving the job in `state`) in the
    /// caller's transaction: the effect writer. Refusals and no-ops are logged with the job and the attempt.
    func persist(
        _ effects: [LifecycleEffect], input: LifecycleInput, state: JobState, job: JobRecord, attemptID: Int64?, on connection: PostgresConnection,
        now: Date
    ) async throws {
        var metadata: Logger.Metadata = ["job": "\(job.name)", "project": "\(job.projectName)", "input": "\(input.name)"]
        if let attemptID { metadata["attempt"] = "\(attemptID)" }
        var transitions: [JobTransition] = []
        for effect in effects {
            switch effect {
            case .record(let transition):
                transitions.append(transition)
                try await appendEvent(
                    on: connection, jobID: job.id, time: transition.time, type: "status_changed", status: transition.toStatus,
                    secondaryStatus: transition.toSecondaryStatus, message: transition.message)
            case .startTrainingClock:
                guard let attemptID else { continue }
                try await connection.query(
                    "UPDATE attempts SET training_started_at = coalesce(training_started_at, \(now)) WHERE id = \(attemptID)", logger: logger)
            case .markAttemptEnding:
                guard let attemptID else { continue }
                try await connection.query("UPDATE attempts SET state = 'ending' WHERE id = \(attemptID)", logger: logger)
            case .stopAttempt(let reason, let grace):
                guard let attemptID else { continue }
                try await stopAttempt(on: connection, attemptID: attemptID, reason: reason, graceSeconds: grace, now: now)
            case .endAttempt(let reason):
                guard let attemptID else { continue }
                try await connection.query(
                    "UPDATE attempts SET state = 'ended', ended_at = \(now), end_reason = \(reason) WHERE id = \(attemptID)", logger: logger)
            case .countTrainingTime(let seconds):
                try await connection.query("UPDATE jobs SET trained_seconds = trained_seconds + \(seconds) WHERE id = \(job.id)", logger: logger)
            case .setDeadline(let deadline):
                try await connection.query("UPDATE jobs SET deadline_at = \(deadline) WHERE id = \(job.id)", logger: logger)
            case .countRetry:
                try await connection.query("UPDATE jobs SET retries_used = retries_used + 1 WHERE id = \(job.id)", logger: logger)
            case .countInterruption:
                try await connection.query("UPDATE jobs SET interruptions = interruptions + 1 WHERE id = \(job.id)", logger: logger)
            case .wake(.jobWatchers):
                try await connection.query("SELECT pg_notify('trainyard_jobs', \(job.name))", logger: logger)
            case .wake(.finalizer):
                guard let attemptID else { continue }
                try await connection.query("SELECT pg_notify('trainyard_attempts', \(String(attemptID)))", logger: logger)
            case .unchanged(let why):
                logger.debug("a lifecycle input changed nothing: \(why)", metadata: metadata)
            case .refused(let error):
                logger.warning("the job's state machine refused a lifecycle input: \(error)", metadata: metadata)
            }
        }
        guard !transitions.isEmpty else { return }
        let startsTraining = state.secondaryStatus == .training
        try await connection.query(
            """
            UPDATE jobs SET status = \(state.status.rawValue), secondary_status = \(state.secondaryStatus.rawValue),
                failure_reason = \(state.failureReason), last_modified_at = \(now),
                training_start_time = CASE WHEN \(startsTraining) THEN coalesce(training_start_time, \(now)) ELSE training_start_time END,
                training_end_time = CASE WHEN \(state.status.isTerminal) AND training_start_time IS NOT NULL
                    THEN coalesce(training_end_time, \(now)) ELSE training_end_time END
            WHERE id = \(job.id)
            """, logger: logger)
        // The webhook deliveries these changes cause, in the same transaction (the outbox).
        let payloads = transitions.flatMap { transition in
            WebhookEventType.announcing(status: transition.toStatus).map { type in
                WebhookPayload(
                    type: type, jobName: job.name, status: transition.toStatus, secondaryStatus: transition.toSecondaryStatus,
                    message: transition.message, failureReason: transition.toStatus.isTerminal ? state.failureReason : nil, time: transition.time)
            }
        }
        try await enqueueWebhooks(on: connection, projectID: job.projectID, jobID: job.id, payloads: payloads, now: now)
    }

    /// Asks a running attempt's hosts to stop for `reason`, keeping the reason that prevails (Core's
    /// ``StopReason/prevailing(current:requested:)``) and the first request's time and grace. Nothing for an attempt
    /// that is no longer running. Runs in the caller's transaction, which holds the attempt.
    func stopAttempt(on connection: PostgresConnection, attemptID: Int64, reason: StopReason, graceSeconds: Double, now: Date) async throws {
        for try await (state, current) in try await connection.query(
            "SELECT state, stop_reason FROM attempts WHERE id = \(attemptID) FOR UPDATE", logger: logger
        ).decode((String, String?).self) {
            guard try Self.attemptState(state) == .running else { return }
            let prevailing = StopReason.prevailing(current: current.flatMap(StopReason.init(rawValue:)), requested: reason)
            try await connection.query(
                """
                UPDATE attempts SET stop_reason = \(prevailing.rawValue), stop_requested_at = coalesce(stop_requested_at, \(now)),
                    stop_grace_seconds = coalesce(stop_grace_seconds, \(graceSeconds))
                WHERE id = \(attemptID)
                """, logger: logger)
        }
    }

    /// Stops every job whose stored deadline came (oldest first, at most `limit` a pass), as Core judges it: past
    /// `max_run` (training time summed over attempts) it ends `MaxRuntimeExceeded`, past `max_wait` (spot jobs, from
    /// creation) `MaxWaitTimeExceeded`; a live attempt gets `graceSeconds` and its outputs are uploaded, a waiting job
    /// ends at once. A deadline stored before the clock moved is put right instead. Answers the jobs stopped.
    public func enforceDeadlines(graceSeconds: Double, now: Date = Date(), limit: Int = 100) async throws -> [DeadlineStop] {
        var due: [Int64] = []
        for try await id in try await client.query(
            "SELECT id FROM jobs WHERE deadline_at <= \(now) ORDER BY deadline_at LIMIT \(limit)", logger: logger
        ).decode(Int64.self) {
            due.append(id)
        }
        var stopped: [DeadlineStop] = []
        for jobID in due {
            let stop: DeadlineStop? = try await client.transaction(logger: logger) { connection in
                // Lock order everywhere: attempt, then job. The attempt still open (running, or ending while its outputs
                // are merged) is the one whose training counts.
                var open: Int64?
                for try await id in try await connection.query(
                    "SELECT id FROM attempts WHERE job_id = \(jobID) AND state <> 'ended' ORDER BY number DESC LIMIT 1 FOR UPDATE", logger: logger
                ).decode(Int64.self) {
                    open = id
                }
                guard let job = try await lockJob(on: connection, id: jobID) else { return nil }
                let limits = job.limits
                var aggregate = try await loadAggregate(of: job, attemptID: open, limits: limits, on: connection)
                let passed = limits.passed(at: now, trainedSeconds: aggregate.trainedSeconds, trainingSince: aggregate.trainingSince)
                let input = LifecycleInput.deadlinePassed(graceSeconds: graceSeconds)
                let effects = aggregate.handle(input, now: now)
                try await persist(effects, input: input, state: aggregate.state, job: job, attemptID: open, on: connection, now: now)
                guard let passed, effects.contains(where: { $0.transition?.toStatus == .stopping }) else { return nil }
                return DeadlineStop(job: job.name, project: job.projectName, limit: passed)
            }
            if let stop { stopped.append(stop) }
        }
        return stopped
    }
}

/// A job ``PostgresStore/enforceDeadlines(graceSeconds:now:limit:)`` stopped, and the limit it passed.
public struct DeadlineStop: Sendable, Equatable {
    public var job: String
    public var project: String
    public var limit: JobLimits.Kind
}
