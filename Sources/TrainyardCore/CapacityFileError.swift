/// Why a capacity file (`TRAINYARD_CAPACITY`) was refused; each case names the bad key.
public enum CapacityFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file is not a JSON object.
    case malformed(reason: String)
    /// A key the file format does not have, with its path (`default.on_demmand`).
    case unknownKey(String)
    /// A value of the wrong type or out of range, with its path and what it must be.
    case invalidValue(key: String, reason: String)
    /// An instance type that is not in the catalog, with the closest names it has.
    case unknownInstanceType(String, suggestions: [String])

    /// A message that tells the operator what to fix.
    public var description: String {
        switch self {
        case .malformed(let reason):
            "The capacity file is not a JSON object of the form "
                + #"{"default": {...}, "instance_types": {...}}: \#(reason)"#
        case .unknownKey(let key):
            "The capacity file has an unknown key \(key); allowed keys are default, instance_types, "
                + "and per entry on_demand, spot, on_demand_price, spot_price, slurm (partition, spot_partition, preemptible, gres, "
                + "constraint, cpus, memory)."
        case .invalidValue(let key, let reason):
            "The capacity file's \(key) \(reason)."
        case .unknownInstanceType(let name, let suggestions):
            "The capacity file names \(name), which is not a training instance type"
                + (suggestions.isEmpty ? "." : "; did you mean \(suggestions.joined(separator: ", "))?")
        }
    }
}
