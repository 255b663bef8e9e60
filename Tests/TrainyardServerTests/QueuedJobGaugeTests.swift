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

    @Test func farFromTheLimitTheDatabaseCountsOncePerTrustedAgeAndAdmittedJobsAreAddedMeanwhile() async throws {
        let gauge = QueuedJobGauge(maximumAge: .seconds(1), longestAge: .seconds(30))
        let database = Counter(100)
        let start = ContinuousClock.now
        var answers: [Int] = []
        for _ in 0..<5 { answers.append(try await gauge.queued(projectID: 1, limit: 10_000, now: start) { database.count() }) }
        #expect(answers == [100, 101, 102, 103, 104])
        #expect(database.calls.withLock { $0 } == 1)
        // 100 queued with room for 9,900 more: the count stands for the queue for the longest age.
        #expect(try await gauge.queued(projectID: 1, limit: 10_000, now: start + .seconds(20)) { database.count() } == 105)
        #expect(database.calls.withLock { $0 } == 1)
        // Once the count is older, the database counts again.
        _ = try await gauge.queued(projectID: 1, limit: 10_000, now: start + .seconds(31)) { database.count() }
        #expect(database.calls.withLock { $0 } == 2)
        // Another project has its own count.
        _ = try await gauge.queued(projectID: 2, limit: 10_000, now: start + .seconds(31)) { database.count() }
        #expect(database.calls.withLock { $0 } == 3)
    }

    @Test func aCountIsTrustedLongerTheMoreRoomIsLeftUnderTheLimit() {
        let gauge = QueuedJobGauge(maximumAge: .seconds(1), longestAge: .seconds(30))
        #expect(gauge.trustedAge(count: 0, limit: 10_000) == .seconds(30))
        #expect(gauge.trustedAge(count: 100, limit: 10_000_000) == .seconds(30))
        #expect(gauge.trustedAge(count: 2_000, limit: 10_000) == .seconds(4))
        #expect(gauge.trustedAge(count: 5_000, limit: 10_000) == .seconds(1))
        #expect(gauge.trustedAge(count: 9_000, limit: 10_000) == .seconds(1))
    }

    /// Under many clients the old count was found old by every submission at once, and each counted the queue.
    @Test func oneSubmissionCountsAgainWhileTheOthersGoOnWithTheOldCount() async throws {
        let gauge = QueuedJobGauge(maximumAge: .seconds(1), longestAge: .seconds(1))
        let start = ContinuousClock.now
        #expect(try await gauge.queued(projectID: 1, limit: 10_000, now: start) { 100 } == 100)
        let (entered, enter) = AsyncStream<Void>.makeStream()
        let (released, release) = AsyncStream<Void>.makeStream()
        let recount = Task {
            try await gauge.queued(projectID: 1, limit: 10_000, now: start + .seconds(5)) {
                enter.yield()
                for await _ in released { break }
                return 150
            }
        }
        for await _ in entered { break }
        // Meanwhile: the old count and what was admitted since, no second count.
        let meanwhile = Counter(999)
        #expect(try await gauge.queued(projectID: 1, limit: 10_000, now: start + .seconds(5)) { meanwhile.count() } == 101)
        #expect(meanwhile.calls.withLock { $0 } == 0)
        release.yield()
        #expect(try await recount.value == 150)
        #expect(try await gauge.queued(projectID: 1, limit: 10_000, now: start + .seconds(5)) { meanwhile.count() } == 151)
    }

    @Test func aCountThatFailedIsTakenAgainByTheNextSubmission() async throws {
        struct Refused: Error {}
        let gauge = QueuedJobGauge(maximumAge: .seconds(1), longestAge: .seconds(1))
        let start = ContinuousClock.now
        _ = try await gauge.queued(projectID: 1, limit: 10_000, now: start) { 100 }
        await #expect(throws: Refused.self) {
            try await gauge.queued(projectID: 1, limit: 10_000, now: start + .seconds(5)) { throw Refused() }
        }
        let database = Counter(120)
        #expect(try await gauge.queued(projectID: 1, limit: 10_000, now: start + .seconds(5)) { database.count() } == 120)
        #expect(database.calls.withLock { $0 } == 1)
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
