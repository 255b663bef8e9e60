import Foundation

/// Splits a migration file into statements at top-level semicolons, skipping `--` and `/* */` comments and leaving
/// quoted strings, quoted identifiers and dollar-quoted bodies whole.
enum SQLScript {
    static func statements(in script: String) -> [String] {
        let chars = Array(script)
        var statements: [String] = []
        var current = ""
        var index = 0
        func flush() {
            let trimmed = current.trimmingCharacters(in: .whitespacesAndNewlines)
            if !trimmed.isEmpty { statements.append(trimmed) }
            current = ""
        }
        while index < chars.count {
            let char = chars[index]
            let next: Character? = index + 1 < chars.count ? chars[index + 1] : nil
            if char == "-" && next == "-" {
                while index < chars.count && chars[index] != "\n" { index += 1 }
                continue
            }
            if char == "/" && next == "*" {
                index += 2
                while index + 1 < chars.count && !(chars[index] == "*" && chars[index + 1] == "/") { index += 1 }
                index += 2
                continue
            }
            if char == "'" || char == "\"" {
                current.append(char)
                index += 1
                while index < chars.count {
                    current.append(chars[index])
                    if chars[index] == char { break }
                    index += 1
                }
                index += 1
                continue
            }
            if char == "$", let tagEnd = chars[(index + 1)...].firstIndex(of: "$"),
                chars[(index + 1)..<tagEnd].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" })
            {
                let tag = String(chars[index...tagEnd])
                current += tag
                index = tagEnd + 1
                let rest = String(chars[index...])
                if let close = rest.range(of: tag) {
                    current += rest[..<close.upperBound]
                    index += rest.distance(from: rest.startIndex, to: close.upperBound)
                } else {
                    current += rest
                    index = chars.count
                }
                continue
            }
            if char == ";" {
                flush()
            } else {
                current.append(char)
            }
            index += 1
        }
        flush()
        return statements
    }
}
