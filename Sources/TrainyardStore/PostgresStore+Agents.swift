import Foundation
import Logging
import PostgresNIO
import TrainyardCore

extension PostgresStore: AttemptRepository {
    static let hostColumns = """
        h.id, h.attempt_id, h.job_id, h.name, h.ordinal, h.instance_type, h.spot, h.phase, h.exit_code, h.signal, h.failure_reason,
        h.stopped, h.model_archive, h.output_archive, h.provisioner_ref, h.started_at, h.ended_at, h.interrupted, h.checkpoint_synced_at
        """
    /// How many columns ``hostColumns`` selects: the index of the first column a query adds after them.
    static let hostColumnCount = hostColumns.split(separator: ",").count

    static func decodeHost(_ row: PostgresRow) throws -> HostRecord {
        let (id, attemptID, jobID, name, ordinal, type, spot, phase, exitCode, signal, reason, stopped, model, output, ref, started, ended, interrupted,
            synced) =
            try row.decode(
                (String, Int64, Int64, String, Int, String, Bool, String, Int32?, Int32?, String?, Bool, String?, String?, String?, Date, Date?, Bool,
                    Date?).self)
        return HostRecord(
            id: id, attemptID: attemptID, jobID: jobID, name: name, ordinal: ordinal, instanceType: type, spot: spot,
            phase: HostPhase(rawValue: phase) ?? .lost, exitCode: exitCode, signal: signal, failureReason: reason, stopped: stopped,
            modelArchive: model, outputArchive: output, providerRef: ref, startedAt: started, endedAt: ended, interrupted: interrupted,
            checkpointSyncedAt: synced)
    }

    /// The host an agent token belongs to, when its secret matches; a host of an ended attempt still authenticates,
    /// so that its agent learns to stop.
    public func authenticateAgent(_ token: String) async throws -> HostRecord? {
        guard let dot = token.lastIndex(of: ".") else { return nil }
        let id = String(token[..<dot])
        let secret = String(token[token.index(after: dot)...])
        for try await (host, hash) in try await client.execute(AgentTokenLookup(hostID: id), logger: logger) {
            return APIKeyHasher().verify(secret: secret, stored: hash) ? host : nil
        }
        _ = APIKeyHasher().verify(secret: secret, stored: Self.decoyHash)
        return nil
    }

    /// The host with that id, or nil.
    public func host(id: String) async throws -> HostRecord? {
        for try await row in try await client.query("SELECT \(unescaped: Self.hostColumns) FROM hosts h WHERE h.id = \(id)", logger: logger) {
            return try Self.decodeHost(row)
        }
        return nil
    }

    /// What the host's agent is to run.
    public func assignment(for host: HostRecord) async throws -> HostAssignment? {
        guard let job = try await job(id: host.jobID) else { return nil }
        var names: [String] = []
        var number = 0
        for try await (name, attempt) in try await client.query(
            "SELECT h.name, a.number FROM hosts h JOIN attempts a ON a.id = h.attempt_id WHERE h.attempt_id = \(host.attemptID) ORDER BY h.ordinal",
            logger: logger
        ).decode((String, Int).self) {
            names.append(name)
            number = attempt
        }
        return HostAssignment(host: host, job: job, attemptNumber: number, hostNames: names)
    }

    /// Records where the provisioner put a host (a process id, a Slurm job and node).
    public func setProvisionerReference(hostID: String, reference: String) async throws {
        try await client.query("UPDATE hosts SET provisioner_ref = \(reference) WHERE id = \(hostID)", logger: logger)
    }

