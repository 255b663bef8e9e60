import Foundation
import Testing
import TrainyardCore

/// The simulated spot market draws each host's reclaim time from the seed and the host's id alone.
@Suite struct SpotMarketTests {
    @Test func theSameSeedReclaimsTheSameHostsAtTheSameAges() {
        let market = SpotMarket(interruptionsPerHostHour: 60, seed: 42)
        let ids = (1...50).map { "job-\($0)-1-algo-1" }
        #expect(ids.map(market.reclaimDelay) == ids.map(SpotMarket(interruptionsPerHostHour: 60, seed: 42).reclaimDelay))
        #expect(ids.map(market.reclaimDelay) != ids.map(SpotMarket(interruptionsPerHostHour: 60, seed: 43).reclaimDelay))
    }

    @Test func delaysFollowTheConfiguredRate() throws {
        // 60 per host-hour: a mean of 60 s between interruptions.
        let market = SpotMarket(interruptionsPerHostHour: 60, seed: 7)
        let delays = try (0..<4000).map { try #require(market.reclaimDelay(hostID: "h-\($0)")) }
        let mean = delays.reduce(0, +) / Double(delays.count)
        #expect(mean > 55 && mean < 65, "mean \(mean)")
        #expect(delays.allSatisfy { $0 > 0 && $0.isFinite })
    }

    @Test func aHostIsDueOnceItsDrawnAgeHasPassed() throws {
        let market = SpotMarket(interruptionsPerHostHour: 3600, seed: 1)
        let start = Date(timeIntervalSince1970: 1_000_000)
        let delay = try #require(market.reclaimDelay(hostID: "a"))
        #expect(market.due([("a", start)], now: start.addingTimeInterval(delay - 0.001)).isEmpty)
        #expect(market.due([("a", start)], now: start.addingTimeInterval(delay)) == ["a"])
    }

    @Test func aZeroRateNeverReclaims() {
        let market = SpotMarket(interruptionsPerHostHour: 0, seed: 1)
        #expect(!market.isActive)
        #expect(market.reclaimDelay(hostID: "a") == nil)
        #expect(market.due([("a", Date.distantPast)], now: Date()).isEmpty)
    }
}
