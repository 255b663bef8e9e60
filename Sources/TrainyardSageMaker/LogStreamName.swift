import Foundation

/// CloudWatch's names for a training job's logs: the group `/aws/sagemaker/TrainingJobs`, and one stream per host,
/// `<job>/algo-<i>-<epoch seconds>` (the epoch is the job's creation, so a stream keeps its name across calls and
/// attempts).
public enum LogStreamName {
    public static let group = "/aws/sagemaker/TrainingJobs"

    /// `<job>/<host>-<epoch>`.
    public static func name(job: String, host: String, createdAt: Date) -> String {
        "\(job)/\(host)-\(Int64(createdAt.timeIntervalSince1970))"
    }

    /// The job and host a stream name names: `mnist/algo-2-1764000000` → (`mnist`, `algo-2`); nil for another shape.
    public static func parse(_ stream: String) -> (job: String, host: String)? {
        guard let slash = stream.firstIndex(of: "/") else { return nil }
        let job = String(stream[..<slash])
        let rest = stream[stream.index(after: slash)...]
        guard let dash = rest.lastIndex(of: "-"), rest[rest.index(after: dash)...].allSatisfy(\.isNumber) else { return nil }
        let host = String(rest[..<dash])
        guard host.hasPrefix("algo-"), !job.isEmpty else { return nil }
        return (job, host)
    }

    /// `arn:aws:logs:<region>:<account>:log-group:/aws/sagemaker/TrainingJobs:log-stream:<stream>`.
    public static func arn(region: String, account: String, stream: String) -> String {
        "arn:aws:logs:\(region):\(account):log-group:\(group):log-stream:\(stream)"
    }
}

/// CloudWatch's `filterPattern` for unstructured lines: terms that must all appear (`ERROR timeout`), quoted phrases
/// (`"loss="`), `?term` alternatives (any of them), `-term` exclusions. JSON and space-delimited patterns (`{ … }`,
/// `[ … ]`) are refused: Trainyard's lines are text.
public struct LogFilterPattern: Sendable, Equatable {
    public var required: [String] = []
    public var anyOf: [String] = []
    public var excluded: [String] = []

    /// Parses `pattern`; nil for a structured pattern.
    public init?(_ pattern: String) {
        let trimmed = pattern.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("{") || trimmed.hasPrefix("[") { return nil }
        var terms: [String] = []
        var current = ""
        var quoted = false
        for character in trimmed {
            if character == "\"" {
                quoted.toggle()
            } else if character == " " && !quoted {
                if !current.isEmpty { terms.append(current) }
                current = ""
            } else {
                current.append(character)
            }
        }
        if !current.isEmpty { terms.append(current) }
        for term in terms {
            if term.hasPrefix("?"), term.count > 1 {
                anyOf.append(String(term.dropFirst()))
            } else if term.hasPrefix("-"), term.count > 1 {
                excluded.append(String(term.dropFirst()))
            } else {
                required.append(term)
            }
        }
    }

    /// Whether `message` matches: every required term, one of the alternatives (when there are any), no excluded term.
    /// Terms match case-sensitively, as CloudWatch's do.
    public func matches(_ message: String) -> Bool {
        required.allSatisfy { message.contains($0) } && (anyOf.isEmpty || anyOf.contains { message.contains($0) })
            && !excluded.contains { message.contains($0) }
    }
}
