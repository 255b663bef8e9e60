import Foundation
import PostgresNIO
import TrainyardCore

extension PostgresStore {
    /// The queue and the pool as they stand, read in one statement (one snapshot, one round trip): a scrape of
    /// `/metrics` costs a count of the jobs table by status and three index reads (jobs_queue_by_pool, hosts_live,
    /// attempts_open).
    public func queueState(project: Int64?, now: Date) async throws -> QueueState {
        var state = QueueState()
        let rows = try await client.query(
            """
            SELECT 'job', status, secondary_status, NULL::bool, count(*)::int, NULL::timestamptz FROM jobs
                WHERE \(project)::bigint IS NULL OR project_id = \(project) GROUP BY status, secondary_status
            UNION ALL
            SELECT 'waiting', instance_type, NULL, use_spot, count(*)::int, min(created_at) FROM jobs j
                WHERE \(unescaped: Self.queuedPredicate) AND (\(project)::bigint IS NULL OR project_id = \(project))
                  AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.job_id = j.id AND a.state <> 'ended')
                GROUP BY instance_type, use_spot
            UNION ALL
            SELECT 'in_use', instance_type, NULL, spot, count(*)::int, NULL FROM hosts WHERE phase NOT IN ('exited', 'lost') GROUP BY instance_type, spot
            UNION ALL
            SELECT 'warm', instance_type, NULL, use_spot, sum(instance_count)::int, NULL FROM jobs
                WHERE warm_pool_status = 'Available' AND warm_pool_expires_at > \(now) GROUP BY instance_type, use_spot
            UNION ALL
            SELECT 'host', h.phase, NULL, NULL, count(*)::int, NULL FROM hosts h JOIN attempts a ON a.id = h.attempt_id
                WHERE a.state <> 'ended' GROUP BY h.phase
            UNION ALL
            SELECT 'training', p.name, NULL, NULL, 0, a.training_started_at FROM attempts a
                JOIN jobs j ON j.id = a.job_id JOIN projects p ON p.id = j.project_id
                WHERE a.state <> 'ended' AND a.training_started_at IS NOT NULL AND (\(project)::bigint IS NULL OR j.project_id = \(project))
            """, logger: logger)
        for try await (kind, first, second, spot, count, oldest) in rows.decode((String, String, String?, Bool?, Int, Date?).self) {
            switch kind {
            case "job":
                guard let status = JobStatus(rawValue: first), let secondary = second.flatMap(SecondaryStatus.init(rawValue:)) else { continue }
                state.jobs[QueueState.StatusKey(status, secondary)] = count
            case "waiting":
                guard let spot, let oldest else { continue }
                state.waiting[GangScheduler.Pool(instanceType: first, spot: spot)] = QueueState.Waiting(count: count, oldestSubmittedAt: oldest)
            case "in_use":
                guard let spot else { continue }
                state.inUse[GangScheduler.Pool(instanceType: first, spot: spot)] = count
            case "warm":
                guard let spot else { continue }
                state.warm[GangScheduler.Pool(instanceType: first, spot: spot)] = count
            case "training":
                guard let oldest else { continue }
                state.trainingInProgress[first, default: 0] += max(0, now.timeIntervalSince(oldest))
            default:
                guard let phase = HostPhase(rawValue: first) else { continue }
                state.hosts[phase] = count
            }
        }
        return state
    }

    /// This server's connections to the database now: open, and busy with a statement (this one among them). They are
    /// told apart from another server's (a replica's) by the connections' `application_name`
    /// (``PostgresNIO/PostgresClient/Configuration/named(_:)``).
    public func databaseConnections() async throws -> (open: Int, active: Int) {
        let rows = try await client.query(
            """
            SELECT count(*)::int, (count(*) FILTER (WHERE state = 'active'))::int FROM pg_stat_activity
            WHERE datname = current_database() AND usename = current_user AND backend_type = 'client backend'
                AND application_name = current_setting('application_name')
            """, logger: logger)
        for try await (open, active) in rows.decode((Int, Int).self) { return (open, active) }
        return (0, 0)
    }
}
