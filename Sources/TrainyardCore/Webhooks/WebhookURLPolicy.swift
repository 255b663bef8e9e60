/// Which webhook targets are accepted: http or https URLs with a host whose every address is an ordinary (global) one.
/// Loopback, unspecified, private, carrier-grade NAT, link-local (all of fe80::/10), unique local, site-local,
/// multicast, broadcast, reserved and cloud metadata addresses are refused, and so is an IPv6 address that carries an
/// IPv4 one in such a range (IPv4-mapped, -compatible, -translated, NAT64, 6to4, Teredo), unless the operator names a
/// network holding it in ``allowedNetworks`` (`TRAINYARD_WEBHOOK_ALLOWED_NETWORKS`).
///
/// Judged when a subscription is made or changed and again before every send, on the addresses the host resolves to
/// then; the sender connects only to the address ``check(host:addresses:)`` chose. Pure: the caller resolves.
public struct WebhookURLPolicy: Sendable {
    /// The setting that allows addresses in refused ranges.
    public static let allowSetting = "TRAINYARD_WEBHOOK_ALLOWED_NETWORKS"

    /// Networks whose addresses are accepted even though they are in a refused range.
    public var allowedNetworks: [IPNetwork]

    public init(allowedNetworks: [IPNetwork] = []) {
        self.allowedNetworks = allowedNetworks
    }

    /// Why the URL's scheme or host is refused, or nil.
    public func refusal(scheme: String?, host: String?) -> WebhookTargetRefusal? {
        guard let scheme = scheme?.lowercased(), scheme == "http" || scheme == "https" else { return .scheme }
        guard let host, !host.isEmpty else { return .noHost }
        return nil
    }

    /// Why `address` (of `host`) is refused, or nil when it may be called.
    public func refusal(host: String, address: IPAddress) -> WebhookTargetRefusal? {
        if isAllowed(address) { return nil }
        if let use = address.specialUse {
            return .address(host: host, address: address, carried: nil, use: use)
        }
        if let (carrier, carried) = address.carriedIPv4, !isAllowed(carried), let use = carried.specialUse {
            return .address(host: host, address: address, carried: (carrier, carried), use: use)
        }
        return nil
    }

    /// The address to connect to for `host`, which resolved to `addresses` (in the resolver's order): the first IPv4
    /// address, or else the first; or why none may be used: no address, or any refused one (a host whose answers mix
    /// public and internal addresses is refused whole).
    public func check(host: String, addresses: [IPAddress]) -> Result<IPAddress, WebhookTargetRefusal> {
        guard let first = addresses.first else { return .failure(.unresolvable(host: host)) }
        for address in addresses {
            if let refusal = refusal(host: host, address: address) { return .failure(refusal) }
        }
        return .success(addresses.first { $0.bitCount == 32 } ?? first)
    }

    private func isAllowed(_ address: IPAddress) -> Bool {
        allowedNetworks.contains { $0.contains(address) }
    }
}

/// Why a webhook target is refused, with the message its owner sees (in the API's validation errors, and as the error
/// of a try in the delivery log).
public enum WebhookTargetRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    case scheme
    case noHost
    case unresolvable(host: String)
    /// `address` (the host's, or the host itself) is in `use`'s range, itself or through the IPv4 address it carries.
    case address(host: String, address: IPAddress, carried: (carrier: IPv4Carrier, address: IPAddress)?, use: SpecialUse)

    /// The validation rule, as the API names it.
    public var rule: String {
        switch self {
        case .scheme, .noHost: "host"
        case .unresolvable: "resolvable"
        case .address: "address"
        }
    }

    public var description: String {
        switch self {
        case .scheme:
            return "the URL must be http:// or https://"
        case .noHost:
            return "the URL has no host"
        case .unresolvable(let host):
            return "the host \(host) does not resolve from this server"
        case .address(let host, let address, let carried, let use):
            let judged = carried?.address ?? address
            let subject = IPAddress(host) == address ? "webhook target \(address) is" : "webhook target \(host) resolves to \(address),"
            let what = carried.map { "\($0.carrier.phrase) of \($0.address), \(use.phrase)" } ?? use.phrase
            return "\(subject) \(what); allowed only with \(WebhookURLPolicy.allowSetting) naming it (e.g. \(judged)/\(judged.bitCount))"
        }
    }

    public static func == (lhs: WebhookTargetRefusal, rhs: WebhookTargetRefusal) -> Bool {
        lhs.description == rhs.description
    }
}
