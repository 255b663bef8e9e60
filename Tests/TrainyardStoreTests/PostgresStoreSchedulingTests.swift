import Foundation
import InMemoryLogging
import Logging
import PostgresNIO
import Testing
import TrainyardCore
import TrainyardTestSupport

@testable import TrainyardStore

/// A scheduling pass across projects: generated ids never collide, and one job the database refuses fails alone.
@Suite struct PostgresStoreSchedulingTests {
    static let capacity = PoolCapacity.everyType(Capacity(onDemand: 8, spot: 0))

    static func submit(_ store: PostgresStore, project: ProjectRecord, _ name: String) async throws -> JobRecord {
        guard case .created(let job, _) = try await store.createJob(
            projectID: project.id, name: name, spec: PostgresStoreJobTests.spec(name), idempotencyKey: nil, requestHash: nil)
        else { throw JobNotCreated() }
        return job
    }

    /// Has the database refuse `event` (`INSERT ON attempts`) for the rows matching `condition`, as a constraint would
    /// (23514, "refused for the test").
    static func refuse(_ store: PostgresStore, _ event: String, when condition: String) async throws {
        try await store.client.query(
            """
            CREATE FUNCTION refuse_for_the_test() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF \(unescaped: condition) THEN RAISE EXCEPTION 'refused for the test' USING ERRCODE = '23514'; END IF;
                RETURN NEW;
            END $$
            """)
        try await store.client.query("CREATE TRIGGER refuse_for_the_test BEFORE \(unescaped: event) FOR EACH ROW EXECUTE FUNCTION refuse_for_the_test()")
    }

