/// A JSON value as Python's `json` module sees it, for reproducing the SageMaker training
/// toolkit byte for byte.
///
/// Objects keep their keys in document order (Python dicts are ordered; `str(dict)` and
/// `to_cmd_args` show that order), integers stay distinct from floats (`1` versus `1.0`),
/// and ``compact`` is `json.dumps(value, sort_keys=True, separators=(",", ":"),
/// ensure_ascii=True)`, the toolkit's `mapping.to_env_vars` encoding.
enum ContractJSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([ContractJSON])
    case object([(String, ContractJSON)])

    static func == (lhs: ContractJSON, rhs: ContractJSON) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.int(let a), .int(let b)): return a == b
        case (.double(let a), .double(let b)): return a == b || (a.isNaN && b.isNaN)
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// An object from a dictionary, keys in code-point order.
    static func object(_ dictionary: [String: ContractJSON]) -> ContractJSON {
        .object(dictionary.sorted { codePointLess($0.key, $1.key) })
    }

    /// A list of strings.
    static func strings(_ values: [String]) -> ContractJSON {
        .array(values.map { .string($0) })
    }

    /// A string, or `null` when absent.
    static func optional(_ value: String?) -> ContractJSON {
        value.map { .string($0) } ?? .null
    }

    /// The string inside, when this is a string.
    var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// Python truthiness: `None`, `False`, zero, and empty strings, lists and dicts are false.
    var isTruthy: Bool {
        switch self {
        case .null: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .array(let a): return !a.isEmpty
        case .object(let o): return !o.isEmpty
        }
    }

    /// Compares strings the way Python's `sorted` does: by Unicode code points.
    static func codePointLess(_ a: String, _ b: String) -> Bool {
        a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars)
    }

    // MARK: Encoding

    /// `json.dumps(self, sort_keys=True, separators=(",", ":"), ensure_ascii=True)`.
    var compact: String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += Self.jsonFloat(d)
        case .string(let s): Self.writeString(s, to: &out)
        case .array(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                item.write(to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            var latest: [String: ContractJSON] = [:]
            for (key, value) in members { latest[key] = value }
            for (index, key) in latest.keys.sorted(by: Self.codePointLess).enumerated() {
                if index > 0 { out += "," }
                Self.writeString(key, to: &out)
                out += ":"
                latest[key]!.write(to: &out)
            }
            out += "}"
        }
    }

    private static func jsonFloat(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
        return pythonFloatRepr(d)
    }

    /// Python's `repr(float)`: shortest round-trip digits, like Swift's `description`.
    static func pythonFloatRepr(_ d: Double) -> String {
        d.description
    }

    private static func writeString(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 || scalar.value > 0x7E {
                    for unit in String(scalar).utf16 { out += "\\u" + hex4(unit) }
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    private static func hex4(_ value: UInt16) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 4 - digits.count) + digits
    }

    // MARK: Python str()

    /// Python's `str(value)`: strings as they are, `True`/`False`/`None`, and `repr` inside
    /// lists and dicts.
    var pythonStr: String {
        if case .string(let s) = self { return s }
        return pythonRepr
    }

    /// Python's `repr(value)`.
    var pythonRepr: String {
        switch self {
        case .null: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .double(let d): return d.isNaN ? "nan" : d.isInfinite ? (d < 0 ? "-inf" : "inf") : Self.pythonFloatRepr(d)
        case .string(let s): return Self.pythonStringRepr(s)
        case .array(let items): return "[" + items.map(\.pythonRepr).joined(separator: ", ") + "]"
        case .object(let members): return "{" + members.map { Self.pythonStringRepr($0.0) + ": " + $0.1.pythonRepr }.joined(separator: ", ") + "}"
        }
    }

    private static func pythonStringRepr(_ s: String) -> String {
        let quote: Character = s.contains("'") && !s.contains("\"") ? "\"" : "'"
        var out = String(quote)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if Character(scalar) == quote {
                    out += "\\" + String(quote)
                } else if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\x" + String(repeating: "0", count: scalar.value < 0x10 ? 1 : 0) + String(scalar.value, radix: 16)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out.append(quote)
        return out
    }
}
