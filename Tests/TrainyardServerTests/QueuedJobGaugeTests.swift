import Synchronization
import Testing

@testable import TrainyardServer

@Suite struct QueuedJobGaugeTests {
    final class Counter: Sendable {
        let calls = Mutex(0)
        let value: Int
        init(_ value: Int) { self.value = value }
        func count() -> Int {
            calls.withLock { $0 += 1 }
            return value
        }
    }

    @Test func farFromTheLimitTheDatabaseCountsOncePerAgeAndAdmittedJobsAreAddedMeanwhile() async throws {
        let gauge = QueuedJobGauge(maximumAge: .seconds(1))
        let database = Counter(100)
        let start = ContinuousClock.now
        var answers: [Int] = []
        for _ in 0..<5 { answers.append(try await gauge.queued(projectID: 1, limit: 10_000, now: start) { database.count() }) }
        #expect(answers == [100, 101, 102, 103, 104])
        #expect(database.calls.withLock { $0 } == 1)
        // Once the count is old, the database counts again.
        _ = try await gauge.queued(projectID: 1, limit: 10_000, now: start + .seconds(2)) { database.count() }
        #expect(database.calls.withLock { $0 } == 2)
        // Another project has its own count.
        _ = try await gauge.queued(projectID: 2, limit: 10_000, now: start + .seconds(2)) { database.count() }
        #expect(database.calls.withLock { $0 } == 3)
    }

    @Test func nearTheLimitEverySubmissionIsCounted() async throws {
        let gauge = QueuedJobGauge(maximumAge: .seconds(60))
        let database = Counter(6)
        let start = ContinuousClock.now
        for _ in 0..<3 { #expect(try await gauge.queued(projectID: 1, limit: 10, now: start) { database.count() } == 6) }
        #expect(database.calls.withLock { $0 } == 3)
        let full = Counter(10)
        #expect(try await gauge.queued(projectID: 1, limit: 10, now: start) { full.count() } == 10)
    }
}
