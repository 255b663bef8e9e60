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

    public func updateSageMakerRequest(projectID: Int64, name: String, request: JSONValue, keepAlivePeriod: Int, now: Date) async throws -> Bool {
        let json = String(decoding: request.serialized(), as: UTF8.self)
        let rows = try await client.query(
            """
            UPDATE jobs SET spec = spec || jsonb_build_object('sagemaker_request', \(json)::text, 'keep_alive_period', \(keepAlivePeriod)::int),
                last_modified_at = greatest(last_modified_at, \(now))
            WHERE project_id = \(projectID) AND name = \(name) RETURNING id
            """, logger: logger)
        for try await _ in rows { return true }
        return false
    }

    public func deleteJob(projectID: Int64, name: String) async throws -> JobDeletion {
        // One statement: the job goes only if it ended and no attempt of it is still being finalized; its lines and
        // metric points (kept without a foreign key, for the ingest's speed) go with it.
        let rows = try await client.query(
            """
            WITH gone AS (
                DELETE FROM jobs j WHERE j.project_id = \(projectID) AND j.name = \(name) AND j.status IN ('Completed', 'Failed', 'Stopped')
                    AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.job_id = j.id AND a.state <> 'ended')
                RETURNING j.id),
            lines AS (DELETE FROM log_lines WHERE job_id IN (SELECT id FROM gone)),
            points AS (DELETE FROM metric_points WHERE job_id IN (SELECT id FROM gone))
            SELECT 'deleted'::text FROM gone
            UNION ALL
            SELECT status FROM jobs WHERE project_id = \(projectID) AND name = \(name) AND NOT EXISTS (SELECT 1 FROM gone)
            """, logger: logger)
        for try await (outcome,) in rows.decode((String,).self) {
            if outcome == "deleted" { return .deleted }
            return .notEnded(JobStatus(rawValue: outcome) ?? .inProgress)
        }
        return .notFound
    }
}