    /// Applies an agent's heartbeat in one transaction: the host's phase moves forward only (a retried report changes
    /// nothing twice), its lease is extended, the job follows the slowest host of its gang, a host that failed on its
    /// own has the rest of the gang stopped, and an attempt whose hosts are all done is handed to the finalizer.
    /// Answers whether the agent must stop, and with what grace.
    /// A spot host's report saying it got a reclaim notice from its provider (a spot interruption, a Slurm preemption)
    /// marks it interrupted and stops its gang within `spotNoticeSeconds`.
    public func recordHeartbeat(
        hostID: String, report: AgentReport, leaseSeconds: Double, heartbeatSeconds: Double, spotNoticeSeconds: Double, now: Date
    ) async throws -> AgentDirective {
        if report.isSteady, let directive = try await recordSteadyHeartbeat(
            hostID: hostID, report: report, leaseSeconds: leaseSeconds, heartbeatSeconds: heartbeatSeconds, now: now)
        {
            return directive
        }
        return try await client.transaction(logger: logger) { connection in
            var found: HostRecord?
            for try await row in try await connection.query(
                "SELECT \(unescaped: Self.hostColumns) FROM hosts h WHERE h.id = \(hostID) FOR UPDATE", logger: logger)
            {
                found = try Self.decodeHost(row)
            }
            guard let host = found else { throw StoreError.jobNotFound(hostID) }
            let attempt = try await lockAttempt(on: connection, id: host.attemptID)
            if host.phase.isFinal {
                // A host already judged lost (or done) is told to stop; its late reports change nothing.
                return AgentDirective(
                    action: JobAggregate.directiveForEndedHost(lost: host.phase == .lost, attemptRunning: attempt.state == .running), graceSeconds: 0,
                    heartbeatIntervalSeconds: heartbeatSeconds)
            }
            let phase = max(host.phase, report.phase)
            let exited = phase == .exited
            try await connection.query(
                """
                UPDATE hosts SET phase = \(phase.rawValue), lease_expires_at = \(now.addingTimeInterval(leaseSeconds)), last_seen_at = \(now),
                    exit_code = CASE WHEN \(exited) THEN \(report.exitCode) ELSE exit_code END,
                    signal = CASE WHEN \(exited) THEN \(report.signal) ELSE signal END,
                    failure_reason = CASE WHEN \(exited) THEN \(report.failureReason) ELSE failure_reason END,
                    stopped = CASE WHEN \(exited) THEN \(report.stopped) ELSE stopped END,
                    model_archive = coalesce(\(report.modelArchive), model_archive),
                    output_archive = coalesce(\(report.outputArchive), output_archive),
                    ended_at = CASE WHEN \(exited) THEN \(now) ELSE ended_at END,
                    checkpoint_synced_at = coalesce(\(report.checkpointSyncedAt), checkpoint_synced_at)
                WHERE id = \(hostID)
                """, logger: logger)
            // Only a spot host's notice is an interruption: an on-demand host gets SIGTERM from its backend when the
            // backend ends the job for another reason (Slurm on a failed node), which the provisioner reports itself.
            if report.interrupted == true, host.spot, !host.interrupted, attempt.state == .running {
                try await markInterrupted(
                    on: connection, host: host, noticeSeconds: spotNoticeSeconds, reason: StoreWording.providerNotice, now: now)
            }
            if let drops = report.logDrops, !drops.isEmpty {
                try await recordLogDrops(drops, host: host, on: connection, now: now)
            }
            var updated = host
            updated.phase = phase
            if exited {
                updated.exitCode = report.exitCode
                updated.signal = report.signal
                updated.stopped = report.stopped
            }
            let input = LifecycleInput.hostReported(failedByItself: updated.result.failedByItself)
            guard let (effects, _) = try await run(input, jobID: host.jobID, attemptID: attempt.id, on: connection, now: now),
                let directive = effects.lazy.compactMap(\.directive).last
            else {
                throw StoreError.jobNotFound("job \(host.jobID)")
            }
            return AgentDirective(action: directive.action, graceSeconds: directive.graceSeconds, heartbeatIntervalSeconds: heartbeatSeconds)
        }
    }

    /// A steady heartbeat (``AgentReport/isSteady``) of a live host that reports the phase it is in, in one statement:
    /// the lease and the checkpoint time move, and the directive comes from the attempt's columns as Core decides it
    /// (``JobAggregate/directive(attempt:stopRequestedAt:stopGraceSeconds:now:heartbeatSeconds:)``). Nothing else can
    /// change: the job follows its hosts' phases, and these did not move. Nil when the host is not such a host (a new
    /// phase, an ended or unknown host): the full transaction decides then. It locks the host row only, as every
    /// writer takes it first.
    private func recordSteadyHeartbeat(
        hostID: String, report: AgentReport, leaseSeconds: Double, heartbeatSeconds: Double, now: Date
    ) async throws -> AgentDirective? {
        let statement = SteadyHeartbeat(
            hostID: hostID, phase: report.phase.rawValue, leaseExpiresAt: now.addingTimeInterval(leaseSeconds), now: now,
            checkpointSyncedAt: report.checkpointSyncedAt)
        for try await (state, requested, grace) in try await client.execute(statement, logger: logger) {
            return JobAggregate.directive(
                attempt: try Self.attemptState(state), stopRequestedAt: requested, stopGraceSeconds: grace, now: now, heartbeatSeconds: heartbeatSeconds)
        }
        return nil
    }

