/// The instance types a provisioner offers, each with a capacity per market.
///
/// A catalog is a value: changing a capacity returns a new catalog.
public struct InstanceCatalog: Sendable, Equatable {
    /// The shapes by name.
    private let shapesByName: [String: InstanceTypeShape]
    /// Capacities configured per type; types missing here get ``defaultCapacity``.
    public private(set) var capacities: [String: Capacity]
    /// The capacity of every type without its own entry.
    public let defaultCapacity: Capacity
    /// Every shape, sorted by name.
    public let all: [InstanceTypeShape]
    /// The Slurm resources each type maps to (the capacity file's `slurm` entries); empty unless configured.
    public var slurm = SlurmMapping()

    /// Creates a catalog of `shapes`, with `capacity` per type name and `defaultCapacity`
    /// for the rest. Capacities for names that are not among `shapes` are ignored.
    public init(shapes: [InstanceTypeShape], capacity: [String: Capacity], defaultCapacity: Capacity) {
        var byName: [String: InstanceTypeShape] = [:]
        for shape in shapes { byName[shape.name] = shape }
        self.shapesByName = byName
        self.capacities = capacity.filter { byName[$0.key] != nil }
        self.defaultCapacity = defaultCapacity
        self.all = byName.values.sorted { $0.name < $1.name }
    }

    /// Every SageMaker training instance type at ``Capacity/standardDefault``
    /// (4 on-demand and 4 spot hosts each).
    public static let standard = InstanceCatalog(
        shapes: sagemakerTraining,
        capacity: [:],
        defaultCapacity: .standardDefault
    )

    /// The shape named `name`, or `nil` when the catalog has no such type.
    public func shape(named name: String) -> InstanceTypeShape? {
        shapesByName[name]
    }

    /// The capacity of the type named `name` (the default capacity when it has none of its own).
    public func capacity(of name: String) -> Capacity {
        capacities[name] ?? defaultCapacity
    }

    /// A copy of this catalog in which `name` has `capacity`; unchanged when `name` is unknown.
    public func settingCapacity(_ capacity: Capacity, for name: String) -> InstanceCatalog {
        guard shapesByName[name] != nil else { return self }
        var copy = self
        copy.capacities[name] = capacity
        return copy
    }

    /// Up to `limit` catalog names closest to `name` (by edit distance, ties by name),
    /// for an error message that says what the user may have meant.
    public func suggestions(for name: String, limit: Int = 3) -> [String] {
        let wanted = name.lowercased()
        let candidates = [wanted, wanted.hasPrefix("ml.") ? wanted : "ml." + wanted]
        let ranked = all.map { shape -> (String, Int) in
            let distance = candidates.map { Self.editDistance($0, shape.name) }.min() ?? Int.max
            return (shape.name, distance)
        }
        .sorted { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }
        return ranked.prefix(max(0, limit)).map(\.0)
    }

    /// Levenshtein distance over characters.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
