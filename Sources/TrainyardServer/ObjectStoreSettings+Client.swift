import AsyncHTTPClient
import Foundation
import Logging
public import TrainyardObjectStore

extension ObjectStoreSettings {
    /// The settings `serve` reads, from the same variables (`TRAINYARD_OBJECT_STORE`, `TRAINYARD_S3_ENDPOINT`, `AWS_*`,
    /// …), for clients on this machine that write to the store themselves (the CLI's `--source-dir` upload, as the
    /// SageMaker SDK uploads with its user's own credentials).
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ObjectStoreSettings {
        try from(environment: environment)
    }

    /// A store for such a client: the S3 store, or the filesystem store at its root (`<data dir>/objects` when the
    /// settings name none, with the data directory as `serve` defaults it). Nothing is checked or created up front.
    public func clientStore(dataDirectory: String, logger: Logger) throws -> any ObjectStore {
        switch self {
        case .filesystem(let root):
            return FileSystemObjectStore(root: root ?? (dataDirectory as NSString).appendingPathComponent("objects"))
        case .s3(_, let configuration):
            return try S3ObjectStore(configuration: configuration, httpClient: .shared, logger: logger)
        }
    }

    /// The bucket of jobs without an `output_path` (`s3://<bucket>/<project>`): the S3 bucket, or `trainyard`.
    public var defaultBucket: String { defaultOutputBucket }
}
