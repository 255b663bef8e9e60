import Foundation
import Logging
import PostgresNIO
import TrainyardCore

extension PostgresStore {
    /// The columns ``decodeAttempt(_:)`` reads, in its order.
    static let attemptColumns = "id, job_id, number, state, started_at, training_started_at, ended_at, end_reason, stop_reason, stop_requested_at"

    /// An attempt row (``attemptColumns``), without its hosts.
    static func decodeAttempt(_ row: PostgresRow) throws -> AttemptRecord {
        let (id, jobID, number, state, started, training, ended, endReason, stopReason, stopRequested) =
            try row.decode((Int64, Int64, Int, String, Date, Date?, Date?, String?, String?, Date?).self)
        return AttemptRecord(
            id: id, jobID: jobID, number: number, state: try attemptState(state), startedAt: started, trainingStartedAt: training, endedAt: ended,
            endReason: endReason, stopReason: stopReason.flatMap(StopReason.init(rawValue:)), hosts: [], stopRequestedAt: stopRequested)
    }

    /// The attempts of a job with their hosts, oldest first.
    public func attempts(jobID: Int64) async throws -> [AttemptRecord] {
        var attempts: [AttemptRecord] = []
        for try await row in try await client.query(
            "SELECT \(unescaped: Self.attemptColumns) FROM attempts WHERE job_id = \(jobID) ORDER BY number", logger: logger)
        {
            attempts.append(try Self.decodeAttempt(row))
        }
        guard !attempts.isEmpty else { return [] }
        var hosts: [Int64: [HostRecord]] = [:]
        for try await row in try await client.query(
            "SELECT \(unescaped: Self.hostColumns) FROM hosts h WHERE h.job_id = \(jobID) ORDER BY h.attempt_id, h.ordinal", logger: logger)
        {
            let host = try Self.decodeHost(row)
            hosts[host.attemptID, default: []].append(host)
        }
        return attempts.map { attempt in
            var attempt = attempt
            attempt.hosts = hosts[attempt.id] ?? []
            return attempt
        }
    }

    /// Under the running attempt's lock, then the job's; a grant that raced the stop is found and stopped too.
    public func requestStop(projectID: Int64, name: String, reason: StopReason, graceSeconds: Double, now: Date) async throws -> JobRecord {
        // A job's id never changes; its running attempt may, until the job is locked.
        guard let job = try await job(projectID: projectID, name: name) else { throw StoreError.jobNotFound(name) }
        for _ in 0..<Self.stopTries {
            let settled: Bool = try await client.transaction(logger: logger) { connection in
                // Lock order everywhere: attempt, then job.
                let live = try await runningAttemptID(jobID: job.id, lock: true, on: connection)
                guard case (let locked, var aggregate)? = try await lockAggregate(jobID: job.id, attemptID: live, on: connection) else {
                    throw StoreError.jobNotFound(name)
                }
                // A scheduler's grant committed between the two locks started an attempt this stop did not lock: with the
                // job locked no other can start, so the stop starts over and takes that one's lock first.
                guard try await runningAttemptID(jobID: job.id, lock: false, on: connection) == live else { return false }
                let input = LifecycleInput.stopRequested(reason, graceSeconds: graceSeconds)
                let effects = aggregate.handle(input, now: now)
                // The caller asked for this stop: a refusal is its answer (and changes nothing).
                if let refusal = effects.lazy.compactMap(\.refusal).first { throw StoreError.transitionRefused(refusal) }
                try await persist(effects, input: input, state: aggregate.state, job: locked, attemptID: live, on: connection, now: now)
                return true
            }
            if settled { return try await self.job(id: job.id) ?? job }
        }
        throw StoreError.contended("job \(name) kept starting new attempts while it was being stopped; try again")
    }

    /// Tries of a stop that raced the scheduler's grants before it gives up.
    static let stopTries = 3

    /// The id of the job's running attempt, locked or not.
    private func runningAttemptID(jobID: Int64, lock: Bool, on connection: PostgresConnection) async throws -> Int64? {
        var live: Int64?
        for try await id in try await connection.query(
            "SELECT id FROM attempts WHERE job_id = \(jobID) AND state = 'running' \(unescaped: lock ? "FOR UPDATE" : "")", logger: logger
        ).decode(Int64.self) {
            live = id
        }
        return live
    }

    /// Hosts whose lease ran out are lost (an infrastructure failure naming the host); the rest of their gang is
    /// stopped at once. Returns the lost hosts, for the provisioner to tear down.
    public func reapExpiredHosts(now: Date) async throws -> [HostRecord] {
        var expired: [HostRecord] = []
        for try await row in try await client.query(
            "SELECT \(unescaped: Self.hostColumns) FROM hosts h WHERE h.phase NOT IN ('exited', 'lost') AND h.lease_expires_at < \(now)",
            logger: logger)
        {
            expired.append(try Self.decodeHost(row))
        }
        var lost: [HostRecord] = []
        for host in expired {
            let reason = StoreWording.leaseExpired(host)
            let applied: Bool = try await client.transaction(logger: logger) { connection in
                _ = try await lockHostAndAttempt(on: connection, host: host)
                return try await markHostLost(on: connection, host: host, reason: reason, leaseExpiredBefore: now, now: now)
            }
            if applied { lost.append(host) }
        }
        return lost
    }

