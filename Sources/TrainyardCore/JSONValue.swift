import Foundation

/// A JSON document of any shape, for the requests Trainyard stores as sent (a SageMaker `CreateTrainingJob` body) and
/// the validators that walk a service model over them.
///
/// Numbers are `Double`: AWS's integers and longs (seconds, byte counts) stay exact below 2^53. Objects keep no order;
/// encoding with sorted keys gives the same bytes for the same document.
public enum JSONValue: Sendable, Hashable, Codable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        // The likeliest shapes first: every failed attempt throws (a request is mostly strings and objects).
        if container.decodeNil() {
            self = .null
        } else if let string = try? container.decode(String.self) {
            self = .string(string)
        } else if let object = try? container.decode([String: JSONValue].self) {
            self = .object(object)
        } else if let array = try? container.decode([JSONValue].self) {
            self = .array(array)
        } else if let bool = try? container.decode(Bool.self) {
            self = .bool(bool)
        } else {
            self = .number(try container.decode(Double.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value):
            if let whole = Self.integral(value) { try container.encode(whole) } else { try container.encode(value) }
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// `number` as the integer it is, when it is one that a double holds exactly: whole numbers are written as integers
    /// (`3600`, not `3600.0`), AWS's integers and longs as the clients sent them.
    static func integral(_ number: Double) -> Int64? {
        number.rounded() == number && abs(number) < 9.007_199_254_740_992e15 ? Int64(number) : nil
    }

    /// The member `key` of an object; nil for a missing member and for any other value.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members[key]
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    public var numberValue: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    /// The number when it is whole and fits an `Int`.
    public var intValue: Int? {
        guard case .number(let value) = self, value.rounded() == value, abs(value) < 9.2e18 else { return nil }
        return Int(value)
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// An object of strings (a hyperparameter or environment map) as a dictionary; nil when any value is not a string.
    public var stringMap: [String: String]? {
        guard let members = objectValue else { return nil }
        var map: [String: String] = [:]
        for (key, value) in members {
            guard let string = value.stringValue else { return nil }
            map[key] = string
        }
        return map
    }
}
