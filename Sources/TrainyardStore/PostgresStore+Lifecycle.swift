import Foundation
import Logging
import PostgresNIO
import TrainyardCore

/// The one way a job's life changes in the database: load the aggregate under its locks, let Core's ``JobAggregate``
/// decide, and carry out the effects here, in the caller's transaction.
extension PostgresStore {
    /// Locks job `jobID` (the caller holds attempt `attemptID`, if any: host, then attempt, then job) and loads them as
    /// the lifecycle sees them, in one statement: the job's state, limits, training time and stored deadline; the
    /// attempt's state, stop reason and training clock; its hosts' phases. Nil when there is no such job.
    func lockAggregate(jobID: Int64, attemptID: Int64?, on connection: PostgresConnection) async throws -> (job: LockedJob, aggregate: JobAggregate)? {
        let rows = try await connection.query(
            """
            SELECT \(unescaped: Self.aggregateColumns)
            FROM jobs j JOIN projects p ON p.id = j.project_id LEFT JOIN attempts a ON a.id = \(attemptID) AND a.job_id = j.id
            WHERE j.id = \(jobID) FOR UPDATE OF j
            """, logger: logger)
        for try await row in rows {
            return try Self.decodeAggregate(row)
        }
        return nil
    }

    /// What ``decodeAggregate(_:)`` reads, from `jobs j`, `projects p` and `attempts a`: a query may select more after
    /// them, from column `aggregateColumnCount` on.
    static let aggregateColumns = """
        j.id, j.project_id, p.name, j.name, j.status, j.secondary_status, j.failure_reason, j.interruptions, j.created_at,
        (j.spec->>'max_run')::float8, (j.spec->>'max_wait')::float8, j.use_spot, j.trained_seconds, j.deadline_at,
        a.state, a.stop_reason, a.training_started_at, (SELECT array_agg(h.phase) FROM hosts h WHERE h.attempt_id = a.id),
        a.stop_requested_at, a.stop_grace_seconds, (j.spec->>'max_pending')::float8,
        CASE WHEN j.spec ? 'max_pending' THEN (SELECT array_agg(extract(epoch FROM x.started_at)::float8 ORDER BY x.number) FROM attempts x WHERE x.job_id = j.id) END,
        CASE WHEN j.spec ? 'max_pending' THEN (SELECT array_agg(coalesce(extract(epoch FROM x.ended_at)::float8, 'NaN') ORDER BY x.number) FROM attempts x WHERE x.job_id = j.id) END,
        (j.spec->>'keep_alive_period')::int, j.warm_pool_status IS NOT DISTINCT FROM 'InUse'
        """

    static let aggregateColumnCount = 25

    static func decodeAggregate(_ row: PostgresRow) throws -> (job: LockedJob, aggregate: JobAggregate) {
        let columns = row.makeRandomAccess()
        func column<T: PostgresDecodable>(_ index: Int, _ type: T.Type = T.self) throws -> T {
            try columns[index].decode(T.self, context: .default)
        }
        let name: String = try column(3)
        guard let status = JobStatus(rawValue: try column(4)), let secondary = SecondaryStatus(rawValue: try column(5)) else {
            throw StoreError.corrupt("status of job \(name)")
        }
        let job = LockedJob(id: try column(0), projectID: try column(1), projectName: try column(2), name: name)
        let state = JobState(status: status, secondaryStatus: secondary, failureReason: try column(6), interruptions: try column(7))
        let createdAt: Date = try column(8)
        let maxPending: Double? = try column(20)
        let limits = JobLimits(
            maxRunSeconds: try column(9, Double?.self) ?? Double(JobSpec.defaultMaxRun), maxWaitSeconds: try column(10), maxPendingSeconds: maxPending,
            spot: try column(11), createdAt: createdAt)
        // The attempts' starts and ends (NaN: not ended), loaded only for a job with `max_pending`.
        var waits: CapacityWaits?
        if maxPending != nil {
            let starts = try column(21, [Double]?.self) ?? []
            let ends = try column(22, [Double]?.self) ?? []
            waits = CapacityWaits.of(
                createdAt: createdAt,
                attempts: zip(starts, ends).map { (Date(timeIntervalSince1970: $0), $1.isNaN ? nil : Date(timeIntervalSince1970: $1)) })
        }
        let aggregate = JobAggregate(
            state: state, attempt: try column(14, String?.self).map(Self.attemptState),
            hostPhases: (try column(17, [String]?.self) ?? []).map { HostPhase(rawValue: $0) ?? .lost },
            stopReason: try column(15, String?.self).flatMap(StopReason.init(rawValue:)), limits: limits, trainedSeconds: try column(12),
            trainingSince: try column(16), deadline: try column(13), stopRequestedAt: try column(18), stopGraceSeconds: try column(19), waits: waits,
            keepAlivePeriod: try column(23, Int?.self) ?? 0, onWarmPool: try column(24))
        return (job, aggregate)
    }

    static func attemptState(_ stored: String) throws -> AttemptState {
        guard let state = AttemptState(rawValue: stored) else { throw StoreError.corrupt("attempt state \(stored)") }
        return state
    }

