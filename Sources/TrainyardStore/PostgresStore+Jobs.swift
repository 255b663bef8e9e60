import Foundation
import Logging
import PostgresNIO
import TrainyardCore

extension PostgresStore: JobRepository {
    static let jobColumns = """
        j.id, j.project_id, p.name, j.name, j.spec::text, j.status, j.secondary_status, j.failure_reason,
        j.created_at, j.last_modified_at, j.training_start_time, j.training_end_time, j.model_artifacts, j.interruptions,
        j.model_size_bytes, j.model_sha256, j.output_artifacts, j.output_size_bytes, j.output_sha256, \(warmPoolColumns)
        """
    /// A job's warm pool (``warmPool(in:at:)`` reads them).
    static let warmPoolColumns = "j.warm_pool_status, j.warm_pool_retained_at, j.warm_pool_expires_at, j.warm_pool_released_at, j.warm_pool_reused_by"
    /// How many columns `jobColumns` names: a query may select more after them.
    static let jobColumnCount = 24

    /// In one transaction. Concurrent submissions share one statement and one commit (``jobInserts``): the commit, not the statement, is
    /// what each submission waits for, so under load one WAL flush makes many jobs durable.
    public func createJob(
        projectID: Int64, name: String, spec: JobSpec, idempotencyKey: String?, requestHash: String?, note: JobNote?, now: Date
    ) async throws -> JobCreation {
        if let idempotencyKey, let requestHash, let replay = try await replay(projectID: projectID, key: idempotencyKey, requestHash: requestHash) {
            return replay
        }
        let row = NewJobRow(
            // Unsorted: jsonb keeps its own key order whatever the text's, so sorting here was work thrown away.
            projectID: projectID, name: name, specJSON: String(decoding: try JSONEncoder().encode(spec), as: UTF8.self),
            instanceType: spec.instanceType, instanceCount: spec.instanceCount, useSpot: spec.useSpotInstances, priority: spec.priority,
            idempotencyKey: idempotencyKey, requestHash: requestHash, createdAt: now,
            deadlineAt: JobLimits(spec: spec, createdAt: now).deadline(trainedSeconds: 0, trainingSince: nil, waits: .submitted(at: now)),
            createdPayload: WebhookPayload(
                type: .jobCreated, jobName: name, status: JobState.submitted().status, secondaryStatus: JobState.submitted().secondaryStatus,
                message: JobState.submittedMessage, time: now
            ).json(),
            note: note)
        return try await insert(row, spec: spec)
    }

    /// `row` through the batched insert; a job the insert left out is resolved by ``resolveConflict(_:spec:)``.
    private func insert(_ row: NewJobRow, spec: JobSpec) async throws -> JobCreation {
        guard let inserted = try await jobInserts.submit(row) else { return try await resolveConflict(row, spec: spec) }
        return .created(job(for: row, spec: spec, inserted: inserted), webhookDeliveries: inserted.webhookDeliveries)
    }

    private struct NameKey: Hashable {
        var projectID: Int64
        var value: String
    }

    private func job(for row: NewJobRow, spec: JobSpec, inserted: InsertedJob) -> JobRecord {
        let state = JobState.submitted()
        return JobRecord(
            id: inserted.id, projectID: row.projectID, projectName: inserted.projectName, name: row.name, spec: spec, status: state.status,
            secondaryStatus: state.secondaryStatus, failureReason: nil, createdAt: row.createdAt, lastModifiedAt: row.createdAt,
            trainingStartTime: nil, trainingEndTime: nil, modelArtifacts: nil)
    }

    /// What a job the insert left out met: its name or its key was taken, by a job that has committed by now (the
    /// statement waits for a conflicting insert to end; an earlier job of its own batch committed with it). A retry
    /// with the same key is a replay of that job, whatever else it shares with it (a SageMaker client retries with the
    /// same name too); otherwise the name is taken. Should neither hold any more, the job is inserted again.
    private func resolveConflict(_ row: NewJobRow, spec: JobSpec) async throws -> JobCreation {
        if let idempotencyKey = row.idempotencyKey, let requestHash = row.requestHash,
            let replay = try await replay(projectID: row.projectID, key: idempotencyKey, requestHash: requestHash)
        {
            return replay
        }
        if try await job(projectID: row.projectID, name: row.name) != nil { return .nameTaken(row.name) }
        return try await insert(row, spec: spec)
    }

