import Foundation

/// A page in Prometheus's text exposition format (0.0.4), read by its rules as Prometheus's own parser reads it, and
/// refused with the line and the rule at the first thing a scrape would reject: the syntax of names, labels, escapes
/// and values; one `TYPE` per family, before its samples, which stay together; no series twice; counters not negative;
/// each histogram's buckets cumulative, ending in `le="+Inf"` equal to its `_count`, with a `_sum`.
struct PrometheusText {
    struct Sample: Equatable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    struct Violation: Error, CustomStringConvertible {
        var line: Int
        var rule: String
        var text: String
        var description: String { "line \(line): \(rule): \(text)" }
    }

    private(set) var types: [String: String] = [:]
    private(set) var help: [String: String] = [:]
    private(set) var samples: [Sample] = []

    init(_ page: String) throws {
        var familiesSeen: [String] = []
        var seriesSeen = Set<String>()
        var lineNumber = 0
        for raw in page.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = String(raw)
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            if line.hasPrefix("#") {
                let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: true).map(String.init)
                guard parts.count >= 3, parts[1] == "HELP" || parts[1] == "TYPE" else { continue }
                let name = parts[2]
                guard Self.isMetricName(name) else { throw Violation(line: lineNumber, rule: "metric name", text: line) }
                if parts[1] == "TYPE" {
                    guard parts.count == 4, ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]) else {
                        throw Violation(line: lineNumber, rule: "TYPE names a known type", text: line)
                    }
                    guard types[name] == nil else { throw Violation(line: lineNumber, rule: "one TYPE per family", text: line) }
                    guard !samples.contains(where: { Self.family(of: $0.name, types: [name: parts[3]]) == name }) else {
                        throw Violation(line: lineNumber, rule: "TYPE before the family's samples", text: line)
                    }
                    types[name] = parts[3]
                } else {
                    guard help[name] == nil else { throw Violation(line: lineNumber, rule: "one HELP per family", text: line) }
                    help[name] = parts.count == 4 ? parts[3] : ""
                }
                continue
            }
            let sample = try Self.sample(line, number: lineNumber)
            let family = Self.family(of: sample.name, types: types)
            if familiesSeen.last != family {
                guard !familiesSeen.contains(family) else { throw Violation(line: lineNumber, rule: "a family's samples stay together", text: line) }
                familiesSeen.append(family)
            }
            let series = sample.name + "{" + sample.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",") + "}"
            guard seriesSeen.insert(series).inserted else { throw Violation(line: lineNumber, rule: "no series twice", text: line) }
            if types[family] == "counter", sample.value < 0 { throw Violation(line: lineNumber, rule: "a counter is not negative", text: line) }
            samples.append(sample)
        }
        try checkHistograms()
    }

    /// The family a sample belongs to: a histogram's `_bucket`, `_sum` and `_count` samples are its own.
    static func family(of name: String, types: [String: String]) -> String {
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
            let base = String(name.dropLast(suffix.count))
            if types[base] == "histogram" || types[base] == "summary" { return base }
        }
        return name
    }

    private func checkHistograms() throws {
        for (family, type) in types where type == "histogram" {
            var buckets: [String: [(Double, Double)]] = [:]
            for sample in samples where sample.name == family + "_bucket" {
                guard let le = sample.labels["le"], let bound = Self.number(le) else {
                    throw Violation(line: 0, rule: "a bucket has a numeric le", text: "\(sample)")
                }
                var others = sample.labels
                others["le"] = nil
                buckets[Self.key(others), default: []].append((bound, sample.value))
            }
            for (series, bounds) in buckets {
                let sorted = bounds.sorted { $0.0 < $1.0 }
                guard sorted.last?.0 == .infinity else { throw Violation(line: 0, rule: "a histogram ends at le=\"+Inf\"", text: "\(family){\(series)}") }
                guard zip(sorted, sorted.dropFirst()).allSatisfy({ $0.1 <= $1.1 }) else {
                    throw Violation(line: 0, rule: "buckets are cumulative", text: "\(family){\(series)}")
                }
                let count = samples.first { $0.name == family + "_count" && Self.key($0.labels) == series }
                guard let count, count.value == sorted.last?.1 else {
                    throw Violation(line: 0, rule: "_count equals the +Inf bucket", text: "\(family){\(series)}")
                }
                guard samples.contains(where: { $0.name == family + "_sum" && Self.key($0.labels) == series }) else {
                    throw Violation(line: 0, rule: "a histogram has its _sum", text: "\(family){\(series)}")
                }
            }
        }
    }

    static func key(_ labels: [String: String]) -> String {
        labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    static func isMetricName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.isASCIILetter || first == "_" || first == ":" else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCIILetter || $0.isASCIIDigit || $0 == "_" || $0 == ":" }
    }

    static func isLabelName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.isASCIILetter || first == "_" else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCIILetter || $0.isASCIIDigit || $0 == "_" }
    }

    static func number(_ text: String) -> Double? {
        switch text {
        case "+Inf", "Inf": .infinity
        case "-Inf": -.infinity
        case "NaN": .nan
        default: Double(text)
        }
    }

    /// `name{label="value",…} value [timestamp]`.
    static func sample(_ line: String, number: Int) throws -> Sample {
        let scalars = Array(line.unicodeScalars)
        var index = 0
        var name = ""
        while index < scalars.count, scalars[index] != "{", scalars[index] != " " {
            name.unicodeScalars.append(scalars[index])
            index += 1
        }
        guard isMetricName(name) else { throw Violation(line: number, rule: "metric name", text: line) }
        var labels: [String: String] = [:]
        if index < scalars.count, scalars[index] == "{" {
            index += 1
            while index < scalars.count, scalars[index] != "}" {
                var label = ""
                while index < scalars.count, scalars[index] != "=" {
                    label.unicodeScalars.append(scalars[index])
                    index += 1
                }
                guard isLabelName(label), index + 1 < scalars.count, scalars[index + 1] == "\"" else {
                    throw Violation(line: number, rule: "label name=\"value\"", text: line)
                }
                index += 2
                var value = ""
                while index < scalars.count, scalars[index] != "\"" {
                    if scalars[index] == "\\" {
                        guard index + 1 < scalars.count else { throw Violation(line: number, rule: "escape", text: line) }
                        switch scalars[index + 1] {
                        case "\\": value += "\\"
                        case "\"": value += "\""
                        case "n": value += "\n"
                        default: throw Violation(line: number, rule: "only \\\\, \\\" and \\n are escapes", text: line)
                        }
                        index += 2
                        continue
                    }
                    value.unicodeScalars.append(scalars[index])
                    index += 1
                }
                guard index < scalars.count else { throw Violation(line: number, rule: "a label value ends with \"", text: line) }
                index += 1
                guard labels[label] == nil else { throw Violation(line: number, rule: "no label twice", text: line) }
                labels[label] = value
                if index < scalars.count, scalars[index] == "," { index += 1 }
            }
            guard index < scalars.count else { throw Violation(line: number, rule: "labels end with }", text: line) }
            index += 1
        }
        let rest = String(String.UnicodeScalarView(scalars[index...])).split(separator: " ").map(String.init)
        guard (1...2).contains(rest.count), let value = Self.number(rest[0]), rest.count == 1 || Int64(rest[1]) != nil else {
            throw Violation(line: number, rule: "a value, and perhaps a timestamp in milliseconds", text: line)
        }
        return Sample(name: name, labels: labels, value: value)
    }

    /// The value of the series `name` whose labels include `labels`, summed over the others.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let matching = samples.filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }
        return matching.isEmpty ? nil : matching.reduce(0) { $0 + $1.value }
    }
}

extension Unicode.Scalar {
    fileprivate var isASCIILetter: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) }
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