    /// Runs `input` through Core for job `jobID` and its attempt `attemptID` (the caller holds the attempt; this locks
    /// the job) and carries out the effects. Answers them, for a caller that refuses a request the state machine
    /// refused, and the aggregate as it now stands; nil when there is no such job.
    @discardableResult
    func run(_ input: LifecycleInput, jobID: Int64, attemptID: Int64?, on connection: PostgresConnection, now: Date) async throws
        -> (effects: [LifecycleEffect], aggregate: JobAggregate)?
    {
        guard case (let job, var aggregate)? = try await lockAggregate(jobID: jobID, attemptID: attemptID, on: connection) else { return nil }
        let effects = aggregate.handle(input, now: now)
        try await persist(effects, input: input, state: aggregate.state, job: job, attemptID: attemptID, on: connection, now: now)
        return (effects, aggregate)
    }

    /// Carries out `effects` (``JobAggregate/handle(_:now:)``'s answer to `input`, leaving the job in `state`) in the
    /// caller's transaction: the effect writer. Refusals and no-ops are logged with the job and the attempt.
    func persist(
        _ effects: [LifecycleEffect], input: LifecycleInput, state: JobState, job: LockedJob, attemptID: Int64?, on connection: PostgresConnection,
        now: Date
    ) async throws {
        var metadata: Logger.Metadata = ["job": "\(job.name)", "project": "\(job.projectName)", "input": "\(input.name)"]
        if let attemptID { metadata["attempt"] = "\(attemptID)" }
        var transitions: [JobTransition] = []
        for effect in effects {
            switch effect {
            case .record(let transition):
                transitions.append(transition)
            case .startTrainingClock:
                guard let attemptID else { continue }
                try await connection.query(
                    "UPDATE attempts SET training_started_at = coalesce(training_started_at, \(now)) WHERE id = \(attemptID)", logger: logger)
            case .markAttemptEnding:
                guard let attemptID else { continue }
                try await connection.query("UPDATE attempts SET state = 'ending' WHERE id = \(attemptID)", logger: logger)
            case .stopAttempt(let reason, let grace):
                guard let attemptID else { continue }
                // Core chose the reason that prevails, for an attempt it saw running under the caller's lock; the first
                // request's time and grace stay.
                try await connection.query(
                    """
                    UPDATE attempts SET stop_reason = \(reason.rawValue), stop_requested_at = coalesce(stop_requested_at, \(now)),
                        stop_grace_seconds = coalesce(stop_grace_seconds, \(grace))
                    WHERE id = \(attemptID)
                    """, logger: logger)
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
            case .keepWarmPool(let pool):
                try await connection.query(
                    """
                    UPDATE jobs SET warm_pool_status = \(pool.status.rawValue), warm_pool_retained_at = \(pool.retainedAt),
                        warm_pool_expires_at = \(pool.expiresAt), warm_pool_released_at = \(pool.releasedAt), warm_pool_reused_by = NULL
                    WHERE id = \(job.id)
                    """, logger: logger)
            case .wake(.jobWatchers):
                try await connection.query("SELECT pg_notify('trainyard_jobs', \(job.name))", logger: logger)
            case .wake(.finalizer):
                guard let attemptID else { continue }
                try await connection.query("SELECT pg_notify('trainyard_attempts', \(String(attemptID)))", logger: logger)
            case .direct:
                continue  // the heartbeat's caller answers it
            case .unchanged, .refused:
                log(note: effect, metadata: metadata)
            }
        }
        try await writeTransitions([JobTransitions(job: job, transitions: transitions, state: state)], on: connection, now: now)
    }

    /// Logs a note Core answered with (a refused input, one that changed nothing) with the job and the input.
    private func log(note effect: LifecycleEffect, metadata: Logger.Metadata) {
        switch effect {
        case .unchanged(let why): logger.debug("a lifecycle input changed nothing: \(why)", metadata: metadata)
        case .refused(let error): logger.warning("the job's state machine refused a lifecycle input: \(error)", metadata: metadata)
        default: return
        }
    }

    /// The effect writer for many jobs without an attempt at once (a scheduling pass telling a queue that it waits):
    /// the jobs whose effects are transitions (and notes) only are written together, in one statement whatever their
    /// number; any other through ``persist(_:input:state:job:attemptID:on:now:)``.
    func persist(batch outcomes: [JobOutcome], on connection: PostgresConnection, now: Date) async throws {
        var written: [JobTransitions] = []
        for outcome in outcomes {
            let transitionsOnly = outcome.effects.allSatisfy { effect in
                switch effect {
                case .record, .unchanged, .refused: true
                default: false
                }
            }
            guard transitionsOnly else {
                try await persist(outcome.effects, input: outcome.input, state: outcome.state, job: outcome.job, attemptID: nil, on: connection, now: now)
                continue
            }
            let metadata: Logger.Metadata = ["job": "\(outcome.job.name)", "project": "\(outcome.job.projectName)", "input": "\(outcome.input.name)"]
            for effect in outcome.effects { log(note: effect, metadata: metadata) }
            written.append(JobTransitions(job: outcome.job, transitions: outcome.effects.compactMap(\.transition), state: outcome.state))
        }
        try await writeTransitions(written, on: connection, now: now)
    }

