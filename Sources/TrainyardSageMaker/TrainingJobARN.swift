/// A training job's ARN as clients send it back (`AddTags`, `ListTags`, `DeleteTags`):
/// `arn:aws:sagemaker:<region>:<12 digits>:training-job/<name>`.
public struct TrainingJobARN: Sendable, Equatable {
    public var region: String
    public var account: String
    public var name: String

    /// Parses `arn`; nil for any other resource or shape.
    public init?(_ arn: String) {
        let parts = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 6, parts[0] == "arn", parts[1].hasPrefix("aws"), parts[2] == "sagemaker", parts[4].count == 12,
            parts[4].allSatisfy(\.isNumber), parts[5].hasPrefix("training-job/")
        else { return nil }
        let name = String(parts[5].dropFirst("training-job/".count))
        guard !name.isEmpty, !name.contains("/") else { return nil }
        region = parts[3]
        account = parts[4]
        self.name = name
    }
}
