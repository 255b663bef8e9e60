import Foundation

extension InstanceCatalog {
    /// Parses a capacity file (the JSON that `TRAINYARD_CAPACITY` names) into a catalog of
    /// `shapes`:
    ///
    /// ```json
    /// {"default": {"on_demand": 4, "spot": 4},
    ///  "instance_types": {"ml.m5.large": {"on_demand": 8, "spot": 2,
    ///                                     "on_demand_price": 0.115, "spot_price": 0.035}}}
    /// ```
    ///
    /// For the Slurm provisioner, `default` and each type may also have a `slurm` object (``SlurmResources``):
    /// `{"partition": "batch", "spot_partition": "scavenger", "preemptible": false, "gres": "gpu:8",
    /// "constraint": "a100", "cpus": 96, "memory": "1100G"}`; a type without one uses `default.slurm`.
    ///
    /// Every key is optional. A missing `default` is ``Capacity/standardDefault``; a type's
    /// missing counts and prices come from `default`; prices left unset everywhere resolve to
    /// ``Capacity/defaultOnDemandPrice`` and ``Capacity/defaultSpotPrice``. Unknown keys,
    /// negative or fractional counts, negative prices and instance types outside `shapes`
    /// are errors that name the key.
    public static func parse(
        capacityFile data: Data,
        shapes: [InstanceTypeShape] = sagemakerTraining
    ) throws(CapacityFileError) -> InstanceCatalog {
        let document: CapacityFileDocument
        do {
            document = try JSONDecoder().decode(CapacityFileDocument.self, from: data)
        } catch let error as CapacityFileError {
            throw error
        } catch let DecodingError.typeMismatch(_, context) where context.codingPath.isEmpty {
            throw .malformed(reason: "the top level must be an object")
        } catch {
            throw .malformed(reason: Self.reason(for: error))
        }
        let known = Set(shapes.map(\.name))
        let probe = InstanceCatalog(shapes: shapes, capacity: [:], defaultCapacity: document.defaultCapacity)
        for name in document.capacities.keys.sorted() where !known.contains(name) {
            throw .unknownInstanceType(name, suggestions: probe.suggestions(for: name))
        }
        var catalog = InstanceCatalog(shapes: shapes, capacity: document.capacities, defaultCapacity: document.defaultCapacity)
        catalog.slurm = document.slurm
        return catalog
    }

    private static func reason(for error: any Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            return (context.underlyingError.map { String(describing: $0) } ?? context.debugDescription)
        }
        return String(describing: error)
    }
}