    /// A batch of ``createJob`` inserts as one statement. A batch the database refuses (one job's value it cannot
    /// store, say) is split in halves until the refused job is alone, so that its error is its own and a bad job costs
    /// its batch a few statements, not one per job. An error of the connection (the statement may or may not have
    /// committed) is every job's: retrying could write a job twice.
    static func insertBatch(_ rows: [NewJobRow], client: PostgresClient, logger: Logger) async -> [Result<InsertedJob?, any Error>] {
        do {
            return try await insertJobs(rows, client: client, logger: logger).map { .success($0) }
        } catch let error as PSQLError where rows.count > 1 && error.serverInfo?[.sqlState] != nil {
            let middle = rows.count / 2
            return await insertBatch(Array(rows[..<middle]), client: client, logger: logger)
                + insertBatch(Array(rows[middle...]), client: client, logger: logger)
        } catch {
            return rows.map { _ in .failure(error) }
        }
    }

    /// Inserts the jobs, their `created` events and their `job.created` webhook deliveries in one statement (so one
    /// round trip and one transaction: all of it commits or none). A job whose name or idempotency key is taken, in the
    /// table or by an earlier job of `rows`, is left out: nil in its place.
    ///
    /// No NOTIFY here: a notifying transaction holds Postgres's global notification lock through its commit (WAL
    /// flush included), which serialised concurrent submissions one fsync at a time; the replica that took the request
    /// wakes its own scheduler instead (`APIImplementation.createJob`).
    static func insertJobs(_ rows: [NewJobRow], client: PostgresClient, logger: Logger) async throws -> [InsertedJob?] {
        // A second job with the name or key of an earlier one is left out here: the statement then has one input per
        // name, which is how it tells its inputs apart in the result.
        var names: Set<NameKey> = []
        var keys: Set<NameKey> = []
        var included: [Int] = []
        for (index, row) in rows.enumerated() {
            guard names.insert(NameKey(projectID: row.projectID, value: row.name)).inserted else { continue }
            if let key = row.idempotencyKey, !keys.insert(NameKey(projectID: row.projectID, value: key)).inserted { continue }
            included.append(index)
        }
        var inserted = [InsertedJob?](repeating: nil, count: rows.count)
        for try await (ordinal, id, projectName, hooks) in try await client.execute(InsertJobsStatement(rows: included.map { rows[$0] }), logger: logger) {
            inserted[included[ordinal - 1]] = InsertedJob(id: id, projectName: projectName, webhookDeliveries: hooks)
        }
        return inserted
    }

    private func replay(projectID: Int64, key: String, requestHash: String) async throws -> JobCreation? {
        let rows = try await client.query(
            "SELECT \(unescaped: Self.jobColumns), j.request_hash FROM jobs j JOIN projects p ON p.id = j.project_id WHERE j.project_id = \(projectID) AND j.idempotency_key = \(key)",
            logger: logger)
        for try await row in rows {
            let job = try Self.decodeJob(row)
            let storedHash = try row.makeRandomAccess()[Self.jobColumnCount].decode(String?.self, context: .default)
            return storedHash == requestHash ? .replayed(job) : .idempotencyKeyReused(existingJob: job.name)
        }
        return nil
    }

    public func job(projectID: Int64, name: String) async throws -> JobRecord? {
        try await firstJob(
            "SELECT \(unescaped: Self.jobColumns) FROM jobs j JOIN projects p ON p.id = j.project_id WHERE j.project_id = \(projectID) AND j.name = \(name)")
    }

    public func job(id: Int64) async throws -> JobRecord? {
        try await firstJob("SELECT \(unescaped: Self.jobColumns) FROM jobs j JOIN projects p ON p.id = j.project_id WHERE j.id = \(id)")
    }

