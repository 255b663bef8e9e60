import Foundation
import Testing
import TrainyardCore
import TrainyardTestSupport

@testable import TrainyardStore

@Suite struct PostgresStoreJobTests {
    static func spec(_ name: String) -> JobSpec {
        var spec = JobSpec(instanceType: "ml.m5.large")
        spec.name = name
        spec.command = ["python3", "train.py"]
        return spec
    }

    static func project(_ store: PostgresStore, _ name: String = "team") async throws -> ProjectRecord {
        try await store.createProject(name: name).0
    }

    @Test func createdJobIsReadBackWithItsCreatedEvent() async throws {
        try await TestPostgres.withStore { store in
            let project = try await Self.project(store)
            let creation = try await store.createJob(projectID: project.id, name: "first", spec: Self.spec("first"), idempotencyKey: nil, requestHash: "h")
            guard case .created(let job, _) = creation else { Issue.record("expected created, got \(creation)"); return }
            #expect(job.status == .inProgress && job.secondaryStatus == .starting)
            #expect(job.spec == Self.spec("first"))
            let events = try await store.events(jobID: job.id)
            #expect(events.map(\.type) == [.created])
            #expect(events.first?.secondaryStatus == .starting)
        }
    }

    @Test func aSecondJobWithTheSameNameIsRefusedInTheSameProjectOnly() async throws {
        try await TestPostgres.withStore { store in
            let team = try await Self.project(store, "team")
            let other = try await Self.project(store, "other")
            _ = try await store.createJob(projectID: team.id, name: "same", spec: Self.spec("same"), idempotencyKey: nil, requestHash: "a")
            let again = try await store.createJob(projectID: team.id, name: "same", spec: Self.spec("same"), idempotencyKey: nil, requestHash: "b")
            #expect(again == .nameTaken("same"))
            let elsewhere = try await store.createJob(projectID: other.id, name: "same", spec: Self.spec("same"), idempotencyKey: nil, requestHash: "b")
            guard case .created = elsewhere else { Issue.record("another project may use the name"); return }
        }
    }

    @Test func anIdempotencyKeyReplaysTheSameBodyAndRefusesAnother() async throws {
        try await TestPostgres.withStore { store in
            let project = try await Self.project(store)
            let first = try await store.createJob(projectID: project.id, name: "a", spec: Self.spec("a"), idempotencyKey: "k1", requestHash: "same")
            let retry = try await store.createJob(projectID: project.id, name: "b", spec: Self.spec("b"), idempotencyKey: "k1", requestHash: "same")
            guard case .created(let job, _) = first, case .replayed(let replayed) = retry else { Issue.record("\(first) \(retry)"); return }
            #expect(replayed.id == job.id)
            let different = try await store.createJob(projectID: project.id, name: "c", spec: Self.spec("c"), idempotencyKey: "k1", requestHash: "other")
            #expect(different == .idempotencyKeyReused(existingJob: "a"))
            let page = try await store.listJobs(projectID: project.id, query: JobListQuery(limit: 100))
            #expect(page.jobs.count == 1)
        }
    }

    @Test func concurrentRequestsWithOneIdempotencyKeyCreateOneJob() async throws {
        try await TestPostgres.withStore { store in
            let project = try await Self.project(store)
            let outcomes = try await withThrowingTaskGroup(of: JobCreation.self) { group in
                for index in 0..<8 {
                    group.addTask {
                        try await store.createJob(
                            projectID: project.id, name: "n\(index)", spec: Self.spec("n"), idempotencyKey: "shared", requestHash: "same")
                    }
                }
                return try await group.reduce(into: [JobCreation]()) { $0.append($1) }
            }
            let ids = Set(outcomes.compactMap { outcome -> Int64? in
                switch outcome {
                case .created(let job, _), .replayed(let job): job.id
                default: nil
                }
            })
            #expect(ids.count == 1)
            #expect(outcomes.filter { if case .created = $0 { true } else { false } }.count == 1)
        }
    }

