import Foundation
import Testing
import TrainyardCore

/// Core's warm pool rules: what a job leaves, when it ends, what a change of its keep-alive period does, what is
/// billed, and what a job must share with a pool to take it over.
@Suite struct WarmPoolTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func anEndedJobLeavesAPoolUntilItsKeepAliveEndsAndNoneWithoutOne() throws {
        let pool = try #require(WarmPool.left(keepAlivePeriod: 600, hostPhases: [.exited, .exited], now: Self.now))
        #expect(pool == WarmPool(status: .available, retainedAt: Self.now, expiresAt: Self.now.addingTimeInterval(600)))
        #expect(WarmPool.left(keepAlivePeriod: 0, hostPhases: [.exited], now: Self.now) == nil)
        #expect(WarmPool.left(keepAlivePeriod: 600, hostPhases: [.exited, .lost], now: Self.now)?.status == .terminated)
        // A job that ran on a pool and asks for none now ends it.
        #expect(WarmPool.left(keepAlivePeriod: 0, hostPhases: [.exited], onPool: true, now: Self.now)?.status == .terminated)
        #expect(!pool.hasExpired(at: Self.now.addingTimeInterval(599)))
        #expect(pool.hasExpired(at: Self.now.addingTimeInterval(600)))
    }

    @Test func aPoolPastItsExpiryShowsAsTerminatedAtItsExpiryAndBillsUpToIt() throws {
        let pool = try #require(WarmPool.left(keepAlivePeriod: 600, hostPhases: [.exited], now: Self.now))
        #expect(pool.asOf(Self.now.addingTimeInterval(100)) == pool)
        #expect(pool.retainedSeconds(now: Self.now.addingTimeInterval(100)) == 100)
        let ended = pool.asOf(Self.now.addingTimeInterval(5000))
        #expect(ended.status == .terminated && ended.releasedAt == Self.now.addingTimeInterval(600))
        #expect(ended.retainedSeconds(now: Self.now.addingTimeInterval(5000)) == 600)
        #expect(WarmPool(status: .inUse).retainedSeconds(now: Self.now) == nil)
        let reused = WarmPool(status: .reused, retainedAt: Self.now, releasedAt: Self.now.addingTimeInterval(42), reusedByJob: "next")
        #expect(reused.retainedSeconds(now: Self.now.addingTimeInterval(5000)) == 42)
    }

    @Test func changingTheKeepAliveOfAnAvailablePoolMovesItsExpiryOrEndsIt() throws {
        let pool = try #require(WarmPool.left(keepAlivePeriod: 600, hostPhases: [.exited], now: Self.now))
        let later = Self.now.addingTimeInterval(300)
        #expect(pool.updated(keepAlivePeriod: 3600, now: later).expiresAt == Self.now.addingTimeInterval(3600))
        let ended = pool.updated(keepAlivePeriod: 0, now: later)
        #expect(ended.status == .terminated && ended.releasedAt == later && ended.retainedSeconds(now: later) == 300)
        // A period already over ends it at once.
        #expect(pool.updated(keepAlivePeriod: 200, now: later).status == .terminated)
        // A pool already past its expiry, as descriptions show it, stays ended at its expiry.
        let expired = pool.asOf(Self.now.addingTimeInterval(700)).updated(keepAlivePeriod: 3600, now: Self.now.addingTimeInterval(700))
        #expect(expired.status == .terminated && expired.releasedAt == Self.now.addingTimeInterval(600))
        // A pool in any other state is as it was.
        let reused = WarmPool(status: .reused, retainedAt: Self.now, releasedAt: later, reusedByJob: "next")
        #expect(reused.updated(keepAlivePeriod: 0, now: later) == reused)
    }

    @Test func aJobMatchesAPoolOnlyInItsProjectWithTheSameShapeAndAKeepAliveOfItsOwn() throws {
        var spec = JobSpec(instanceType: "ml.m5.large", instanceCount: 2, volumeSize: 50, keepAlivePeriod: 600)
        let pool = try #require(WarmPoolMatch(projectID: 1, spec: spec))
        #expect(pool == WarmPoolMatch(projectID: 1, instanceType: "ml.m5.large", instanceCount: 2, spot: false, volumeSize: 50))
        #expect(WarmPoolMatch(projectID: 2, spec: spec) != pool)
        spec.keepAlivePeriod = 0
        #expect(WarmPoolMatch(projectID: 1, spec: spec) == nil)
        spec.keepAlivePeriod = 60
        #expect(WarmPoolMatch(projectID: 1, spec: spec) == pool)
        for change in [{ (s: inout JobSpec) in s.instanceCount = 1 }, { $0.instanceType = "ml.m5.xlarge" }, { $0.volumeSize = nil }, { $0.useSpotInstances = true }] {
            var other = spec
            change(&other)
            #expect(WarmPoolMatch(projectID: 1, spec: other) != pool)
        }
    }

    @Test func aWaitingJobIsToldHowManyHostsWarmPoolsKeep() {
        var scheduler = GangScheduler(
            inUse: [GangScheduler.Pool(instanceType: "ml.m5.large", spot: false): 1], warm: [GangScheduler.Pool(instanceType: "ml.m5.large", spot: false): 2],
            capacity: { _ in Capacity(onDemand: 3, spot: 0) })
        #expect(
            scheduler.decide(GangScheduler.Gang(instanceType: "ml.m5.large", count: 1, spot: false))
                == .wait(message: "Waiting for 1 on-demand ml.m5.large host(s): 0 of 3 free (2 kept in warm pools for the jobs that match them)"))
    }
}
