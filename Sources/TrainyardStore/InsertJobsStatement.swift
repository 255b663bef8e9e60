import Foundation
import PostgresNIO
import TrainyardCore

/// One job to insert: the columns of its row and what its `created` event and webhook deliveries need.
struct NewJobRow: Sendable {
    var projectID: Int64
    var name: String
    var specJSON: String
    var instanceType: String
    var instanceCount: Int
    var useSpot: Bool
    var priority: Int
    var idempotencyKey: String?
    /// The request body's hash, kept for a later request with the same key (nil without a key).
    var requestHash: String?
    var createdAt: Date
    /// The job's first deadline (Core's ``JobLimits``: `max_wait` for a spot job), or nil.
    var deadlineAt: Date? = nil
    /// The `job.created` webhook payload.
    var createdPayload: String
    /// An event written right after `created`, without a status (what the user should know from the start, such as
    /// an image that will not be used); nil for none.
    var note: JobNote? = nil
}

/// A job the insert wrote.
struct InsertedJob: Sendable, Equatable {
    var id: Int64
    var projectName: String
    /// `job.created` deliveries queued with it (0 when the project has no subscription for it).
    var webhookDeliveries: Int
}

/// Inserts jobs, their `created` events and their `job.created` webhook deliveries in one statement, prepared once
/// per connection. Each input row is an element of one array per column; a result row per job written names its
/// input by ordinal (1-based), matched on project and name, so the inputs must not repeat a name. Jobs whose name or
/// idempotency key is taken are skipped.
struct InsertJobsStatement: PostgresPreparedStatement {
    typealias Row = (Int, Int64, String, Int)

    static let sql: String = {
        let state = JobState.submitted()
        return """
            WITH input AS (
                SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bool[], $7::bigint[],
                                     $8::text[], $9::text[], $10::timestamptz[], $11::text[], $13::text[], $14::text[],
                                     $15::float8[])
                    WITH ORDINALITY AS i(project_id, name, spec, instance_type, instance_count, use_spot, priority,
                                         idempotency_key, request_hash, created_at, payload, note_type, note_message, deadline, ordinal)
            ), job AS (
                INSERT INTO jobs (project_id, name, spec, status, secondary_status, instance_type, instance_count, use_spot, priority,
                                  idempotency_key, request_hash, created_at, last_modified_at, deadline_at)
                SELECT project_id, name, spec::jsonb, '\(state.status.rawValue)', '\(state.secondaryStatus.rawValue)', instance_type,
                       instance_count, use_spot, priority, nullif(idempotency_key, ''), nullif(request_hash, ''), created_at, created_at,
                       to_timestamp(nullif(deadline, 'NaN'))
                FROM input ORDER BY ordinal
                ON CONFLICT DO NOTHING
                RETURNING id, project_id, name, created_at
            ), event AS (
                -- `created` first, then the job's note (if any), so that the ids keep that order.
                INSERT INTO job_events (job_id, time, type, status, secondary_status, message)
                SELECT e.job_id, e.time, e.type, e.status, e.secondary_status, e.message FROM (
                    SELECT id AS job_id, created_at AS time, '\(JobEventType.created.rawValue)'::text AS type, '\(state.status.rawValue)'::text AS status,
                           '\(state.secondaryStatus.rawValue)'::text AS secondary_status, $12::text AS message, 0 AS position
                    FROM job
                    UNION ALL
                    SELECT job.id, job.created_at, input.note_type, NULL, NULL, input.note_message, 1
                    FROM job JOIN input ON input.project_id = job.project_id AND input.name = job.name
                    WHERE input.note_type <> ''
                ) e ORDER BY e.job_id, e.position
            ), hooks AS (
                INSERT INTO webhook_deliveries (id, subscription_id, job_id, job_name, event_type, payload, created_at, next_attempt_at)
                SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), s.id, job.id, job.name, 'job.created', input.payload,
                       job.created_at, job.created_at
                FROM job
                JOIN input ON input.project_id = job.project_id AND input.name = job.name
                JOIN webhook_subscriptions s ON s.project_id = job.project_id AND s.disabled_at IS NULL AND s.events && ARRAY['job.created', '*']
                RETURNING job_id
            )
            SELECT input.ordinal, job.id, p.name, (SELECT count(*) FROM hooks WHERE hooks.job_id = job.id)
            FROM job
            JOIN input ON input.project_id = job.project_id AND input.name = job.name
            JOIN projects p ON p.id = job.project_id
            """
    }()

    let rows: [NewJobRow]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 15)
        bindings.append(rows.map(\.projectID))
        bindings.append(rows.map(\.name))
        bindings.append(rows.map(\.specJSON))
        bindings.append(rows.map(\.instanceType))
        bindings.append(rows.map { Int64($0.instanceCount) })
        bindings.append(rows.map(\.useSpot))
        bindings.append(rows.map { Int64($0.priority) })
        // Arrays carry no NULLs here: an absent key or hash is '' (never a valid key, which has 1 to 255 characters).
        bindings.append(rows.map { $0.idempotencyKey ?? "" })
        bindings.append(rows.map { $0.requestHash ?? "" })
        bindings.append(rows.map(\.createdAt))
        bindings.append(rows.map(\.createdPayload))
        bindings.append(JobState.submittedMessage)
        bindings.append(rows.map { $0.note?.type.rawValue ?? "" })
        bindings.append(rows.map { $0.note?.message ?? "" })
        // Seconds since 1970, NaN for none.
        bindings.append(rows.map { $0.deadlineAt?.timeIntervalSince1970 ?? .nan })
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        let (ordinal, id, projectName, hooks) = try row.decode((Int64, Int64, String, Int64).self)
        return (Int(ordinal), id, projectName, Int(hooks))
    }

}