    /// A capacity cut waits for the scheduling pass in progress. Without that, a pass that had read the old figures
    /// went on to read the queue, found a spot job submitted after the cut had answered, and launched it on spot
    /// capacity that was no longer there (seen in SageMakerContractTests' check 18 under load).
    @Test func aCapacityCutWaitsForTheSchedulingPassInProgress() async throws {
        try await TestPostgres.withStore { store in
            let logger = Logger(label: "test")
            try await store.client.withConnection { pass in
                // Given a pass in progress (holding the scheduler's lock in its transaction).
                _ = try await pass.query("BEGIN", logger: logger).collect()
                _ = try await pass.query("SELECT pg_advisory_xact_lock(\(PostgresStore.schedulerLockKey))", logger: logger).collect()
                // When an admin cuts ml.m5.large's spot capacity to 0.
                let cut = Task { try await store.setCapacity(instanceType: "ml.m5.large", onDemand: nil, spot: 0, now: Date()) }
                // Then the cut waits for the pass, and has changed nothing the pass could read meanwhile.
                let deadline = ContinuousClock.now + .seconds(30)
                func waiting() async throws -> Int {
                    var count = 0
                    for try await waiting in try await store.client.query(
                        "SELECT count(*)::int FROM pg_locks WHERE locktype = 'advisory' AND NOT granted", logger: logger
                    ).decode(Int.self) { count = waiting }
                    return count
                }
                while try await waiting() == 0 {
                    guard ContinuousClock.now < deadline else {
                        cut.cancel()
                        throw ContractFailure("the capacity cut never waited for the scheduling pass's lock")
                    }
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(try await store.capacityOverrides()["ml.m5.large"] == nil)
                // And it is made once the pass ends.
                _ = try await pass.query("COMMIT", logger: logger).collect()
                _ = try await cut.value
                #expect(try await store.capacityOverrides()["ml.m5.large"]?.spot == 0)
            }
        }
    }

    @Test func twoProjectsJobsOfOneNameGetHostsOfTheirOwn() async throws {
        try await TestPostgres.withStore { store in
            // Given project a's `mnist` already ran (its host rows stay).
            let a = try await PostgresStoreJobTests.project(store, "a")
            let b = try await PostgresStoreJobTests.project(store, "b")
            let first = try await Self.submit(store, project: a, "mnist")
            let firstPlans = try await store.schedule(capacity: Self.capacity, provisioner: "local", launchLeaseSeconds: 30)
            // When project b submits `mnist` too.
            let second = try await Self.submit(store, project: b, "mnist")
            let secondPlans = try await store.schedule(capacity: Self.capacity, provisioner: "local", launchLeaseSeconds: 30)
            // Then it gets hosts of its own, with ids unlike a's.
            #expect(firstPlans.map(\.jobID) == [first.id])
            #expect(secondPlans.map(\.jobID) == [second.id])
            let ids = (firstPlans + secondPlans).flatMap(\.hosts).map(\.id)
            #expect(Set(ids).count == 2)
            #expect(secondPlans.first?.hosts.first?.id == HostID.make(jobID: second.id, jobName: "mnist", attempt: 1, ordinal: 1))
            #expect(secondPlans.first?.hosts.first?.name == "algo-1")
        }
    }

    @Test func aPassWithOneFailingJobStillAllocatesTheOthersAndTellsTheJob() async throws {
        try await TestPostgres.withStore { store in
            // Given three queued jobs, the middle one of which the database refuses to give an attempt.
            let project = try await PostgresStoreJobTests.project(store)
            let first = try await Self.submit(store, project: project, "first")
            let broken = try await Self.submit(store, project: project, "broken")
            let third = try await Self.submit(store, project: project, "third")
            try await Self.refuse(store, "INSERT ON attempts", when: "NEW.job_id = \(broken.id)")
            let logs = InMemoryLogHandler()
            let logged = PostgresStore(client: store.client, logger: Logger(label: "scheduling-test") { _ in logs })

            // When two passes run.
            let plans = try await logged.schedule(capacity: Self.capacity, provisioner: "local", launchLeaseSeconds: 30)
            let again = try await logged.schedule(capacity: Self.capacity, provisioner: "local", launchLeaseSeconds: 30)

            // Then the others got their hosts; the broken job waits, queued, with one event saying so.
            #expect(plans.map(\.jobID) == [first.id, third.id])
            #expect(again.isEmpty)
            let job = try #require(try await store.job(id: broken.id))
            #expect(job.status == .inProgress && job.secondaryStatus == .starting)
            let events = try await store.events(jobID: broken.id)
            #expect(events.map(\.type) == [.created, .schedulingFailed])
            #expect(events.last?.message.contains("refused for the test") == false)
            #expect(try await store.client.query("SELECT count(*)::int FROM attempts WHERE job_id = \(broken.id)").decode(Int.self).array() == [0])
            // And the server's log names the job, the attempt and the database's own message.
            let failures = logs.entries.filter { $0.level == .error && "\($0.message)".contains("scheduling a job failed") }
            #expect(failures.count == 2)
            let entry = try #require(failures.first)
            #expect(entry.metadata["job"] == "broken")
            #expect(entry.metadata["attempt"] == "1")
            #expect("\(entry.metadata["error"] ?? "")".contains("23514: refused for the test"))
        }
    }

    @Test func aJobTheDatabaseRefusesToMakePendingFailsAloneAndTheRestOfTheQueueIsToldItWaits() async throws {
        try await TestPostgres.withStore { store in
            // Given one host, a job on it, and three behind it, the middle one of which the database refuses to make Pending.
            let project = try await PostgresStoreJobTests.project(store)
            let running = try await Self.submit(store, project: project, "running")
            let waiting = try await Self.submit(store, project: project, "waiting")
            let broken = try await Self.submit(store, project: project, "broken")
            let last = try await Self.submit(store, project: project, "last")
            try await Self.refuse(store, "UPDATE ON jobs", when: "NEW.id = \(broken.id) AND NEW.secondary_status = 'Pending'")
            let logs = InMemoryLogHandler()
            let logged = PostgresStore(client: store.client, logger: Logger(label: "scheduling-test") { _ in logs })

            // When a pass runs.
            let plans = try await logged.schedule(capacity: .everyType(Capacity(onDemand: 1, spot: 0)), provisioner: "local", launchLeaseSeconds: 30)

            // Then the first job got the host, the others wait with the scheduler's message, and the broken job, still
            // queued, has one event saying scheduling failed.
            #expect(plans.map(\.jobID) == [running.id])
            for job in [waiting, last] {
                #expect(try await store.job(id: job.id)?.secondaryStatus == .pending)
                #expect(try await store.events(jobID: job.id).last?.message == "Waiting for 1 on-demand ml.m5.large host(s): 0 of 1 free")
            }
            #expect(try await store.job(id: broken.id)?.secondaryStatus == .starting)
            #expect(try await store.events(jobID: broken.id).map(\.type) == [.created, .schedulingFailed])
            // And the server's log says the batch failed, then names the job and the database's message.
            #expect(logs.entries.contains { $0.level == .warning && "\($0.message)".contains("failed as one batch") && $0.metadata["jobs"] == "3" })
            let failure = try #require(logs.entries.first { $0.level == .error && "\($0.message)".contains("scheduling a job failed") })
            #expect(failure.metadata["job"] == "broken")
            #expect("\(failure.metadata["error"] ?? "")".contains("23514: refused for the test"))
        }
    }
}

/// The queue across pools: a full pool's backlog never hides another pool's jobs.
@Suite struct PostgresStoreQueueByPoolTests {
    static func submit(_ store: PostgresStore, _ project: ProjectRecord, _ name: String, type: String, priority: Int = 0) async throws -> JobRecord {
        var spec = PostgresStoreJobTests.spec(name)
        spec.instanceType = type
        spec.priority = priority
        guard case .created(let job, _) = try await store.createJob(projectID: project.id, name: name, spec: spec, idempotencyKey: nil, requestHash: nil)
        else { throw JobNotCreated() }
        return job
    }

