import Foundation

/// Applies a job's `metric_definitions` to log lines, as SageMaker does: the first capture group of a match (or the
/// whole match when the regex has no group) read as a number is one point of that metric; a match that is not a number
/// is ignored.
///
/// The regexes are the tenant's and run in the server, so every run is bounded: only the first
/// ``matchedPrefixLength`` UTF-16 units of a line are searched, and a search stops at the caller's deadline (ICU
/// reports progress during a long match; the search is abandoned there). ``MetricRegexRule`` refuses the worst
/// patterns at submission; the deadline is for the rest (`.*.*.*x` is polynomial, not exponential, and passes).
public struct MetricExtractor: @unchecked Sendable {
    // NSRegularExpression is immutable once built and documented as safe to use from several threads.
    private let definitions: [(name: String, regex: NSRegularExpression)]

    /// How much of a line is searched: metrics are printed near the start of short lines, and every unit more is work
    /// a crafted line can multiply.
    public static let matchedPrefixLength = 2048

    /// Compiles the definitions; one that does not compile (validation refuses those at submit) is left out.
    public init(_ definitions: [MetricDefinition]) {
        self.definitions = definitions.compactMap { definition in
            (try? NSRegularExpression(pattern: definition.regex)).map { (definition.name, $0) }
        }
    }

    public var isEmpty: Bool { definitions.isEmpty }

    /// The names of the definitions, in order.
    public var names: [String] { definitions.map(\.name) }

    /// What one line yielded: its `(name, value)` points in definition order, and whether a search ran out of time (the
    /// searches after it were not run).
    public struct Extraction: Sendable {
        public var values: [(name: String, value: Double)]
        public var timedOut: Bool
    }

    /// The metrics `line` yields, in definition order, searching until `deadline` at the latest.
    public func values(in line: String, deadline: ContinuousClock.Instant = .now + .seconds(1)) -> Extraction {
        guard !definitions.isEmpty else { return Extraction(values: [], timedOut: false) }
        let text = line as NSString
        let range = NSRange(location: 0, length: min(text.length, Self.matchedPrefixLength))
        var found: [(String, Double)] = []
        for definition in definitions {
            var match: NSTextCheckingResult?
            var timedOut = false
            definition.regex.enumerateMatches(in: line, options: [.reportProgress], range: range) { result, _, stop in
                if let result {
                    match = result
                    stop.pointee = true
                } else if ContinuousClock.now >= deadline {
                    timedOut = true
                    stop.pointee = true
                }
            }
            if timedOut { return Extraction(values: found, timedOut: true) }
            guard let match else { continue }
            let captured = match.numberOfRanges > 1 ? match.range(at: 1) : match.range
            guard captured.location != NSNotFound else { continue }
            let value = text.substring(with: captured).trimmingCharacters(in: .whitespaces)
            if let number = Double(value), number.isFinite { found.append((definition.name, number)) }
        }
        return Extraction(values: found, timedOut: false)
    }
}
