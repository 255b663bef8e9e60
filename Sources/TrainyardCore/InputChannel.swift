/// One input channel of a job: where its data comes from and how it is delivered.
///
/// In JSON a channel is `{"s3_uri", "input_mode", "content_type", "distribution"}`, or just
/// the URI as a string (`"inputs": {"train": "s3://bucket/train"}`).
public struct InputChannel: Sendable, Equatable, Codable {
    /// The data's URI: `s3://bucket/prefix` or `file:///absolute/path`.
    public var s3URI: String
    /// `File` (default) or `FastFile` (treated as `File`); `Pipe` is not supported.
    public var inputMode: String
    /// The MIME type written to `inputdataconfig.json`, when given.
    public var contentType: String?
    /// `FullyReplicated` (default) or `ShardedByS3Key`.
    public var distribution: String

    /// Creates a channel.
    public init(
        s3URI: String,
        inputMode: String = "File",
        contentType: String? = nil,
        distribution: String = "FullyReplicated"
    ) {
        self.s3URI = s3URI
        self.inputMode = inputMode
        self.contentType = contentType
        self.distribution = distribution
    }

    private enum CodingKeys: String, CodingKey {
        case s3URI = "s3_uri"
        case inputMode = "input_mode"
        case contentType = "content_type"
        case distribution
    }

    /// Decodes a channel from an object or from a bare URI string.
    public init(from decoder: any Decoder) throws {
        if let single = try? decoder.singleValueContainer(), let uri = try? single.decode(String.self) {
            self.init(s3URI: uri)
            return
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            s3URI: try container.decode(String.self, forKey: .s3URI),
            inputMode: try container.decodeIfPresent(String.self, forKey: .inputMode) ?? "File",
            contentType: try container.decodeIfPresent(String.self, forKey: .contentType),
            distribution: try container.decodeIfPresent(String.self, forKey: .distribution) ?? "FullyReplicated"
        )
    }

    /// Encodes the channel as an object.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(s3URI, forKey: .s3URI)
        try container.encode(inputMode, forKey: .inputMode)
        try container.encodeIfPresent(contentType, forKey: .contentType)
        try container.encode(distribution, forKey: .distribution)
    }
}