    /// Records the jobs' transitions in one statement, whatever their number: their events in order, their status
    /// columns as Core left them, and the webhook deliveries they cause (the outbox, one per payload and subscription
    /// of the job's project that wants it, in order), in the caller's transaction.
    private func writeTransitions(_ jobs: [JobTransitions], on connection: PostgresConnection, now: Date) async throws {
        let jobs = jobs.filter { !$0.transitions.isEmpty }
        guard !jobs.isEmpty else { return }
        let events = jobs.flatMap { job in job.transitions.map { (job.job.id, $0) } }
        let states = jobs.map(\.state)
        let deliveries = jobs.flatMap { job in
            WebhookPayload.announcing(job.transitions, jobName: job.job.name, state: job.state).map { (job.job.projectID, job.job.id, $0) }
        }
        try await connection.query(
            """
            WITH events AS (
                INSERT INTO job_events (job_id, time, type, status, secondary_status, message)
                SELECT e.job_id, e.time, \(JobEventType.statusChanged.rawValue), e.status, e.secondary_status, e.message
                FROM unnest(\(events.map(\.0))::bigint[], \(events.map(\.1.time))::timestamptz[], \(events.map(\.1.toStatus.rawValue))::text[],
                            \(events.map(\.1.toSecondaryStatus.rawValue))::text[], \(events.map(\.1.message))::text[])
                    WITH ORDINALITY AS e(job_id, time, status, secondary_status, message, n)
                ORDER BY e.n
            ), written AS (
                UPDATE jobs j SET status = u.status, secondary_status = u.secondary_status,
                    failure_reason = CASE WHEN u.failed THEN u.failure_reason END, last_modified_at = \(now),
                    training_start_time = CASE WHEN u.starts_training THEN coalesce(j.training_start_time, \(now)) ELSE j.training_start_time END,
                    training_end_time = CASE WHEN u.terminal AND j.training_start_time IS NOT NULL
                        THEN coalesce(j.training_end_time, \(now)) ELSE j.training_end_time END
                FROM unnest(\(jobs.map(\.job.id))::bigint[], \(states.map(\.status.rawValue))::text[], \(states.map(\.secondaryStatus.rawValue))::text[],
                            \(states.map { $0.failureReason != nil })::bool[], \(states.map { $0.failureReason ?? "" })::text[],
                            \(states.map { $0.secondaryStatus == .training })::bool[], \(states.map(\.status.isTerminal))::bool[])
                    AS u(id, status, secondary_status, failed, failure_reason, starts_training, terminal)
                WHERE j.id = u.id
            )
            INSERT INTO webhook_deliveries (id, subscription_id, job_id, job_name, event_type, payload, created_at, next_attempt_at)
            SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), s.id, d.job_id, d.job_name, d.type, d.body, \(now), \(now)
            FROM unnest(\(deliveries.map(\.0))::bigint[], \(deliveries.map(\.1))::bigint[], \(deliveries.map(\.2.jobName))::text[],
                        \(deliveries.map(\.2.type.rawValue))::text[], \(deliveries.map { $0.2.json() })::text[])
                WITH ORDINALITY AS d(project_id, job_id, job_name, type, body, n)
            JOIN webhook_subscriptions s ON s.project_id = d.project_id AND s.disabled_at IS NULL AND s.events && ARRAY[d.type, '*']
            ORDER BY d.n, s.id
            """, logger: logger)
    }

    /// Stops every job whose stored deadline came (oldest first, at most `limit` a pass), as Core judges it: past
    /// `max_run` (training time summed over attempts) it ends `MaxRuntimeExceeded`, past `max_wait` (spot jobs, from
    /// creation) `MaxWaitTimeExceeded`; a live attempt gets `graceSeconds` and its outputs are uploaded, a waiting job
    /// ends at once. A deadline stored before the clock moved is put right instead. Answers the jobs stopped.
    public func enforceDeadlines(graceSeconds: Double, now: Date, limit: Int) async throws -> [DeadlineStop] {
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
                guard case (let job, var aggregate)? = try await lockAggregate(jobID: jobID, attemptID: open, on: connection) else { return nil }
                let passed = aggregate.limits?.passed(
                    at: now, trainedSeconds: aggregate.trainedSeconds, trainingSince: aggregate.trainingSince, waits: aggregate.waits)
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

/// Who a locked job is: what the effect writer needs to name it (events, webhooks, logs).
struct LockedJob: Sendable {
    var id: Int64
    var projectID: Int64
    var projectName: String
    var name: String
}

/// A job's answer from Core to one input, for the batch effect writer: the job as locked, the input, the effects and the
/// state they leave it in.
struct JobOutcome: Sendable {
    var job: LockedJob
    var input: LifecycleInput
    var effects: [LifecycleEffect]
    var state: JobState
}

/// A job's transitions to record, and the state they leave it in.
private struct JobTransitions {
    var job: LockedJob
    var transitions: [JobTransition]
    var state: JobState
}
