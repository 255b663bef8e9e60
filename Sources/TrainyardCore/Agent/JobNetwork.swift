/// The network of one attempt's hosts on local workers: a bridge of its own, and for each host a network namespace
/// joined to it by a veth pair, with an address of its own. `algo-1 … algo-N` resolve to those addresses inside the
/// job only; the bridge has no address and no route out, so nothing of one job reaches another's ports (or the
/// service's, or the machine's): every job may use the same addresses and ports, as SageMaker's containers do.
///
/// Pure naming and addressing; the provisioner creates and removes what it names.
public struct JobNetwork: Sendable, Equatable {
    /// Which service's networks these are (``instanceTag(for:)``): several services, or a test's several servers, on
    /// one machine number their attempts alike.
    public let instance: String
    public let attemptID: Int64
    /// The hosts' names, in order: `algo-1` is ordinal 1.
    public let hostNames: [String]

    public init(instance: String, attemptID: Int64, hostNames: [String]) {
        self.instance = instance
        self.attemptID = attemptID
        self.hostNames = hostNames
    }

    /// Names of network namespaces Trainyard made start with this.
    public static let namespacePrefix = "trainyard-"
    /// The network every job's hosts are on; a bridge joins only one job's hosts.
    public static let subnet = "10.200.0.0/16"
    /// The most hosts one job's network holds.
    public static let maximumHosts = 999

    /// Whether names can be made for this attempt (its hosts fit the ordinals).
    public var isNameable: Bool { attemptID > 0 && hostNames.count <= Self.maximumHosts }

    /// Five base-36 characters naming a service by something stable and its own (its workers directory).
    public static func instanceTag(for key: String) -> String {
        let digits = String(StableHash.value(key) % 60_466_176, radix: 36)  // 36^5
        return String(repeating: "0", count: 5 - digits.count) + digits
    }

    /// `tb<8 hex digits>`: interface names have at most 15 characters, too few for the instance and attempt in full,
    /// so they are hashed; the namespaces carry them in full.
    public var bridge: String { "tb" + Self.hex8(StableHash.value("\(instance)/\(attemptID)")) }

    /// `trainyard-<instance>-<attempt id>-<ordinal>`.
    public func namespace(ordinal: Int) -> String { "\(Self.namespacePrefix)\(instance)-\(attemptID)-\(ordinal)" }

    /// The host-side end of host `ordinal`'s veth pair, on the bridge: `tv<8 hex digits>`.
    public func bridgePort(ordinal: Int) -> String { "tv" + Self.hex8(StableHash.value("\(instance)/\(attemptID)/\(ordinal)")) }

    static func hex8(_ value: UInt64) -> String {
        let digits = String(value & 0xFFFF_FFFF, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }

    /// Host `ordinal`'s address: `10.200.<ordinal / 250>.<ordinal % 250 + 1>`.
    public func address(ordinal: Int) -> String { "10.200.\(ordinal / 250).\(ordinal % 250 + 1)" }

    /// `/etc/hosts` of host `ordinal`: localhost on loopback, every host of the job at its address.
    public func hostsFile(ordinal: Int) -> String {
        var lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost"]
        for (index, name) in hostNames.enumerated() { lines.append("\(address(ordinal: index + 1))\t\(name)") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The attempt a namespace name of this instance (`trainyard-<instance>-<id>-<ordinal>`) belongs to.
    public static func attemptID(ofNamespace name: String, instance: String) -> Int64? {
        let prefix = namespacePrefix + instance + "-"
        guard name.hasPrefix(prefix) else { return nil }
        let parts = name.dropFirst(prefix.count).split(separator: "-")
        guard parts.count == 2, Int(parts[1]) != nil else { return nil }
        return Int64(parts[0])
    }
}