    /// Keeps the higher totals of the lines `host`'s spool dropped and tells the job's owner what is new, in its events
    /// (the host row is locked by the heartbeat's transaction).
    func recordLogDrops(_ drops: LogSpoolDrops, host: HostRecord, on connection: PostgresConnection, now: Date) async throws {
        var earlier: LogSpoolDrops?
        let rows = try await connection.query("SELECT log_drops::text FROM hosts WHERE id = \(host.id)", logger: logger)
        for try await text in rows.decode(String?.self) {
            earlier = text.flatMap { try? JSONDecoder().decode(LogSpoolDrops.self, from: Data($0.utf8)) }
        }
        let messages = drops.messages(since: earlier, host: host.name)
        guard !messages.isEmpty else { return }
        let kept = drops.keepingHigherTotals(than: earlier)
        let json = String(decoding: try JSONEncoder().encode(kept), as: UTF8.self)
        try await connection.query("UPDATE hosts SET log_drops = \(json)::jsonb WHERE id = \(host.id)", logger: logger)
        for message in messages {
            try await appendEvent(
                on: connection, jobID: host.jobID, time: now, type: LogSpoolDrops.eventType, status: nil, secondaryStatus: nil, message: message)
        }
    }

    /// Locks `host`, then its attempt: the order heartbeats take (the other order deadlocks with them).
    func lockHostAndAttempt(on connection: PostgresConnection, host: HostRecord) async throws -> AttemptRecord {
        try await connection.query("SELECT 1 FROM hosts WHERE id = \(host.id) FOR UPDATE", logger: logger)
        return try await lockAttempt(on: connection, id: host.attemptID)
    }

    func lockAttempt(on connection: PostgresConnection, id: Int64) async throws -> AttemptRecord {
        for try await row in try await connection.query(
            "SELECT \(unescaped: Self.attemptColumns) FROM attempts WHERE id = \(id) FOR UPDATE", logger: logger)
        {
            return try Self.decodeAttempt(row)
        }
        throw StoreError.jobNotFound("attempt \(id)")
    }
}

/// The agent token's host and stored hash: run on every agent request, so a named statement, planned once per
/// connection rather than on every call.
struct AgentTokenLookup: PostgresPreparedStatement {
    static let sql = "SELECT \(PostgresStore.hostColumns), h.token_hash FROM hosts h WHERE h.id = $1"
    typealias Row = (HostRecord, String)

    var hostID: String

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 1)
        bindings.append(hostID)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        (try PostgresStore.decodeHost(row), try row.makeRandomAccess()[PostgresStore.hostColumnCount].decode(String.self, context: .default))
    }
}

/// A steady heartbeat's one statement (``PostgresStore/recordHeartbeat(hostID:report:leaseSeconds:heartbeatSeconds:spotNoticeSeconds:now:)``):
/// a named statement, as the commonest of all.
struct SteadyHeartbeat: PostgresPreparedStatement {
    static let sql = """
        UPDATE hosts h SET lease_expires_at = $3, last_seen_at = $4, checkpoint_synced_at = coalesce($5, h.checkpoint_synced_at)
        FROM attempts a
        WHERE h.id = $1 AND h.phase = $2 AND h.phase NOT IN ('exited', 'lost') AND a.id = h.attempt_id
        RETURNING a.state, a.stop_requested_at, a.stop_grace_seconds
        """
    static let bindingDataTypes: [PostgresDataType] = [.text, .text, .timestamptz, .timestamptz, .timestamptz]
    typealias Row = (String, Date?, Double?)

    var hostID: String
    var phase: String
    var leaseExpiresAt: Date
    var now: Date
    var checkpointSyncedAt: Date?

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 5)
        bindings.append(hostID)
        bindings.append(phase)
        bindings.append(leaseExpiresAt)
        bindings.append(now)
        bindings.append(checkpointSyncedAt)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        try row.decode(Row.self)
    }
}
