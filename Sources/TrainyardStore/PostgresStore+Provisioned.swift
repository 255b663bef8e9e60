import Foundation
import Logging
import PostgresNIO
import TrainyardCore

extension PostgresStore {
    /// Hosts of running attempts of `provisioner` that have a reference and have not ended.
    public func liveProvisionedHosts(provisioner: String) async throws -> [ProvisionedHost] {
        var hosts: [ProvisionedHost] = []
        for try await row in try await client.query(
            """
            SELECT \(unescaped: Self.hostColumns), a.stop_requested_at, a.stop_grace_seconds FROM hosts h JOIN attempts a ON a.id = h.attempt_id
            WHERE a.state = 'running' AND a.provisioner = \(provisioner) AND h.phase NOT IN ('exited', 'lost') AND h.provisioner_ref IS NOT NULL
            ORDER BY h.attempt_id, h.ordinal
            """, logger: logger)
        {
            let columns = row.makeRandomAccess()
            hosts.append(
                ProvisionedHost(
                    host: try Self.decodeHost(row), stopRequestedAt: try columns[Self.hostColumnCount].decode(Date?.self, context: .default),
                    stopGraceSeconds: try columns[Self.hostColumnCount + 1].decode(Double?.self, context: .default)))
        }
        return hosts
    }

    /// Of these attempt ids, those whose attempts have not ended (the reconciler's question).
    public func liveAttemptIDs(among ids: Set<Int64>) async throws -> Set<Int64> {
        var live: Set<Int64> = []
        for try await id in try await client.query(
            "SELECT id FROM attempts WHERE id = ANY(\(Array(ids))::bigint[]) AND state <> 'ended'", logger: logger
        ).decode(Int64.self) {
            live.insert(id)
        }
        return live
    }

    /// Records the references a reconciliation found for hosts that have none (the server died between submitting
    /// and recording).
    public func adoptProvisionerReferences(_ references: [String: String]) async throws {
        for (hostID, reference) in references {
            try await client.query(
                "UPDATE hosts SET provisioner_ref = \(reference) WHERE id = \(hostID) AND provisioner_ref IS NULL", logger: logger)
        }
    }

    /// Applies what the provisioner said about live hosts: a backend that holds an attempt queued makes the job
    /// `Pending` with the backend's reason (and keeps the hosts' launch lease fresh), a placed host records its node
    /// and brings a `Pending` job back to `LaunchingMLInstances`, and a host its backend took back, lost the node of,
    /// or no longer has is lost with the backend's reason. Answers the hosts judged lost, for the provisioner to tear
    /// down the rest of their gang. A reclaim the backend announces is the caller's to carry out, as any reclaim
    /// (``interruptHost(id:noticeSeconds:reason:now:)``, then the notice).
    ///
    /// Heartbeats lock a host, then its attempt: the queued and placed cases lock one row at a time (never an
    /// attempt), and only a lost host takes its attempt's lock, as the lease reaper does; nothing is locked for a
    /// host whose state changes nothing.
    public func applyProvisionedStates(
        _ states: [String: ProvisionedHostState], hosts: [HostRecord], launchLeaseSeconds: Double, now: Date
    ) async throws -> [HostRecord] {
        var lost: [HostRecord] = []
        let byAttempt = Dictionary(grouping: hosts.filter { states[$0.id] != nil }, by: \.attemptID)
        for (attemptID, attemptHosts) in byAttempt.sorted(by: { $0.key < $1.key }) {
            let ordered = attemptHosts.sorted { $0.ordinal < $1.ordinal }
            for host in ordered {
                switch states[host.id] {
                case .pending:
                    try await client.query(
                        """
                        UPDATE hosts SET lease_expires_at = \(now.addingTimeInterval(launchLeaseSeconds))
                        WHERE id = \(host.id) AND phase = 'launching' AND lease_expires_at < \(now.addingTimeInterval(launchLeaseSeconds / 2))
                        """, logger: logger)
                case .running(let node):
                    if let node, let reference = host.providerRef, !reference.contains("node:") {
                        try await client.query(
                            "UPDATE hosts SET provisioner_ref = \(reference + " node:" + node) WHERE id = \(host.id)", logger: logger)
                    }
                case .interrupted(let reason):
                    // The backend took the host back (a Slurm preemption or requeue): a spot interruption, which resumes
                    // from the checkpoint and spends no retry. Its agent, signalled by the backend, has usually reported
                    // it already; this covers one killed before it could.
                    if try await loseHost(host, reason: "CapacityError: \(reason)", interruption: true, now: now) { lost.append(host) }
                case .nodeFailed(let reason), .gone(let reason):
                    if try await loseHost(host, reason: reason, now: now) { lost.append(host) }
                case .reclaiming, nil:
                    break
                }
            }
            let words = ordered.compactMap { states[$0.id] }
            guard words.contains(where: \.movesTheJob), let current = try await job(id: ordered[0].jobID),
                let input = ProvisionedHostState.lifecycleInput(for: words, jobStatus: current.secondaryStatus)
            else { continue }
            try await client.transaction(logger: logger) { connection in
                // Lock order everywhere: attempt, then job.
                _ = try await lockAttempt(on: connection, id: attemptID)
                try await run(input, jobID: current.id, attemptID: attemptID, on: connection, now: now)
            }
        }
        return lost
    }

