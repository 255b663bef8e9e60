import Foundation
import PostgresNIO
import TrainyardCore

extension PostgresStore {
    public func replaceTags(projectID: Int64, name: String, tags: [String: String]) async throws -> Bool {
        let json = String(decoding: try JSONEncoder().encode(tags), as: UTF8.self)
        let rows = try await client.query(
            """
            UPDATE jobs SET spec = jsonb_set(spec, '{tags}', \(json)::jsonb)
            WHERE project_id = \(projectID) AND name = \(name) RETURNING id
            """, logger: logger)
        for try await _ in rows { return true }
        return false
    }

    public func updateJob(projectID: Int64, name: String, keepAlivePeriod: Int, sageMakerRequest: JSONValue?, now: Date) async throws -> Bool {
        return try await client.transaction(logger: logger) { connection in
            // The job's warm pool as it stands, locked: an available one takes the new period (Core decides how).
            var found = false
            var pool: WarmPool?
            for try await row in try await connection.query(
                """
                SELECT \(unescaped: Self.warmPoolColumns) FROM jobs j WHERE j.project_id = \(projectID) AND j.name = \(name) FOR UPDATE
                """, logger: logger)
            {
                found = true
                pool = try Self.warmPool(in: row, at: 0)
            }
            guard found else { return false }
            // (As descriptions show it: an available pool past its expiry, not yet ended by a pass, has ended then.)
            let updated = pool?.asOf(now).updated(keepAlivePeriod: keepAlivePeriod, now: now)
            try await connection.query(
                """
                UPDATE jobs SET spec = CASE WHEN \(sageMakerRequest == nil)
                        THEN spec || jsonb_build_object('keep_alive_period', \(keepAlivePeriod)::int)
                        ELSE spec || jsonb_build_object('sagemaker_request', \(sageMakerRequest.map { String(decoding: $0.serialized(), as: UTF8.self) })::text,
                                                        'keep_alive_period', \(keepAlivePeriod)::int) END,
                    last_modified_at = greatest(last_modified_at, \(now)),
                    warm_pool_status = \(updated?.status.rawValue), warm_pool_retained_at = \(updated?.retainedAt),
                    warm_pool_expires_at = \(updated?.expiresAt), warm_pool_released_at = \(updated?.releasedAt)
                WHERE project_id = \(projectID) AND name = \(name)
                """, logger: logger)
            // A pool ended early frees its hosts for the queue.
            if pool?.status == .available, updated?.status == .terminated {
                try await connection.query("SELECT pg_notify('trainyard_jobs', \(name))", logger: logger)
            }
            return true
        }
    }

    public func deleteJob(projectID: Int64, name: String) async throws -> JobDeletion {
        // One statement: the job goes only if it ended and no attempt of it is still being finalized; its lines and
        // metric points (kept without a foreign key, for the ingest's speed) go with it.
        let rows = try await client.query(
            """
            WITH gone AS (
                DELETE FROM jobs j WHERE j.project_id = \(projectID) AND j.name = \(name) AND j.status IN ('Completed', 'Failed', 'Stopped')
                    AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.job_id = j.id AND a.state <> 'ended')
                    AND (j.warm_pool_status IS DISTINCT FROM 'Available' OR j.warm_pool_expires_at <= \(Date()))
                RETURNING j.id),
            lines AS (DELETE FROM log_lines WHERE job_id IN (SELECT id FROM gone)),
            points AS (DELETE FROM metric_points WHERE job_id IN (SELECT id FROM gone))
            SELECT 'deleted'::text FROM gone
            UNION ALL
            SELECT CASE WHEN warm_pool_status = 'Available' AND status IN ('Completed', 'Failed', 'Stopped') THEN 'warm' ELSE status END
            -- (the job left is one the statement's delete did not take: an available pool there is unexpired)
            FROM jobs WHERE project_id = \(projectID) AND name = \(name) AND NOT EXISTS (SELECT 1 FROM gone)
            """, logger: logger)
        for try await (outcome,) in rows.decode((String,).self) {
            if outcome == "deleted" { return .deleted }
            if outcome == "warm" { return .warmPoolAvailable }
            return .notEnded(JobStatus(rawValue: outcome) ?? .inProgress)
        }
        return .notFound
    }
}
