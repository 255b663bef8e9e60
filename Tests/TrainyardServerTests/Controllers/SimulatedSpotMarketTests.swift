import Foundation
import Testing
import TrainyardCore

@testable import TrainyardProvisioning

/// The local provisioner's simulated spot market says a spot host is being reclaimed when Core's draw for it comes,
/// never for an on-demand host, and ages every host from when it first sees it (after a restart too).
@Suite struct SimulatedSpotMarketTests {
    static let t0 = Date(timeIntervalSince1970: 1_790_000_000)
    static let market = SpotMarket(interruptionsPerHostHour: 3600, seed: 7)

    @Test func aSpotHostIsReportedReclaimingAtItsDrawnAgeAndNotBefore() throws {
        let simulated = SimulatedSpotMarket(Self.market)
        let delay = try #require(Self.market.reclaimDelay(hostID: "h-spot"))
        let references = ["h-spot": "pid:10 dir:/w/h-spot spot:1", "h-demand": "pid:11 dir:/w/h-demand"]
        // First seen at t0, the reconciler's first pass after the launch.
        #expect(simulated.observe(references, now: Self.t0).isEmpty || delay == 0)
        #expect(simulated.observe(references, now: Self.t0.addingTimeInterval(delay - 0.01)).isEmpty)
        #expect(simulated.observe(references, now: Self.t0.addingTimeInterval(delay)) == ["h-spot": .reclaiming(reason: "the simulated spot market took the capacity back")])
        // An on-demand host is never reclaimed, however old.
        #expect(simulated.observe(["h-demand": "pid:11 dir:/w/h-demand"], now: Self.t0.addingTimeInterval(1e9)).isEmpty)
    }

    @Test func aSpotHostLaunchedBeforeARestartIsAgedFromWhenTheMarketFirstSawIt() throws {
        let simulated = SimulatedSpotMarket(Self.market)
        let delay = try #require(Self.market.reclaimDelay(hostID: "h-old"))
        let references = ["h-old": "pid:12 dir:/w/h-old spot:1"]
        let seen = Self.t0.addingTimeInterval(1000)
        #expect(simulated.observe(references, now: seen).isEmpty || delay == 0)
        #expect(simulated.observe(references, now: seen.addingTimeInterval(delay - 0.01)).isEmpty)
        #expect(simulated.observe(references, now: seen.addingTimeInterval(delay)).count == 1)
    }

    @Test func anInactiveMarketReclaimsNothing() {
        let simulated = SimulatedSpotMarket(SpotMarket(interruptionsPerHostHour: 0, seed: 7))
        #expect(simulated.observe(["h": "pid:1 dir:/w/h spot:1"], now: Self.t0).isEmpty)
        #expect(simulated.observe(["h": "pid:1 dir:/w/h spot:1"], now: Self.t0.addingTimeInterval(1e9)).isEmpty)
    }
}
