extension ContractJSON {
    /// Parses `text` as Python's `json.loads` does (strict strings, `NaN` and `Infinity`
    /// accepted, surrounding whitespace ignored); `nil` when Python would raise.
    static func parse(_ text: String) -> ContractJSON? {
        var parser = Parser(scalars: Array(text.unicodeScalars))
        parser.skipWhitespace()
        guard let value = parser.value() else { return nil }
        parser.skipWhitespace()
        return parser.atEnd ? value : nil
    }

    /// The toolkit's `read_hyperparameters` for one value: `json.loads(value)`, or the raw
    /// string when that fails.
    static func hyperparameter(_ raw: String) -> ContractJSON {
        parse(raw) ?? .string(raw)
    }

    private struct Parser {
        let scalars: [Unicode.Scalar]
        var index = 0

        var atEnd: Bool { index == scalars.count }

        mutating func skipWhitespace() {
            while index < scalars.count, [" ", "\t", "\n", "\r"].contains(scalars[index]) { index += 1 }
        }

        mutating func consume(_ literal: String) -> Bool {
            let expected = Array(literal.unicodeScalars)
            guard index + expected.count <= scalars.count, Array(scalars[index..<index + expected.count]) == expected else {
                return false
            }
            index += expected.count
            return true
        }

        mutating func value() -> ContractJSON? {
            guard index < scalars.count else { return nil }
            switch scalars[index] {
            case "{": return object()
            case "[": return array()
            case "\"": return string().map { .string($0) }
            case "n": return consume("null") ? .null : nil
            case "t": return consume("true") ? .bool(true) : nil
            case "f": return consume("false") ? .bool(false) : nil
            case "N": return consume("NaN") ? .double(.nan) : nil
            case "I": return consume("Infinity") ? .double(.infinity) : nil
            default:
                if consume("-Infinity") { return .double(-.infinity) }
                return number()
            }
        }

        mutating func object() -> ContractJSON? {
            index += 1
            var members: [(String, ContractJSON)] = []
            skipWhitespace()
            if consume("}") { return .object(members) }
            while true {
                skipWhitespace()
                guard index < scalars.count, scalars[index] == "\"", let key = string() else { return nil }
                skipWhitespace()
                guard consume(":") else { return nil }
                skipWhitespace()
                guard let item = value() else { return nil }
                if let existing = members.firstIndex(where: { $0.0 == key }) {
                    members[existing].1 = item
                } else {
                    members.append((key, item))
                }
                skipWhitespace()
                if consume("}") { return .object(members) }
                guard consume(",") else { return nil }
            }
        }

        mutating func array() -> ContractJSON? {
            index += 1
            var items: [ContractJSON] = []
            skipWhitespace()
            if consume("]") { return .array(items) }
            while true {
                skipWhitespace()
                guard let item = value() else { return nil }
                items.append(item)
                skipWhitespace()
                if consume("]") { return .array(items) }
                guard consume(",") else { return nil }
            }
        }

        mutating func string() -> String? {
            index += 1
            var out = String.UnicodeScalarView()
            while index < scalars.count {
                let scalar = scalars[index]
                index += 1
                switch scalar {
                case "\"": return String(out)
                case "\\":
                    guard index < scalars.count else { return nil }
                    let escape = scalars[index]
                    index += 1
                    switch escape {
                    case "\"", "\\", "/": out.append(escape)
                    case "b": out.append("\u{08}")
                    case "f": out.append("\u{0C}")
                    case "n": out.append("\n")
                    case "r": out.append("\r")
                    case "t": out.append("\t")
                    case "u":
                        guard let unit = hex4() else { return nil }
                        if (0xD800..<0xDC00).contains(unit) {
                            guard consume("\\u"), let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                            let combined = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                            guard let full = Unicode.Scalar(combined) else { return nil }
                            out.append(full)
                        } else {
                            guard let single = Unicode.Scalar(unit) else { return nil }
                            out.append(single)
                        }
                    default: return nil
                    }
                default:
                    if scalar.value < 0x20 { return nil }
                    out.append(scalar)
                }
            }
            return nil
        }

        mutating func hex4() -> UInt32? {
            guard index + 4 <= scalars.count else { return nil }
            let text = String(String.UnicodeScalarView(scalars[index..<index + 4]))
            guard let value = UInt32(text, radix: 16) else { return nil }
            index += 4
            return value
        }

        /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`
        mutating func number() -> ContractJSON? {
            let start = index
            func digits() -> Int {
                let from = index
                while index < scalars.count, ("0"..."9").contains(scalars[index]) { index += 1 }
                return index - from
            }
            if index < scalars.count, scalars[index] == "-" { index += 1 }
            guard index < scalars.count, ("0"..."9").contains(scalars[index]) else { return nil }
            if scalars[index] == "0" { index += 1 } else { _ = digits() }
            var isFloat = false
            if index + 1 < scalars.count, scalars[index] == ".", ("0"..."9").contains(scalars[index + 1]) {
                index += 1
                _ = digits()
                isFloat = true
            }
            if index < scalars.count, scalars[index] == "e" || scalars[index] == "E" {
                let mark = index
                index += 1
                if index < scalars.count, scalars[index] == "+" || scalars[index] == "-" { index += 1 }
                if digits() == 0 { index = mark } else { isFloat = true }
            }
            let text = String(String.UnicodeScalarView(scalars[start..<index]))
            if !isFloat, let int = Int(text) { return .int(int) }
            return Double(text).map { .double($0) }
        }
    }
}
