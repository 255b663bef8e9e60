/// How many hosts of one instance type can run at once, per market, and what they cost.
public struct Capacity: Sendable, Hashable, Codable {
    /// The price per host-hour used when none is configured.
    public static let defaultOnDemandPrice = 1.0
    /// The spot price per host-hour used when none is configured.
    public static let defaultSpotPrice = 0.3
    /// The capacity every catalog type gets when nothing else is configured:
    /// 4 on-demand and 4 spot hosts, so 2-host spot jobs run out of the box.
    public static let standardDefault = Capacity(onDemand: 4, spot: 4)

    /// On-demand hosts available at once.
    public var onDemand: Int
    /// Spot hosts available at once.
    public var spot: Int
    /// On-demand price per host-hour, when configured.
    public var onDemandPrice: Double?
    /// Spot price per host-hour, when configured.
    public var spotPrice: Double?

    /// Creates a capacity.
    public init(onDemand: Int, spot: Int, onDemandPrice: Double? = nil, spotPrice: Double? = nil) {
        self.onDemand = onDemand
        self.spot = spot
        self.onDemandPrice = onDemandPrice
        self.spotPrice = spotPrice
    }

    /// The hosts available in the market a job uses: spot when `spot` is true.
    public func hosts(spot: Bool) -> Int {
        spot ? self.spot : self.onDemand
    }

    /// The on-demand price, or ``defaultOnDemandPrice`` when none is configured.
    public var resolvedOnDemandPrice: Double { onDemandPrice ?? Self.defaultOnDemandPrice }

    /// The spot price, or ``defaultSpotPrice`` when none is configured.
    public var resolvedSpotPrice: Double { spotPrice ?? Self.defaultSpotPrice }

    private enum CodingKeys: String, CodingKey {
        case onDemand = "on_demand"
        case spot
        case onDemandPrice = "on_demand_price"
        case spotPrice = "spot_price"
    }
}