/// Any string key, for decoding objects whose keys are data.
private struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { self.stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// The decoded capacity file; its decoder throws ``CapacityFileError`` naming the key.
private struct CapacityFileDocument: Decodable {
    var defaultCapacity = Capacity.standardDefault
    var capacities: [String: Capacity] = [:]
    var slurm = SlurmMapping()

    init(from decoder: any Decoder) throws {
        let root = try decoder.container(keyedBy: AnyCodingKey.self)
        for key in root.allKeys where key.stringValue != "default" && key.stringValue != "instance_types" {
            throw CapacityFileError.unknownKey(key.stringValue)
        }
        if root.contains(AnyCodingKey("default")) {
            let entry = try Self.object(in: root, key: "default", path: "default")
            defaultCapacity = try Self.capacity(from: entry, path: "default", fallback: .standardDefault)
            slurm.fallback = try Self.slurmResources(in: entry, path: "default")
        }
        if root.contains(AnyCodingKey("instance_types")) {
            let types = try Self.object(in: root, key: "instance_types", path: "instance_types")
            for key in types.allKeys {
                let path = "instance_types[\"\(key.stringValue)\"]"
                let entry = try Self.object(in: types, key: key.stringValue, path: path)
                capacities[key.stringValue] = try Self.capacity(from: entry, path: path, fallback: defaultCapacity)
                if let resources = try Self.slurmResources(in: entry, path: path) { slurm.byType[key.stringValue] = resources }
            }
        }
    }

    private static func object(
        in container: KeyedDecodingContainer<AnyCodingKey>,
        key: String,
        path: String
    ) throws -> KeyedDecodingContainer<AnyCodingKey> {
        do {
            return try container.nestedContainer(keyedBy: AnyCodingKey.self, forKey: AnyCodingKey(key))
        } catch {
            throw CapacityFileError.invalidValue(key: path, reason: "must be an object")
        }
    }

    private static func capacity(
        from entry: KeyedDecodingContainer<AnyCodingKey>,
        path: String,
        fallback: Capacity
    ) throws -> Capacity {
        let allowed: Set = ["on_demand", "spot", "on_demand_price", "spot_price", "slurm"]
        for key in entry.allKeys.sorted(by: { $0.stringValue < $1.stringValue })
        where !allowed.contains(key.stringValue) {
            throw CapacityFileError.unknownKey("\(path).\(key.stringValue)")
        }
        var capacity = fallback
        capacity.onDemand = try count(entry, "on_demand", path: path) ?? fallback.onDemand
        capacity.spot = try count(entry, "spot", path: path) ?? fallback.spot
        capacity.onDemandPrice = try price(entry, "on_demand_price", path: path) ?? fallback.onDemandPrice
        capacity.spotPrice = try price(entry, "spot_price", path: path) ?? fallback.spotPrice
        return capacity
    }

    private static func slurmResources(in entry: KeyedDecodingContainer<AnyCodingKey>, path: String) throws -> SlurmResources? {
        guard entry.contains(AnyCodingKey("slurm")) else { return nil }
        let path = path + ".slurm"
        let slurm = try object(in: entry, key: "slurm", path: path)
        let allowed: Set = ["partition", "spot_partition", "preemptible", "gres", "constraint", "cpus", "memory"]
        for key in slurm.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) where !allowed.contains(key.stringValue) {
            throw CapacityFileError.unknownKey("\(path).\(key.stringValue)")
        }
        func text(_ key: String) throws -> String? {
            do {
                let value = try slurm.decodeIfPresent(String.self, forKey: AnyCodingKey(key))
                if let value, value.isEmpty || value.contains(where: \.isWhitespace) { throw CapacityFileError.invalidValue(key: "", reason: "") }
                return value
            } catch {
                throw CapacityFileError.invalidValue(key: "\(path).\(key)", reason: "must be a non-empty string without spaces")
            }
        }
        var resources = SlurmResources()
        resources.partition = try text("partition")
        resources.spotPartition = try text("spot_partition")
        resources.gres = try text("gres")
        resources.constraint = try text("constraint")
        resources.memory = try text("memory")
        do {
            resources.preemptible = try slurm.decodeIfPresent(Bool.self, forKey: AnyCodingKey("preemptible")) ?? false
        } catch {
            throw CapacityFileError.invalidValue(key: "\(path).preemptible", reason: "must be true or false")
        }
        let cpus: Int?
        do { cpus = try slurm.decodeIfPresent(Int.self, forKey: AnyCodingKey("cpus")) } catch { cpus = -1 }
        if let cpus, cpus < 1 { throw CapacityFileError.invalidValue(key: "\(path).cpus", reason: "must be a whole number of CPUs, 1 or more") }
        resources.cpus = cpus
        return resources
    }

    private static func count(
        _ entry: KeyedDecodingContainer<AnyCodingKey>,
        _ key: String,
        path: String
    ) throws -> Int? {
        let value: Int?
        do {
            value = try entry.decodeIfPresent(Int.self, forKey: AnyCodingKey(key))
        } catch {
            throw CapacityFileError.invalidValue(key: "\(path).\(key)", reason: "must be a whole number of hosts, 0 or more")
        }
        if let value, value < 0 {
            throw CapacityFileError.invalidValue(key: "\(path).\(key)", reason: "must be a whole number of hosts, 0 or more")
        }
        return value
    }

    private static func price(
        _ entry: KeyedDecodingContainer<AnyCodingKey>,
        _ key: String,
        path: String
    ) throws -> Double? {
        let value: Double?
        do {
            value = try entry.decodeIfPresent(Double.self, forKey: AnyCodingKey(key))
        } catch {
            throw CapacityFileError.invalidValue(key: "\(path).\(key)", reason: "must be a price per host-hour, 0 or more")
        }
        if let value, !(value.isFinite && value >= 0) {
            throw CapacityFileError.invalidValue(key: "\(path).\(key)", reason: "must be a price per host-hour, 0 or more")
        }
        return value
    }
}
