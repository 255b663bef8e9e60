/// The constructs a metric regex may not use, because they let one crafted log line take exponential time in a
/// backtracking engine (ICU, behind `NSRegularExpression`): a repeated group that itself repeats or alternates
/// (`(a+)+`, `(a|a)*`, `(\d*){20}`) and backreferences (`\1`, `\k<name>`).
///
/// This is a structural check, not a proof: polynomial patterns (`.*.*.*x`) pass it, which is why extraction also runs
/// under a time budget (``MetricExtractor``). Patterns that do not compile are left to the compiler's own message.
public enum MetricRegexRule {
    /// Why `pattern` is refused, as a sentence for the user, or `nil` when it is allowed.
    public static func refusal(_ pattern: String) -> String? {
        var scanner = Scanner(Array(pattern.unicodeScalars))
        return scanner.run()
    }

    static let nestedMessage =
        "The metric regex repeats a group that itself contains a quantifier or an alternation (like (a+)+ or (a|a)*): "
        + "a crafted log line can make such a pattern run for hours. Repeat a character class instead, e.g. ([0-9.]+)."
    static let backreferenceMessage =
        "The metric regex uses a backreference (\\1 or \\k<name>), which can take exponential time on a crafted log line; "
        + "metric regexes may not use backreferences."

    private struct Frame {
        /// Something inside has a quantifier (`?` included), directly or in an inner group.
        var repeats = false
        /// The group has a top-level or nested alternation.
        var alternates = false
    }

    private struct Scanner {
        let scalars: [Unicode.Scalar]
        var index = 0
        var frames = [Frame()]

        init(_ scalars: [Unicode.Scalar]) { self.scalars = scalars }

        var current: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }

        mutating func run() -> String? {
            while let scalar = current {
                switch scalar {
                case "\\":
                    if let refusal = escape() { return refusal }
                    if let refusal = quantifier(onGroup: nil) { return refusal }
                case "[":
                    characterClass()
                    if let refusal = quantifier(onGroup: nil) { return refusal }
                case "(":
                    index += 1
                    if current == "?", index + 1 < scalars.count, scalars[index + 1] == "#" {
                        // A comment: up to the closing parenthesis.
                        while let c = current, c != ")" { index += 1 }
                        index += 1
                        continue
                    }
                    frames.append(Frame())
                case ")":
                    index += 1
                    guard frames.count > 1 else { continue }
                    let group = frames.removeLast()
                    if let refusal = quantifier(onGroup: group) { return refusal }
                case "|":
                    frames[frames.count - 1].alternates = true
                    index += 1
                default:
                    index += 1
                    if let refusal = quantifier(onGroup: nil) { return refusal }
                }
            }
            return nil
        }

        /// After an atom: reads its quantifier, if any; refuses a repeated group that has a quantifier or an
        /// alternation inside (an optional `?` counts: `(a?a?)*` is as ambiguous as `(a*)*`).
        mutating func quantifier(onGroup group: Frame?) -> String? {
            defer {
                if let group {
                    if group.repeats { frames[frames.count - 1].repeats = true }
                    if group.alternates { frames[frames.count - 1].alternates = true }
                }
            }
            guard let maximum = readQuantifier() else { return nil }
            // Lazy or possessive suffix.
            if current == "?" || current == "+" { index += 1 }
            if maximum > 1, let group, group.repeats || group.alternates { return MetricRegexRule.nestedMessage }
            frames[frames.count - 1].repeats = true
            return nil
        }

        /// The maximum count of the quantifier at the cursor (`Int.max` when unbounded), consuming it; nil when there is none.
        mutating func readQuantifier() -> Int? {
            switch current {
            case "*", "+":
                index += 1
                return Int.max
            case "?":
                index += 1
                return 1
            case "{":
                var cursor = index + 1
                var digits = ""
                var maximum: Int?
                var sawComma = false
                var lower = ""
                while cursor < scalars.count, scalars[cursor] != "}" {
                    let c = scalars[cursor]
                    if c == "," {
                        guard !sawComma else { return nil }
                        sawComma = true
                        lower = digits
                        digits = ""
                    } else if ("0"..."9").contains(c) {
                        digits.unicodeScalars.append(c)
                    } else {
                        return nil  // Not a quantifier: a literal brace.
                    }
                    cursor += 1
                }
                guard cursor < scalars.count else { return nil }
                if sawComma {
                    guard !lower.isEmpty else { return nil }
                    maximum = digits.isEmpty ? Int.max : Int(digits) ?? Int.max
                } else {
                    guard !digits.isEmpty else { return nil }
                    maximum = Int(digits) ?? Int.max
                }
                index = cursor + 1
                return maximum
            default:
                return nil
            }
        }

        /// An escape: refuses backreferences; skips `\Q…\E` and braced arguments (`\p{L}`, `\x{41}`).
        mutating func escape() -> String? {
            index += 1
            guard let c = current else { return nil }
            index += 1
            switch c {
            case "1"..."9":
                return MetricRegexRule.backreferenceMessage
            case "k":
                if current == "<" { return MetricRegexRule.backreferenceMessage }
            case "Q":
                while index < scalars.count {
                    if scalars[index] == "\\", index + 1 < scalars.count, scalars[index + 1] == "E" {
                        index += 2
                        break
                    }
                    index += 1
                }
            case "p", "P", "x", "N":
                if current == "{" {
                    while let d = current, d != "}" { index += 1 }
                    index += 1
                }
            default:
                break
            }
            return nil
        }

        /// A bracketed set, nested sets and escapes included; one atom.
        mutating func characterClass() {
            var depth = 0
            repeat {
                guard let c = current else { return }
                if c == "\\" {
                    index += 2
                    continue
                }
                if c == "[" {
                    depth += 1
                    index += 1
                    // A `]` first in a set (after an optional `^`) is a literal.
                    if current == "^" { index += 1 }
                    if current == "]" { index += 1 }
                    continue
                }
                if c == "]" { depth -= 1 }
                index += 1
            } while depth > 0
        }
    }
}
