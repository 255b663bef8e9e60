import Foundation
import PostgresNIO
import Testing
import TrainyardCore
import TrainyardTestSupport

@testable import TrainyardStore

/// A user's stop that races the scheduler's grant of the same job stops the attempt the grant started, instead of
/// ending the job while that attempt runs on.
@Suite struct PostgresStoreStopRaceTests {
    struct NeverBlocked: Error {}

    /// Waits until some session waits on a row lock.
    static func waitUntilSomeoneWaitsForALock(_ store: PostgresStore) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            for try await waiting in try await store.client.query(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            ).decode(Int.self) where waiting > 0 {
                return
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw NeverBlocked()
    }

    @Test func aStopThatRacesTheSchedulersGrantStopsTheAttemptItGranted() async throws {
        try await TestPostgres.withStore { store in
            let project = try await PostgresStoreJobTests.project(store)
            guard case .created(let job, _) = try await store.createJob(
                projectID: project.id, name: "raced", spec: PostgresStoreJobTests.spec("raced"), idempotencyKey: nil, requestHash: nil)
            else { throw PostgresStoreStopRaceTests.NeverBlocked() }
            try await store.client.withConnection { grant in
                // The scheduler's grant, held open: the job locked (as its pass locks it), its attempt written, the job
                // launching, nothing committed yet.
                try await grant.query("BEGIN")
                try await grant.query("SELECT id FROM jobs WHERE id = \(job.id) FOR UPDATE")
                try await grant.query("INSERT INTO attempts (job_id, number, started_at, provisioner) VALUES (\(job.id), 1, now(), 'local')")
                try await grant.query("UPDATE jobs SET secondary_status = 'LaunchingMLInstances' WHERE id = \(job.id)")
                // The user's stop comes meanwhile: it sees no running attempt yet and waits for the job's lock.
                async let stopped = store.requestStop(projectID: project.id, name: "raced", reason: .user, graceSeconds: 30)
                try await Self.waitUntilSomeoneWaitsForALock(store)
                try await grant.query("COMMIT")
                let job = try await stopped
                // The granted attempt is told to stop with the grace; the job waits for it instead of ending.
                #expect(job.status == .stopping, "\(job.status)/\(job.secondaryStatus)")
                let attempt = try #require(try await store.attempts(jobID: job.id).first)
                #expect(attempt.stopReason == .user)
            }
        }
    }
}
