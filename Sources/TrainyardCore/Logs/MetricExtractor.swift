public import Foundation

/// Applies a job's `metric_definitions` to log lines, as SageMaker does: the first capture group of a match (or the
/// whole match when the regex has no group) read as a number is one point of that metric; a match that is not a number
/// is ignored.
public struct MetricExtractor: @unchecked Sendable {
    // NSRegularExpression is immutable once built and documented as safe to use from several threads.
    private let definitions: [(name: String, regex: NSRegularExpression)]

    /// Compiles the definitions; one that does not compile (validation refuses those at submit) is left out.
    public init(_ definitions: [MetricDefinition]) {
        self.definitions = definitions.compactMap { definition in
            (try? NSRegularExpression(pattern: definition.regex)).map { (definition.name, $0) }
        }
    }

    public var isEmpty: Bool { definitions.isEmpty }

    /// The metrics `line` yields, in definition order: `(name, value)`.
    public func values(in line: String) -> [(name: String, value: Double)] {
        guard !definitions.isEmpty else { return [] }
        let text = line as NSString
        var found: [(String, Double)] = []
        for definition in definitions {
            guard let match = definition.regex.firstMatch(in: line, range: NSRange(location: 0, length: text.length)) else { continue }
            let range = match.numberOfRanges > 1 ? match.range(at: 1) : match.range
            guard range.location != NSNotFound else { continue }
            let captured = text.substring(with: range).trimmingCharacters(in: .whitespaces)
            if let value = Double(captured), value.isFinite { found.append((definition.name, value)) }
        }
        return found
    }
}
