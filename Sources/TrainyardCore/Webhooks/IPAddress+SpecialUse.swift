/// The special-purpose ranges (IANA's IPv4 and IPv6 special-purpose registries) a server must not be made to call on a
/// stranger's behalf: they reach the server itself, its private networks, or its cloud's metadata service.
public enum SpecialUse: String, Sendable, Hashable, CaseIterable {
    case unspecified
    case loopback
    case privateUse
    case sharedAddressSpace
    case linkLocal
    case cloudMetadata
    case uniqueLocal
    case siteLocal
    case multicast
    case broadcast
    case reserved

    /// What the range is, after "a"/"an", for messages.
    public var phrase: String {
        switch self {
        case .unspecified: "an unspecified (\"this host\") address"
        case .loopback: "a loopback address"
        case .privateUse: "a private address"
        case .sharedAddressSpace: "a carrier-grade NAT (shared address space) address"
        case .linkLocal: "a link-local address"
        case .cloudMetadata: "a cloud metadata service address"
        case .uniqueLocal: "a unique local (private IPv6) address"
        case .siteLocal: "a site-local address"
        case .multicast: "a multicast address"
        case .broadcast: "the broadcast address"
        case .reserved: "a reserved address"
        }
    }
}

/// How an IPv6 address carries an IPv4 one whose host it reaches.
public enum IPv4Carrier: String, Sendable, Hashable {
    /// `::ffff:a.b.c.d`: a dual-stack socket connects to the IPv4 address itself.
    case mapped
    /// `::a.b.c.d` (deprecated IPv4-compatible).
    case compatible
    /// `::ffff:0:a.b.c.d` (SIIT IPv4-translated).
    case translated
    /// `64:ff9b::a.b.c.d`: a NAT64 gateway forwards to the IPv4 address.
    case nat64
    /// `2002:aabb:ccdd::/48`: 6to4.
    case sixToFour
    /// `2001:0::/32` Teredo, whose client address is the last 32 bits inverted.
    case teredo

    /// What the address is, for messages.
    public var phrase: String {
        switch self {
        case .mapped: "an IPv4-mapped address"
        case .compatible: "an IPv4-compatible address"
        case .translated: "an IPv4-translated address"
        case .nat64: "a NAT64 address"
        case .sixToFour: "a 6to4 address"
        case .teredo: "a Teredo address"
        }
    }
}

extension IPAddress {
    /// The IPv4 address this IPv6 address carries and how, or nil (an IPv4 address carries none; `::` and `::1` are
    /// not IPv4-compatible addresses).
    public var carriedIPv4: (carrier: IPv4Carrier, address: IPAddress)? {
        guard case .v6(let high, let low) = self else { return nil }
        let last32 = UInt32(truncatingIfNeeded: low)
        if high == 0, low >> 32 == 0xFFFF { return (.mapped, .v4(last32)) }
        if high == 0, low >> 32 == 0xFFFF_0000 { return (.translated, .v4(last32)) }
        if high == 0, low >> 32 == 0, low > 1 { return (.compatible, .v4(last32)) }
        if high == 0x0064_FF9B_0000_0000, low >> 32 == 0 { return (.nat64, .v4(last32)) }
        if high >> 48 == 0x2002 { return (.sixToFour, .v4(UInt32(truncatingIfNeeded: high >> 16))) }
        if high >> 32 == 0x2001_0000 { return (.teredo, .v4(~last32)) }
        return nil
    }

    /// The special-purpose range the address itself is in, or nil for an ordinary (global) address. An address that
    /// carries an IPv4 address (``carriedIPv4``) is judged by that address as well; see ``WebhookURLPolicy``.
    public var specialUse: SpecialUse? {
        for (network, use) in Self.specialNetworks where network.contains(self) { return use }
        return nil
    }

    /// Most specific first: the metadata addresses sit inside link-local and unique local ranges.
    /// (Literals, every one parsed by the tests.)
    static let specialNetworks: [(IPNetwork, SpecialUse)] = ([
        // AWS, GCP, Azure and others' instance metadata, ECS task metadata, Azure's WireServer (a public address).
        ("169.254.169.254/32", .cloudMetadata), ("169.254.170.2/32", .cloudMetadata), ("fd00:ec2::254/128", .cloudMetadata),
        ("168.63.129.16/32", .cloudMetadata),
        ("0.0.0.0/8", .unspecified), ("127.0.0.0/8", .loopback),
        ("10.0.0.0/8", .privateUse), ("172.16.0.0/12", .privateUse), ("192.168.0.0/16", .privateUse),
        ("100.64.0.0/10", .sharedAddressSpace), ("169.254.0.0/16", .linkLocal),
        ("192.0.0.0/24", .reserved), ("192.0.2.0/24", .reserved), ("198.18.0.0/15", .reserved), ("198.51.100.0/24", .reserved),
        ("203.0.113.0/24", .reserved), ("255.255.255.255/32", .broadcast), ("224.0.0.0/4", .multicast), ("240.0.0.0/4", .reserved),
        ("::/128", .unspecified), ("::1/128", .loopback), ("fe80::/10", .linkLocal), ("fec0::/10", .siteLocal), ("fc00::/7", .uniqueLocal),
        ("ff00::/8", .multicast), ("100::/64", .reserved), ("2001:db8::/32", .reserved), ("64:ff9b:1::/48", .reserved),
    ] as [(String, SpecialUse)]).map { (IPNetwork($0.0)!, $0.1) }
}
