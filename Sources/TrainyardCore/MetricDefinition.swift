/// A metric read from a job's logs: the first capture group of `regex` is its value.
public struct MetricDefinition: Sendable, Equatable, Codable {
    /// The metric's name, unique within a job.
    public var name: String
    /// The regular expression applied to each log line.
    public var regex: String

    /// Creates a metric definition.
    public init(name: String, regex: String) {
        self.name = name
        self.regex = regex
    }
}