    @Test(arguments: [JobListQuery.SortKey.creationTime, .name, .status], [true, false])
    func keysetPagesCoverEveryJobOnceInOrder(sortBy: JobListQuery.SortKey, ascending: Bool) async throws {
        try await TestPostgres.withStore { store in
            let project = try await Self.project(store)
            let base = Date(timeIntervalSince1970: 1_800_000_000)
            for index in 0..<23 {
                // several jobs share a creation time, so the id must break ties
                let name = String(format: "job-%02d", (index * 7) % 23)
                _ = try await store.createJob(
                    projectID: project.id, name: name, spec: Self.spec(name), idempotencyKey: nil, requestHash: "\(index)",
                    note: nil, now: base.addingTimeInterval(Double(index / 3)))
            }
            _ = try await store.requestStop(projectID: project.id, name: "job-03", reason: .user, graceSeconds: 0)
            var seen: [JobRecord] = []
            var query = JobListQuery(sortBy: sortBy, ascending: ascending, limit: 5)
            repeat {
                let page = try await store.listJobs(projectID: project.id, query: query)
                seen += page.jobs
                query.after = page.lastID
            } while query.after != nil
            #expect(seen.count == 23)
            #expect(Set(seen.map(\.id)).count == 23)
            let key: (JobRecord) -> String = { job in
                switch sortBy {
                case .creationTime: String(format: "%020.6f-%08d", job.createdAt.timeIntervalSince1970, job.id)
                case .name: "\(job.name)-\(String(format: "%08d", job.id))"
                case .status: "\(job.status.rawValue)-\(String(format: "%020.6f-%08d", job.createdAt.timeIntervalSince1970, job.id))"
                }
            }
            let keys = seen.map(key)
            #expect(keys == (ascending ? keys.sorted() : keys.sorted(by: >)))
        }
    }

    /// A job costs one entry per index of `jobs`: the name order comes from the unique (project_id, name) index, and no
    /// second index on the same columns is kept beside it.
    @Test func theNameOrderHasOneIndexOnly() async throws {
        try await TestPostgres.withStore { store in
            let definitions = try await store.client.query(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'jobs'"
            ).decode((String, String).self).array()
            let byName = definitions.filter { $0.1.contains("(project_id, name") }
            #expect(byName.map(\.0) == ["jobs_project_id_name_key"])
            #expect(byName.first?.1.hasPrefix("CREATE UNIQUE INDEX") == true)
        }
    }

    @Test func listFiltersByStatusNameAndCreationTime() async throws {
        try await TestPostgres.withStore { store in
            let project = try await Self.project(store)
            let base = Date(timeIntervalSince1970: 1_800_000_000)
            for (index, name) in ["resnet-a", "resnet-b", "vit-a", "100%_done"].enumerated() {
                _ = try await store.createJob(
                    projectID: project.id, name: name, spec: Self.spec(name), idempotencyKey: nil, requestHash: name,
                    note: nil, now: base.addingTimeInterval(Double(index * 60)))
            }
            _ = try await store.requestStop(projectID: project.id, name: "resnet-b", reason: .user, graceSeconds: 0)
            let names: (JobListQuery) async throws -> [String] = { query in
                try await store.listJobs(projectID: project.id, query: query).jobs.map(\.name).sorted()
            }
            #expect(try await names(JobListQuery(nameContains: "resnet")) == ["resnet-a", "resnet-b"])
            #expect(try await names(JobListQuery(nameContains: "%_")) == ["100%_done"])
            #expect(try await names(JobListQuery(status: .stopped)) == ["resnet-b"])
            #expect(try await names(JobListQuery(createdAfter: base.addingTimeInterval(30), createdBefore: base.addingTimeInterval(150))) == ["resnet-b", "vit-a"])
        }
    }