    private func firstJob(_ query: PostgresQuery) async throws -> JobRecord? {
        for try await row in try await client.query(query, logger: logger) {
            return try Self.decodeJob(row)
        }
        return nil
    }

    public func listJobs(projectID: Int64, query: JobListQuery) async throws -> JobPage {
        if let after = query.after {
            let rows = try await client.query("SELECT 1 FROM jobs WHERE id = \(after) AND project_id = \(projectID)", logger: logger)
            var found = false
            for try await _ in rows { found = true }
            guard found else { throw StoreError.unknownCursor }
        }
        var sql = "SELECT \(Self.jobColumns) FROM jobs j JOIN projects p ON p.id = j.project_id WHERE j.project_id = $1"
        var binds = PostgresBindings()
        try binds.append(projectID)
        func bind(_ value: some PostgresEncodable & Sendable) throws -> String {
            try binds.append(value)
            return "$\(binds.count)"
        }
        if let status = query.status { sql += " AND j.status = \(try bind(status.rawValue))" }
        if let fragment = query.nameContains, !fragment.isEmpty {
            let escaped = fragment.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                .replacingOccurrences(of: "_", with: "\\_")
            sql += " AND j.name ILIKE \(try bind("%" + escaped + "%"))"
        }
        if let after = query.createdAfter { sql += " AND j.created_at > \(try bind(after))" }
        if let before = query.createdBefore { sql += " AND j.created_at < \(try bind(before))" }
        if let after = query.modifiedAfter { sql += " AND j.last_modified_at > \(try bind(after))" }
        if let before = query.modifiedBefore { sql += " AND j.last_modified_at < \(try bind(before))" }
        if let warm = query.warmPoolStatus {
            // As descriptions show it: an available pool past its expiry, not yet ended by a scheduling pass, has ended.
            let now = try bind(Date())
            switch warm {
            case .available: sql += " AND j.warm_pool_status = 'Available' AND j.warm_pool_expires_at > \(now)"
            case .terminated:
                sql += " AND (j.warm_pool_status = 'Terminated' OR (j.warm_pool_status = 'Available' AND j.warm_pool_expires_at <= \(now)))"
            case .inUse, .reused: sql += " AND j.warm_pool_status = \(try bind(warm.rawValue))"
            }
        }
        let keys: [String] =
            switch query.sortBy {
            case .creationTime: ["created_at", "id"]
            // A name is unique in its project: its own tie-break, in the unique (project_id, name) index's order.
            case .name: ["name"]
            case .status: ["status", "created_at", "id"]
            }
        let direction = query.ascending ? "ASC" : "DESC"
        if let after = query.after {
            let tuple = keys.map { "j.\($0)" }.joined(separator: ", ")
            let cursor = keys.joined(separator: ", ")
            sql += " AND (\(tuple)) \(query.ascending ? ">" : "<") (SELECT \(cursor) FROM jobs WHERE id = \(try bind(after)) AND project_id = $1)"
        }
        sql += " ORDER BY " + keys.map { "j.\($0) \(direction)" }.joined(separator: ", ")
        sql += " LIMIT \(try bind(Int64(query.limit + 1)))"

        var jobs: [JobRecord] = []
        for try await row in try await client.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger) {
            jobs.append(try Self.decodeJob(row))
        }
        let more = jobs.count > query.limit
        if more { jobs.removeLast() }
        return JobPage(jobs: jobs, lastID: more ? jobs.last?.id : nil)
    }

    public func events(jobID: Int64) async throws -> [JobEventRecord] {
        let rows = try await client.query(
            "SELECT id, time, type, status, secondary_status, message FROM job_events WHERE job_id = \(jobID) ORDER BY id", logger: logger)
        var events: [JobEventRecord] = []
        for try await (id, time, type, status, secondary, message) in rows.decode((Int64, Date, String, String?, String?, String).self) {
            guard let type = JobEventType(rawValue: type) else { throw StoreError.corrupt("event type \(type) of job \(jobID)") }
            events.append(
                JobEventRecord(
                    id: id, time: time, type: type, status: status.flatMap(JobStatus.init(rawValue:)),
                    secondaryStatus: secondary.flatMap(SecondaryStatus.init(rawValue:)), message: message))
        }
        return events
    }

    func appendEvent(
        on connection: PostgresConnection, jobID: Int64, time: Date, type: JobEventType, status: JobStatus?, secondaryStatus: SecondaryStatus?,
        message: String
    ) async throws {
        try await connection.query(
            """
            INSERT INTO job_events (job_id, time, type, status, secondary_status, message)
            VALUES (\(jobID), \(time), \(type.rawValue), \(status?.rawValue), \(secondaryStatus?.rawValue), \(message))
            """, logger: logger)
    }

    /// A job from `jobColumns`; with `givenSpec`, the spec column is not parsed (the scheduler's queue reads only the
    /// spec's shape, from its own columns).
    static func decodeJob(_ row: PostgresRow, spec givenSpec: JobSpec? = nil) throws -> JobRecord {
        let (id, projectID, projectName, name, specText, status, secondary, failure, created, modified, started, ended, model, interruptions) =
            try row.decode((Int64, Int64, String, String, String, String, String, String?, Date, Date, Date?, Date?, String?, Int).self)
        guard let spec = givenSpec ?? (try? JSONDecoder().decode(JobSpec.self, from: Data(specText.utf8))),
            let status = JobStatus(rawValue: status), let secondary = SecondaryStatus(rawValue: secondary)
        else { throw StoreError.corruptSpec(job: name) }
        return JobRecord(
            id: id, projectID: projectID, projectName: projectName, name: name, spec: spec, status: status, secondaryStatus: secondary,
            failureReason: failure, createdAt: created, lastModifiedAt: modified, trainingStartTime: started, trainingEndTime: ended,
            modelArtifacts: model, interruptions: interruptions,
            model: try artifact(model, sizeAt: 14, in: row),
            output: try artifact(try row.makeRandomAccess()[16].decode(String?.self, context: .default), sizeAt: 17, in: row),
            warmPool: try warmPool(in: row, at: 19))
    }

    /// The warm pool of the columns `warm_pool_status` … `warm_pool_reused_by` from `index` on; nil when the job has none.
    static func warmPool(in row: PostgresRow, at index: Int) throws -> WarmPool? {
        let columns = row.makeRandomAccess()
        guard let stored = try columns[index].decode(String?.self, context: .default) else { return nil }
        guard let status = WarmPoolStatus(rawValue: stored) else { throw StoreError.corrupt("warm pool status \(stored)") }
        return WarmPool(
            status: status, retainedAt: try columns[index + 1].decode(Date?.self, context: .default),
            expiresAt: try columns[index + 2].decode(Date?.self, context: .default),
            releasedAt: try columns[index + 3].decode(Date?.self, context: .default),
            reusedByJob: try columns[index + 4].decode(String?.self, context: .default))
    }

    /// The artifact whose URI is `uri`, with the size and digest at `sizeAt` and the next column, when both are there.
    static func artifact(_ uri: String?, sizeAt index: Int, in row: PostgresRow) throws -> UploadedArtifact? {
        let columns = row.makeRandomAccess()
        guard let uri, let size = try columns[index].decode(Int64?.self, context: .default),
            let sha256 = try columns[index + 1].decode(String?.self, context: .default)
        else { return nil }
        return UploadedArtifact(uri: uri, sizeBytes: size, sha256: sha256)
    }
}

extension PostgresStore {
    public func noteJob(jobID: Int64, type: JobEventType, message: String, now: Date) async throws {
        try await client.withConnection { connection in
            try await appendEvent(on: connection, jobID: jobID, time: now, type: type, status: nil, secondaryStatus: nil, message: message)
        }
    }
}

extension PostgresStore {
    public func queuedJobCount(projectID: Int64, upTo limit: Int) async throws -> Int {
        let rows = try await client.query(
            """
            SELECT count(*) FROM (
                SELECT 1 FROM jobs WHERE project_id = \(projectID) AND status = 'InProgress' AND secondary_status IN ('Starting', 'Pending')
                LIMIT \(Int64(limit))) queued
            """, logger: logger)
        for try await count in rows.decode(Int64.self) { return Int(count) }
        return 0
    }
}
