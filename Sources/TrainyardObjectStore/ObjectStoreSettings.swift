public import Foundation
import TrainyardCore

/// Which object store the server and every agent use: `TRAINYARD_OBJECT_STORE` and, for S3,
/// `TRAINYARD_S3_ENDPOINT`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`,
/// `TRAINYARD_S3_ADDRESSING`, `TRAINYARD_S3_PAYLOAD_SIGNING`. Read by `serve` (clients send code and fetch archives
/// through the API, and need none of it).
public enum ObjectStoreSettings: Sendable, Equatable {
    /// The filesystem store under `root`, or `<data dir>/objects` when nil.
    case filesystem(root: String?)
    /// An S3-compatible server; `bucket` is where jobs without an `output_path` write.
    case s3(bucket: String, configuration: S3Configuration)

    /// Reads the settings; a missing or malformed value is an error (``ConfigurationError``) naming its variable.
    public static func from(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ObjectStoreSettings {
        func value(_ key: String) -> String? {
            guard let value = environment[key]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
            return value
        }
        guard let uri = value("TRAINYARD_OBJECT_STORE") else { return .filesystem(root: nil) }
        if uri.hasPrefix("file://") {
            let path = String(uri.dropFirst("file://".count))
            guard path.hasPrefix("/") else {
                throw ConfigurationError.invalid(key: "TRAINYARD_OBJECT_STORE", value: uri, expected: "file:///absolute/path or s3://bucket")
            }
            return .filesystem(root: path)
        }
        guard uri.hasPrefix("s3://") else {
            throw ConfigurationError.invalid(key: "TRAINYARD_OBJECT_STORE", value: uri, expected: "file:///absolute/path or s3://bucket")
        }
        var bucket = String(uri.dropFirst("s3://".count))
        while bucket.hasSuffix("/") { bucket.removeLast() }
        guard Self.isBucketName(bucket) else {
            throw ConfigurationError.invalid(
                key: "TRAINYARD_OBJECT_STORE", value: uri, expected: "s3://bucket with a bucket name of 3-63 lower-case letters, digits, '.' and '-'")
        }
        guard let accessKey = value("AWS_ACCESS_KEY_ID") else {
            throw ConfigurationError.missing(key: "AWS_ACCESS_KEY_ID", because: "TRAINYARD_OBJECT_STORE is \(uri)")
        }
        guard let secret = value("AWS_SECRET_ACCESS_KEY") else {
            throw ConfigurationError.missing(key: "AWS_SECRET_ACCESS_KEY", because: "TRAINYARD_OBJECT_STORE is \(uri)")
        }
        let region = value("AWS_REGION") ?? value("AWS_DEFAULT_REGION") ?? "us-east-1"
        let endpoint = value("TRAINYARD_S3_ENDPOINT")
        var addressing: S3Configuration.Addressing = endpoint == nil ? .virtualHosted : .path
        if let text = value("TRAINYARD_S3_ADDRESSING") {
            guard let parsed = S3Configuration.Addressing(rawValue: text) else {
                throw ConfigurationError.invalid(key: "TRAINYARD_S3_ADDRESSING", value: text, expected: "path or virtual")
            }
            addressing = parsed
        }
        var signing = S3Configuration.PayloadSigning.unsigned
        if let text = value("TRAINYARD_S3_PAYLOAD_SIGNING") {
            guard let parsed = S3Configuration.PayloadSigning(rawValue: text) else {
                throw ConfigurationError.invalid(key: "TRAINYARD_S3_PAYLOAD_SIGNING", value: text, expected: "unsigned or signed")
            }
            signing = parsed
        }
        let configuration = S3Configuration(
            endpoint: endpoint ?? "https://s3.\(region).amazonaws.com", region: region,
            credentials: SigV4Credentials(accessKeyID: accessKey, secretAccessKey: secret, sessionToken: value("AWS_SESSION_TOKEN")),
            addressing: addressing, payloadSigning: signing)
        do {
            _ = try configuration.validatedEndpoint()
        } catch {
            throw ConfigurationError.invalid(key: "TRAINYARD_S3_ENDPOINT", value: endpoint ?? "", expected: "an http(s)://host[:port] URL")
        }
        return .s3(bucket: bucket, configuration: configuration)
    }

    static func isBucketName(_ name: String) -> Bool {
        let edgesOK = name.first.map { $0 != "-" && $0 != "." } == true && name.last.map { $0 != "-" && $0 != "." } == true
        return (3...63).contains(name.count) && edgesOK
            && name.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-" || $0 == ".") }
    }

    /// The bucket of jobs without an `output_path`.
    public var defaultOutputBucket: String {
        switch self {
        case .filesystem: "trainyard"
        case .s3(let bucket, _): bucket
        }
    }
}
