/// An IPv4 or IPv6 address as a value: parsed from its text (strictly: dotted-quad IPv4 without leading zeros, IPv6 in
/// RFC 4291 form, with or without a trailing dotted quad) or built from the bytes of a socket address. Pure: no I/O.
public enum IPAddress: Sendable, Hashable, CustomStringConvertible {
    case v4(UInt32)
    /// The address's 128 bits, most significant half first.
    case v6(high: UInt64, low: UInt64)

    /// The address of 4 (IPv4) or 16 (IPv6) bytes in network order; nil for any other count.
    public init?(bytes: some Collection<UInt8>) {
        let bytes = Array(bytes)
        switch bytes.count {
        case 4:
            self = .v4(bytes.reduce(0) { $0 << 8 | UInt32($1) })
        case 16:
            let high = bytes[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let low = bytes[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            self = .v6(high: high, low: low)
        default:
            return nil
        }
    }

    /// The address `text` spells (an IPv6 address may be in brackets, as in a URL); nil when it is not one. A zone
    /// (`fe80::1%eth0`) is not an address.
    public init?(_ text: some StringProtocol) {
        var text = Substring(text)
        if text.hasPrefix("["), text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        if let v4 = Self.parseV4(text) {
            self = .v4(v4)
        } else if let v6 = Self.parseV6(text) {
            self = v6
        } else {
            return nil
        }
    }

    /// The address's bytes in network order (4 or 16).
    public var bytes: [UInt8] {
        switch self {
        case .v4(let value): return (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) }
        case .v6(let high, let low):
            return (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) } + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
        }
    }

    /// Dotted quad, or RFC 5952's canonical IPv6 text (lower case, the longest run of zero groups as `::`, an
    /// IPv4-mapped address as `::ffff:a.b.c.d`).
    public var description: String {
        switch self {
        case .v4(let value):
            return (0..<4).map { String((value >> (24 - 8 * $0)) & 0xFF) }.joined(separator: ".")
        case .v6(let high, let low):
            if high == 0, low >> 32 == 0xFFFF {
                return "::ffff:" + IPAddress.v4(UInt32(truncatingIfNeeded: low)).description
            }
            let groups = (0..<4).map { UInt16(truncatingIfNeeded: high >> (48 - 16 * $0)) } + (0..<4).map { UInt16(truncatingIfNeeded: low >> (48 - 16 * $0)) }
            // The longest run of two or more zero groups (the first of equals) becomes "::".
            var best: Range<Int>?
            var start: Int?
            for index in 0...8 {
                if index < 8, groups[index] == 0 {
                    if start == nil { start = index }
                } else if let first = start {
                    if index - first >= 2, index - first > (best?.count ?? 0) { best = first..<index }
                    start = nil
                }
            }
            let hex = { (range: Range<Int>) in groups[range].map { String($0, radix: 16) }.joined(separator: ":") }
            guard let best else { return hex(0..<8) }
            return hex(0..<best.lowerBound) + "::" + hex(best.upperBound..<8)
        }
    }

    /// How many bits the address has: 32 or 128.
    public var bitCount: Int {
        if case .v4 = self { return 32 }
        return 128
    }

    static func parseV4(_ text: Substring) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy({ $0.isASCII && $0.isNumber }), part == "0" || !part.hasPrefix("0"),
                let octet = UInt32(part), octet <= 255
            else { return nil }
            value = value << 8 | octet
        }
        return value
    }

    static func parseV6(_ text: Substring) -> IPAddress? {
        guard text.contains(":"), text.count <= 45 else { return nil }
        var groups: [UInt16] = []
        var tail = text
        // A trailing dotted quad stands for the last two groups.
        var v4: UInt32?
        if let lastColon = text.lastIndex(of: ":"), text[text.index(after: lastColon)...].contains(".") {
            guard let parsed = parseV4(text[text.index(after: lastColon)...]) else { return nil }
            v4 = parsed
            tail = text[...lastColon]
            // "::1.2.3.4" keeps its "::"; "1::2:1.2.3.4" drops the colon before the quad.
            if !tail.hasSuffix("::") { tail = tail.dropLast() }
        }
        let doubles = tail.ranges(of: "::")
        guard doubles.count <= 1 else { return nil }
        let halves = doubles.first.map { [tail[..<$0.lowerBound], tail[$0.upperBound...]] } ?? [tail]
        func parseGroups(_ part: Substring) -> [UInt16]? {
            if part.isEmpty { return [] }
            var result: [UInt16] = []
            for group in part.split(separator: ":", omittingEmptySubsequences: false) {
                guard (1...4).contains(group.count), group.allSatisfy(\.isHexDigit), let value = UInt16(group, radix: 16) else { return nil }
                result.append(value)
            }
            return result
        }
        guard let head = parseGroups(halves[0]) else { return nil }
        let wanted = v4 == nil ? 8 : 6
        if halves.count == 2 {
            guard let rest = parseGroups(halves[1]), head.count + rest.count < wanted else { return nil }
            groups = head + Array(repeating: 0, count: wanted - head.count - rest.count) + rest
        } else {
            guard head.count == wanted else { return nil }
            groups = head
        }
        if let v4 { groups += [UInt16(truncatingIfNeeded: v4 >> 16), UInt16(truncatingIfNeeded: v4)] }
        let high = groups[0..<4].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
        let low = groups[4..<8].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
        return .v6(high: high, low: low)
    }
}