    /// Hosts their provisioner could not start (the agent is missing, `sbatch` refused): each is lost at once with
    /// `reason`, which the job's failure names, instead of when its launch lease runs out. Answers the hosts lost.
    public func failLaunch(hostIDs: [String], reason: String, now: Date) async throws -> [HostRecord] {
        var lost: [HostRecord] = []
        for id in hostIDs {
            guard let host = try await host(id: id) else { continue }
            if try await loseHost(host, reason: reason, now: now) { lost.append(host) }
        }
        return lost
    }

    /// Marks a live host lost in a transaction of its own that holds its attempt (as the lease reaper does).
    func loseHost(_ host: HostRecord, reason: String, interruption: Bool = false, now: Date) async throws -> Bool {
        try await client.transaction(logger: logger) { connection in
            let attempt = try await lockHostAndAttempt(on: connection, host: host)
            guard attempt.state == .running else { return false }
            if interruption { try await markInterrupted(on: connection, host: host, noticeSeconds: 0, reason: reason, now: now) }
            // Reclaimed first (it decides how the attempt ends), then lost.
            return try await markHostLost(on: connection, host: host, reason: reason, now: now)
        }
    }

    /// Marks one live host lost with `reason` (an event says so), stops the rest of its gang and hands the attempt
    /// on once all are done. False when the host had ended meanwhile. Runs inside the caller's transaction, which
    /// holds the attempt.
    /// `leaseExpiredBefore`: only if its lease ran out before then (the lease reaper's check, made again under the lock).
    func markHostLost(on connection: PostgresConnection, host: HostRecord, reason: String, leaseExpiredBefore: Date? = nil, now: Date) async throws
        -> Bool
    {
        let rows = try await connection.query(
            """
            UPDATE hosts SET phase = 'lost', failure_reason = \(reason), ended_at = \(now)
            WHERE id = \(host.id) AND phase NOT IN ('exited', 'lost')
              AND (\(leaseExpiredBefore)::timestamptz IS NULL OR lease_expires_at < \(leaseExpiredBefore))
            RETURNING id
            """, logger: logger)
        var changed = false
        for try await _ in rows { changed = true }
        guard changed else { return false }
        try await appendEvent(on: connection, jobID: host.jobID, time: now, type: .hostLost, status: nil, secondaryStatus: nil, message: reason)
        try await run(.hostEnded(.lost), jobID: host.jobID, attemptID: host.attemptID, on: connection, now: now)
        return true
    }
}
