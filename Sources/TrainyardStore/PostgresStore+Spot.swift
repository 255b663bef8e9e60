import Foundation
import Logging
import PostgresNIO
import TrainyardCore

extension PostgresStore {
    /// Reclaims a live host now, as a spot provider would: the host is marked interrupted, and its whole gang is told
    /// to stop within `noticeSeconds` (the agents sync their checkpoints meanwhile); the attempt then ends
    /// `Interrupted` and the job resumes from its checkpoint on a new attempt. One transaction with the event.
    public func interruptHost(id: String, noticeSeconds: Double, reason: String, now: Date) async throws -> HostInterruption {
        try await client.transaction(logger: logger) { connection in
            var found: HostRecord?
            // Lock order as heartbeats take it: the host, then its attempt (the other order deadlocks with them).
            for try await row in try await connection.query(
                "SELECT \(unescaped: Self.hostColumns) FROM hosts h WHERE h.id = \(id) FOR UPDATE", logger: logger)
            {
                found = try Self.decodeHost(row)
            }
            guard let host = found else { return .notFound }
            let attempt = try await lockAttempt(on: connection, id: host.attemptID)
            // A host already reclaimed has its notice: its gang is stopping.
            guard attempt.state == .running, !host.phase.isFinal, !host.interrupted else { return .notRunning(host) }
            try await markInterrupted(on: connection, host: host, noticeSeconds: noticeSeconds, reason: reason, now: now)
            var updated = host
            updated.interrupted = true
            return .interrupted(updated)
        }
    }

    /// Records that `host` was reclaimed and stops its gang with the notice period (Core's ``HostEnding/reclaimed(noticeSeconds:)``;
    /// the attempt row is locked).
    func markInterrupted(on connection: PostgresConnection, host: HostRecord, noticeSeconds: Double, reason: String, now: Date) async throws {
        try await connection.query("UPDATE hosts SET interrupted = true WHERE id = \(host.id)", logger: logger)
        try await appendEvent(
            on: connection, jobID: host.jobID, time: now, type: .hostInterrupted, status: nil, secondaryStatus: nil,
            message: StoreWording.reclaimed(host, reason: reason, noticeSeconds: noticeSeconds))
        try await run(.hostEnded(.reclaimed(noticeSeconds: noticeSeconds)), jobID: host.jobID, attemptID: host.attemptID, on: connection, now: now)
    }

    /// The capacity set at run time, by instance type.
    public func capacityOverrides() async throws -> [String: CapacityOverride] {
        try await client.withConnection { try await capacityOverrides(on: $0) }
    }

    func capacityOverrides(on connection: PostgresConnection) async throws -> [String: CapacityOverride] {
        var overrides: [String: CapacityOverride] = [:]
        for try await (type, onDemand, spot) in try await connection.query(
            "SELECT instance_type, on_demand, spot FROM capacity_overrides", logger: logger
        ).decode((String, Int?, Int?).self) {
            overrides[type] = CapacityOverride(onDemand: onDemand, spot: spot)
        }
        return overrides
    }

    /// Sets an instance type's capacity (a market left nil keeps its figure), wakes the scheduler, and answers the
    /// live spot hosts of the type beyond the new spot capacity, newest first: the hosts the cut takes back.
    /// Under the scheduling pass's lock: a pass in progress has read the figures, and a job submitted once this returns
    /// must not get the capacity it has just lost from that pass, nor a host it allocates escape the cut.
    public func setCapacity(instanceType: String, onDemand: Int?, spot: Int?, now: Date) async throws -> [HostRecord] {
        try await client.transaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.schedulerLockKey))", logger: logger)
            try await connection.query(
                """
                INSERT INTO capacity_overrides (instance_type, on_demand, spot, updated_at) VALUES (\(instanceType), \(onDemand), \(spot), \(now))
                ON CONFLICT (instance_type) DO UPDATE SET on_demand = coalesce(\(onDemand), capacity_overrides.on_demand),
                    spot = coalesce(\(spot), capacity_overrides.spot), updated_at = \(now)
                """, logger: logger)
            try await connection.query("SELECT pg_notify('trainyard_jobs', '')", logger: logger)
            guard let spot else { return [] }
            var beyond: [HostRecord] = []
            for try await row in try await connection.query(
                """
                SELECT \(unescaped: Self.hostColumns) FROM hosts h
                WHERE h.instance_type = \(instanceType) AND h.spot AND h.phase NOT IN ('exited', 'lost') AND NOT h.interrupted
                ORDER BY h.started_at DESC, h.id DESC OFFSET \(spot)
                """, logger: logger)
            {
                beyond.append(try Self.decodeHost(row))
            }
            return beyond
        }
    }
}