    @Test func aJobOfAFreePoolStartsBehindAHundredWaitingForAFullOne() async throws {
        try await TestPostgres.withStore { store in
            // Given one ml.m5.large host and 101 jobs for it (one runs, a hundred wait), then a job for a free ml.c5.xlarge.
            let project = try await PostgresStoreJobTests.project(store)
            for index in 1...101 { _ = try await Self.submit(store, project, "large-\(index)", type: "ml.m5.large") }
            let other = try await Self.submit(store, project, "compute-1", type: "ml.c5.xlarge")
            let capacity = PoolCapacity.perType { $0 == "ml.m5.large" ? Capacity(onDemand: 1, spot: 0) : Capacity(onDemand: 2, spot: 0) }
            // When the scheduler passes (its batch: 100 jobs).
            let plans = try await store.schedule(capacity: capacity, provisioner: "local", launchLeaseSeconds: 30, now: Date(), limit: 100, readOverrides: { _ in })
            // Then the free pool's job starts beside the full pool's first, and the full pool's next one waits, saying for what.
            #expect(Set(plans.map(\.jobName)) == ["large-1", "compute-1"])
            #expect(try await store.job(id: other.id)?.secondaryStatus == .launchingMLInstances)
            let waiting = try #require(try await store.job(projectID: project.id, name: "large-2"))
            #expect(waiting.secondaryStatus == .pending)
            #expect(try await store.events(jobID: waiting.id).last?.message == "Waiting for 1 on-demand ml.m5.large host(s): 0 of 1 free")
        }
    }

    @Test func priorityOrdersTheQueueAcrossPools() async throws {
        try await TestPostgres.withStore { store in
            let project = try await PostgresStoreJobTests.project(store)
            _ = try await Self.submit(store, project, "low", type: "ml.m5.large", priority: 0)
            _ = try await Self.submit(store, project, "high", type: "ml.c5.xlarge", priority: 50)
            _ = try await Self.submit(store, project, "middle", type: "ml.m5.large", priority: 10)
            let capacity = PoolCapacity.everyType(Capacity(onDemand: 4, spot: 0))
            let plans = try await store.schedule(capacity: capacity, provisioner: "local", launchLeaseSeconds: 30, now: Date(), limit: 2, readOverrides: { _ in })
            // The pass takes each pool's first two in priority order, and allocates in the queue's order across pools.
            #expect(plans.map(\.jobName) == ["high", "middle", "low"])
        }
    }
}