    /// After a restart, gives every live host a fresh lease before anyone is judged: the server being down is not
    /// a dead host.
    public func extendLiveLeases(by seconds: Double, now: Date) async throws {
        try await client.query(
            "UPDATE hosts SET lease_expires_at = greatest(lease_expires_at, \(now.addingTimeInterval(seconds))) WHERE phase NOT IN ('exited', 'lost')",
            logger: logger)
    }

    /// Claims one attempt whose hosts are all done (or whose finalizer died), for `leaseSeconds`.
    public func claimFinishedAttempt(leaseSeconds: Double, now: Date) async throws -> FinalizeWork? {
        let claimed: (Int64, Int64)? = try await client.transaction(logger: logger) { connection in
            for try await (id, jobID) in try await connection.query(
                """
                SELECT id, job_id FROM attempts WHERE state = 'ending' AND (finalizer_until IS NULL OR finalizer_until < \(now))
                ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED
                """, logger: logger
            ).decode((Int64, Int64).self) {
                try await connection.query(
                    "UPDATE attempts SET finalizer_until = \(now.addingTimeInterval(leaseSeconds)) WHERE id = \(id)", logger: logger)
                return (id, jobID)
            }
            return nil
        }
        guard let (attemptID, jobID) = claimed else { return nil }
        do {
            guard let job = try await job(id: jobID), let attempt = try await attempts(jobID: jobID).first(where: { $0.id == attemptID }) else {
                return nil
            }
            let aggregate = JobAggregate(
                state: job.state, attempt: attempt.state, hostPhases: attempt.hosts.map(\.phase), stopReason: attempt.stopReason,
                retries: RetryBudget(
                    maxRetryAttempts: job.spec.maxRetryAttempts, retriesUsed: try await retriesUsed(jobID: jobID), retryOnExitCodes: job.spec.retryOnExitCodes))
            return FinalizeWork(job: job, attempt: attempt, outcome: aggregate.outcome(of: attempt.hosts.map(\.result)))
        } catch {
            // Claimed, then not read (a connection lost with a restarting database): tried again soon, not a lease later.
            try? await releaseFinishedAttemptClaim(attemptID: attemptID, retryAt: now.addingTimeInterval(FinalizeWork.retryAfterFailureSeconds))
            throw error
        }
    }

    /// Gives up a claim ``claimFinishedAttempt(leaseSeconds:now:)`` made, for the next pass (of any replica) to take at
    /// once (a finalizer stopped half-way by shutdown hands its attempt over instead of holding it for the lease), or
    /// from `retryAt`.
    public func releaseFinishedAttemptClaim(attemptID: Int64, retryAt: Date?) async throws {
        try await client.query("UPDATE attempts SET finalizer_until = \(retryAt) WHERE id = \(attemptID) AND state = 'ending'", logger: logger)
    }

    func retriesUsed(jobID: Int64) async throws -> Int {
        for try await used in try await client.query("SELECT retries_used FROM jobs WHERE id = \(jobID)", logger: logger).decode(Int.self) {
            return used
        }
        return 0
    }

    /// Ends a finalized attempt and moves its job to where the outcome leads, in one transaction.
    /// `model` and `output` are the merged archives when they were uploaded (an attempt that uploaded none keeps what
    /// an earlier one left).
    public func finishAttempt(_ work: FinalizeWork, model: UploadedArtifact?, output: UploadedArtifact?, now: Date) async throws {
        try await client.transaction(logger: logger) { connection in
            // Lock order everywhere: attempt, then job.
            let attempt = try await lockAttempt(on: connection, id: work.attempt.id)
            guard case (let job, var aggregate)? = try await lockAggregate(jobID: work.job.id, attemptID: attempt.id, on: connection) else { return }
            let input = LifecycleInput.attemptFinalized(work.outcome)
            let effects = aggregate.handle(input, now: now)
            // The merged archives belong to the attempt this call ends, not to one another finalizer ended.
            guard effects.contains(where: { if case .endAttempt = $0 { true } else { false } }) else {
                return try await persist(effects, input: input, state: aggregate.state, job: job, attemptID: attempt.id, on: connection, now: now)
            }
            if let model {
                try await connection.query(
                    """
                    UPDATE jobs SET model_artifacts = \(model.uri), model_size_bytes = \(model.sizeBytes), model_sha256 = \(model.sha256)
                    WHERE id = \(job.id)
                    """,
                    logger: logger)
            }
            if let output {
                try await connection.query(
                    """
                    UPDATE jobs SET output_artifacts = \(output.uri), output_size_bytes = \(output.sizeBytes), output_sha256 = \(output.sha256)
                    WHERE id = \(job.id)
                    """,
                    logger: logger)
            }
            try await persist(effects, input: input, state: aggregate.state, job: job, attemptID: attempt.id, on: connection, now: now)
        }
    }
}
