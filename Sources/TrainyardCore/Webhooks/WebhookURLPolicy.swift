/// Which webhook URLs are accepted: http or https with a host; addresses a cloud machine must never be made to call
/// (link-local, which holds the metadata services of AWS, GCP and Azure at 169.254.169.254, and AWS's IPv6 metadata
/// address fd00:ec2::254) are refused unless the operator allows them.
public struct WebhookURLPolicy: Sendable {
    public var allowLinkLocal: Bool

    public init(allowLinkLocal: Bool = false) {
        self.allowLinkLocal = allowLinkLocal
    }

    /// Metadata host names that resolve to link-local addresses inside clouds.
    static let metadataHosts: Set<String> = ["metadata.google.internal", "metadata", "instance-data", "instance-data.ec2.internal"]

    /// Why the URL's scheme or host is refused, or nil.
    public func refusal(scheme: String?, host: String?) -> String? {
        guard let scheme = scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            return "the URL must be http:// or https://"
        }
        guard let host = host?.lowercased(), !host.isEmpty else { return "the URL has no host" }
        if !allowLinkLocal, Self.metadataHosts.contains(host) {
            return "\(host) is a cloud metadata service; set TRAINYARD_WEBHOOK_ALLOW_LINK_LOCAL=true to allow it"
        }
        return nil
    }

    /// Why a resolved address is refused, or nil.
    public func refusal(address: String) -> String? {
        guard !allowLinkLocal else { return nil }
        let lower = address.lowercased()
        if lower.hasPrefix("169.254.") || lower.hasPrefix("fe80:") || lower == "fd00:ec2::254" {
            return "\(address) is a link-local or cloud metadata address; set TRAINYARD_WEBHOOK_ALLOW_LINK_LOCAL=true to allow it"
        }
        return nil
    }
}
