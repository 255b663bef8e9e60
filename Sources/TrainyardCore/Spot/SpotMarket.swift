import Crypto
import Foundation

/// The local provisioner's simulated spot market: each spot host is reclaimed after a delay drawn from an exponential
/// distribution with the configured rate (interruptions per host-hour), as if the provider took capacity back at
/// random. The draw is a function of the seed and the host's id only, never of when anyone asks, so the same seed
/// reclaims the same hosts at the same ages in every run.
public struct SpotMarket: Sendable, Equatable {
    /// Mean interruptions per spot host-hour; 0 turns random interruptions off.
    public var interruptionsPerHostHour: Double
    /// Seed of the draws.
    public var seed: UInt64

    /// Creates a market.
    public init(interruptionsPerHostHour: Double, seed: UInt64) {
        self.interruptionsPerHostHour = interruptionsPerHostHour
        self.seed = seed
    }

    /// Whether hosts are ever reclaimed at random.
    public var isActive: Bool { interruptionsPerHostHour > 0 && interruptionsPerHostHour.isFinite }

    /// Seconds after its start at which the host `hostID` is reclaimed; nil when the market never reclaims.
    public func reclaimDelay(hostID: String) -> Double? {
        guard isActive else { return nil }
        let digest = Array(SHA256.hash(data: Data("\(seed):\(hostID)".utf8)))
        let bits = digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        // A uniform draw in (0, 1): 53 bits, never 0 (the logarithm of 0 is infinite).
        let uniform = (Double(bits >> 11) + 0.5) / Double(UInt64(1) << 53)
        return -Foundation.log(uniform) / (interruptionsPerHostHour / 3600)
    }

    /// The hosts of `running` (id and start time) whose reclaim time has come by `now`, in id order.
    public func due(_ running: [(id: String, startedAt: Date)], now: Date) -> [String] {
        running.compactMap { host in
            guard let delay = reclaimDelay(hostID: host.id) else { return nil }
            return host.startedAt.addingTimeInterval(delay) <= now ? host.id : nil
        }.sorted()
    }
}