    @Test func stoppingAJobRecordsBothTransitionsAndARefusalWritesNothing() async throws {
        try await TestPostgres.withStore { store in
            let project = try await Self.project(store)
            guard case .created(let job, _) = try await store.createJob(projectID: project.id, name: "s", spec: Self.spec("s"), idempotencyKey: nil, requestHash: "s")
            else { return }
            let stopped = try await store.requestStop(projectID: project.id, name: "s", reason: .user, graceSeconds: 0)
            #expect(stopped.status == .stopped && stopped.secondaryStatus == .stopped)
            #expect(try await store.events(jobID: job.id).compactMap(\.secondaryStatus) == [.starting, .stopping, .stopped])
            await #expect(throws: StoreError.self) {
                try await store.requestStop(projectID: project.id, name: "s", reason: .user, graceSeconds: 0)
            }
            #expect(try await store.events(jobID: job.id).count == 3)
        }
    }

    @Test func anotherProjectsJobIsNotFound() async throws {
        try await TestPostgres.withStore { store in
            let team = try await Self.project(store, "team")
            let other = try await Self.project(store, "other")
            _ = try await store.createJob(projectID: team.id, name: "mine", spec: Self.spec("mine"), idempotencyKey: nil, requestHash: "m")
            #expect(try await store.job(projectID: other.id, name: "mine") == nil)
            await #expect(throws: StoreError.jobNotFound("mine")) {
                try await store.requestStop(projectID: other.id, name: "mine", reason: .user, graceSeconds: 0)
            }
        }
    }

    static func row(_ projectID: Int64, _ name: String, key: String? = nil) throws -> NewJobRow {
        NewJobRow(
            projectID: projectID, name: name, specJSON: String(decoding: try JSONEncoder().encode(spec(name)), as: UTF8.self),
            instanceType: "ml.m5.large", instanceCount: 1, useSpot: false, priority: 0, idempotencyKey: key, requestHash: key.map { _ in "h" },
            createdAt: Date(), createdPayload: "{}")
    }

    @Test func oneStatementWritesABatchAndSkipsWhatConflictsWithinItOrWithTheTable() async throws {
        try await TestPostgres.withStore { store in
            let project = try await Self.project(store)
            _ = try await store.createJob(projectID: project.id, name: "old", spec: Self.spec("old"), idempotencyKey: nil, requestHash: nil)
            let rows = try [
                Self.row(project.id, "a"), Self.row(project.id, "old"), Self.row(project.id, "b", key: "k"), Self.row(project.id, "a"),
                Self.row(project.id, "c", key: "k"),
            ]
            let inserted = try await PostgresStore.insertJobs(rows, client: store.client, logger: store.logger)
            #expect(inserted.map { $0 != nil } == [true, false, true, false, false])
            #expect(inserted.compactMap { $0?.projectName } == ["team", "team"])
            let names = try await store.client.query("SELECT j.name FROM jobs j JOIN job_events e ON e.job_id = j.id ORDER BY j.id")
                .decode(String.self).array()
            #expect(names == ["old", "a", "b"])
        }
    }

    @Test func aJobTheDatabaseRefusesFailsAloneAndTheRestOfItsBatchIsWritten() async throws {
        try await TestPostgres.withStore { store in
            let project = try await Self.project(store)
            // No such project: a foreign key violation for that row, which fails the batch's statement.
            let rows = try [Self.row(project.id, "a"), Self.row(project.id + 999, "orphan"), Self.row(project.id, "b")]
            let results = await PostgresStore.insertBatch(rows, client: store.client, logger: store.logger)
            #expect(results.count == 3)
            #expect((try? results[0].get()) != nil && (try? results[2].get()) != nil)
            #expect(throws: (any Error).self) { try results[1].get() }
            #expect(try await store.client.query("SELECT count(*)::int FROM jobs").decode(Int.self).array() == [2])
        }
    }

    @Test func manyConcurrentSubmissionsEachGetTheirJobOrTheirConflict() async throws {
        try await TestPostgres.withStore { store in
            let project = try await Self.project(store)
            // 60 at once, however they are batched: 40 distinct names, 20 more taking names already taken in the same
            // wave, and all idempotent retries of one key.
            let outcomes = try await withThrowingTaskGroup(of: (Int, JobCreation).self) { group in
                for index in 0..<60 {
                    group.addTask {
                        let name = "job-\(index % 40)"
                        return (index, try await store.createJob(projectID: project.id, name: name, spec: Self.spec(name), idempotencyKey: nil, requestHash: nil))
                    }
                }
                return try await group.reduce(into: [(Int, JobCreation)]()) { $0.append($1) }
            }
            let created = outcomes.compactMap { if case .created(let job, let hooks) = $0.1 { (job, hooks) } else { nil } }
            #expect(created.count == 40)
            #expect(Set(created.map(\.0.name)).count == 40 && Set(created.map(\.0.id)).count == 40)
            #expect(created.allSatisfy { $0.1 == 0 })  // no webhook subscriptions: nothing queued
            #expect(outcomes.filter { if case .nameTaken = $0.1 { true } else { false } }.count == 20)
            for (job, _) in created {
                let read = try #require(try await store.job(projectID: project.id, name: job.name))
                #expect(read.id == job.id && read.spec == job.spec && read.status == .inProgress)
                #expect(try await store.events(jobID: job.id).map(\.type) == [.created])
            }
        }
    }

    @Test func concurrentRetriesWithTheSameNameAndKeyAreReplaysNotConflicts() async throws {
        try await TestPostgres.withStore { store in
            let project = try await Self.project(store)
            // A SageMaker client retries with the same job name and the same key: whichever index Postgres checks
            // first, every retry is the first request's job.
            let outcomes = try await withThrowingTaskGroup(of: JobCreation.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        try await store.createJob(projectID: project.id, name: "retried", spec: Self.spec("retried"), idempotencyKey: "k", requestHash: "same")
                    }
                }
                return try await group.reduce(into: [JobCreation]()) { $0.append($1) }
            }
            #expect(outcomes.filter { if case .created = $0 { true } else { false } }.count == 1)
            #expect(outcomes.filter { if case .replayed = $0 { true } else { false } }.count == 7)
            // The same name with another key is a conflict.
            let other = try await store.createJob(projectID: project.id, name: "retried", spec: Self.spec("retried"), idempotencyKey: "other", requestHash: "x")
            #expect(other == .nameTaken("retried"))
        }
    }

    @Test func aRefusedJobInALargeBatchCostsAFewStatementsAndTheOthersAreWritten() async throws {
        try await TestPostgres.withStore { store in
            let project = try await Self.project(store)
            var rows = try (0..<9).map { try Self.row(project.id, "job-\($0)") }
            rows[6].projectID = project.id + 999  // a foreign key violation
            let results = await PostgresStore.insertBatch(rows, client: store.client, logger: store.logger)
            #expect(results.indices.filter { (try? results[$0].get()) == nil } == [6])
            #expect(try await store.client.query("SELECT count(*)::int FROM jobs").decode(Int.self).array() == [8])
        }
    }

    @Test func aJobWaitingForItsPreviousAttemptIsReadPastNotCountedAgainstThePass() async throws {
        try await TestPostgres.withStore { store in
            let project = try await Self.project(store)
            for name in ["first", "second", "third"] {
                _ = try await store.createJob(projectID: project.id, name: name, spec: Self.spec(name), idempotencyKey: nil, requestHash: nil)
            }
            // The first two are queued again while their previous attempts' outputs are still being merged.
            try await store.client.query(
                """
                INSERT INTO attempts (job_id, number, state, started_at, provisioner)
                SELECT id, 1, 'ending', now(), 'local' FROM jobs WHERE name IN ('first', 'second')
                """)
            let plans = try await store.schedule(capacity: .everyType(Capacity(onDemand: 8, spot: 0)), provisioner: "local", launchLeaseSeconds: 30, now: Date(), limit: 2, readOverrides: { _ in })
            #expect(plans.map(\.jobName) == ["third"])
        }
    }
}
