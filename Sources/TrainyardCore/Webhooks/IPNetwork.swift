/// A network in CIDR notation (`10.0.0.0/8`, `fe80::/10`; a bare address is the network of that address alone). The
/// host bits of the address given are ignored. Pure: no I/O.
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    /// The network's first address (host bits cleared).
    public let address: IPAddress
    /// Bits of the prefix: 0...32 for IPv4, 0...128 for IPv6.
    public let prefixLength: Int

    /// The network of `address`'s first `prefixLength` bits; nil when the length does not fit the address.
    public init?(_ address: IPAddress, prefixLength: Int) {
        guard (0...address.bitCount).contains(prefixLength) else { return nil }
        self.prefixLength = prefixLength
        self.address = Self.masked(address, prefixLength)
    }

    /// `a.b.c.d/n`, `v6::/n` or a bare address; nil when `text` is none of them.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let address = IPAddress(parts[0]) else { return nil }
        var length = address.bitCount
        if parts.count == 2 {
            guard (1...3).contains(parts[1].count), parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let parsed = Int(parts[1]) else { return nil }
            length = parsed
        }
        self.init(address, prefixLength: length)
    }

    /// Whether `candidate` is in this network (an IPv4 address is never in an IPv6 network, nor the other way).
    public func contains(_ candidate: IPAddress) -> Bool {
        guard candidate.bitCount == address.bitCount else { return false }
        return Self.masked(candidate, prefixLength) == address
    }

    public var description: String { "\(address)/\(prefixLength)" }

    static func masked(_ address: IPAddress, _ length: Int) -> IPAddress {
        switch address {
        case .v4(let value):
            return .v4(length == 0 ? 0 : value & (UInt32.max << (32 - length)))
        case .v6(let high, let low):
            let highMask: UInt64 = length >= 64 ? .max : (length == 0 ? 0 : UInt64.max << (64 - length))
            let lowMask: UInt64 = length <= 64 ? 0 : (length == 128 ? .max : UInt64.max << (128 - length))
            return .v6(high: high & highMask, low: low & lowMask)
        }
    }
}
