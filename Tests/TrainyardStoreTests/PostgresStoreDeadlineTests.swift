import Foundation
import PostgresNIO
import Testing
import TrainyardCore
import TrainyardTestSupport

@testable import TrainyardStore

/// `max_run` and `max_wait` on a real database with a test clock: the stored deadline follows the job's life, and the
/// supervisor's pass stops a job once Core says a limit passed, never before.
@Suite struct PostgresStoreDeadlineTests {
    static let t0 = Date(timeIntervalSince1970: 1_790_000_000)
    static let capacity = PoolCapacity.everyType(Capacity(onDemand: 4, spot: 4))

    static func deadline(_ store: PostgresStore, _ job: JobRecord) async throws -> Date? {
        for try await deadline in try await store.client.query("SELECT deadline_at FROM jobs WHERE id = \(job.id)").decode(Date?.self) {
            return deadline
        }
        return nil
    }

    static func submit(_ store: PostgresStore, _ project: ProjectRecord, _ name: String, spot: Bool, maxRun: Int, maxWait: Int?) async throws
        -> JobRecord
    {
        var spec = PostgresStoreJobTests.spec(name)
        spec.useSpotInstances = spot
        spec.maxRun = maxRun
        spec.maxWait = maxWait
        guard case .created(let job, _) = try await store.createJob(
            projectID: project.id, name: name, spec: spec, idempotencyKey: nil, requestHash: nil, note: nil, now: t0)
        else { throw JobNotCreated() }
        return job
    }

    @Test func aWaitingSpotJobEndsAtItsMaxWaitAndNotASecondBefore() async throws {
        try await TestPostgres.withStore { store in
            let project = try await PostgresStoreJobTests.project(store)
            let spot = try await Self.submit(store, project, "sweep", spot: true, maxRun: 60, maxWait: 120)
            let onDemand = try await Self.submit(store, project, "plain", spot: false, maxRun: 60, maxWait: nil)
            // A spot job's deadline is its max_wait from creation; an on-demand job that waits has none.
            #expect(try await Self.deadline(store, spot) == Self.t0.addingTimeInterval(120))
            #expect(try await Self.deadline(store, onDemand) == nil)

            #expect(try await store.enforceDeadlines(graceSeconds: 5, now: Self.t0.addingTimeInterval(119)).isEmpty)
            let stops = try await store.enforceDeadlines(graceSeconds: 5, now: Self.t0.addingTimeInterval(120))
            #expect(stops == [DeadlineStop(job: "sweep", project: project.name, limit: .maxWait)])
            let ended = try #require(try await store.job(id: spot.id))
            #expect(ended.status == .stopped && ended.secondaryStatus == .maxWaitTimeExceeded)
            #expect(try await Self.deadline(store, spot) == nil)
            #expect(try await store.job(id: onDemand.id)?.status == .inProgress)
        }
    }

    @Test func maxRunCountsTrainingAcrossAttemptsAndStopsTheLiveOneWithItsGrace() async throws {
        try await TestPostgres.withStore { store in
            let project = try await PostgresStoreJobTests.project(store)
            let job = try await Self.submit(store, project, "train", spot: false, maxRun: 100, maxWait: nil)
            // Attempt 1 trains 40 s, then its host is lost and the job retries.
            var plans = try await store.schedule(capacity: Self.capacity, provisioner: "local", launchLeaseSeconds: 30, now: Self.t0)
            var host = try #require(plans.first?.hosts.first)
            let training1 = Self.t0.addingTimeInterval(10)
            _ = try await store.recordHeartbeat(
                hostID: host.id, report: AgentReport(phase: .training), leaseSeconds: 30, heartbeatSeconds: 2, spotNoticeSeconds: 120, now: training1)
            #expect(try await Self.deadline(store, job) == training1.addingTimeInterval(100))
            _ = try await store.recordHeartbeat(
                hostID: host.id, report: AgentReport(phase: .exited, exitCode: 0), leaseSeconds: 30, heartbeatSeconds: 2, spotNoticeSeconds: 120,
                now: training1.addingTimeInterval(40))
            let work = try #require(try await store.claimFinishedAttempt(leaseSeconds: 60, now: training1.addingTimeInterval(40)))
            // Stands in for a retry: the finalizer's verdict, whatever the hosts said.
            var retried = work
            retried.outcome = .retry(reason: "InternalServerError: host algo-1 stopped heartbeating")
            try await store.finishAttempt(retried, model: nil, output: nil, now: training1.addingTimeInterval(40))
            #expect(try await Self.deadline(store, job) == nil)

            // Attempt 2 may train the 60 s left.
            plans = try await store.schedule(capacity: Self.capacity, provisioner: "local", launchLeaseSeconds: 30, now: Self.t0.addingTimeInterval(200))
            host = try #require(plans.first?.hosts.first)
            let training2 = Self.t0.addingTimeInterval(210)
            _ = try await store.recordHeartbeat(
                hostID: host.id, report: AgentReport(phase: .training), leaseSeconds: 300, heartbeatSeconds: 2, spotNoticeSeconds: 120, now: training2)
            let deadline = try #require(try await Self.deadline(store, job))
            #expect(abs(deadline.timeIntervalSince(training2.addingTimeInterval(60))) < 0.001)

            #expect(try await store.enforceDeadlines(graceSeconds: 7, now: training2.addingTimeInterval(59)).isEmpty)
            let stops = try await store.enforceDeadlines(graceSeconds: 7, now: training2.addingTimeInterval(61))
            #expect(stops.map(\.limit) == [.maxRun])
            #expect(try await store.job(id: job.id)?.status == .stopping)
            let attempt = try #require(try await store.attempts(jobID: job.id).last)
            #expect(attempt.stopReason == .maxRuntime)
            let directive = try await store.recordHeartbeat(
                hostID: host.id, report: AgentReport(phase: .training), leaseSeconds: 300, heartbeatSeconds: 2, spotNoticeSeconds: 120, now: training2.addingTimeInterval(62))
            #expect(directive.action == .stop && directive.graceSeconds == 6)
            // Once the job stops, nothing is due any more.
            #expect(try await Self.deadline(store, job) == nil)
            #expect(try await store.enforceDeadlines(graceSeconds: 7, now: training2.addingTimeInterval(600)).isEmpty)
        }
    }
}
