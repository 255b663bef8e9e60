import AsyncHTTPClient
import Foundation
import Logging
import TrainyardCore
import TrainyardObjectStore

/// The object stores the contract tests run against: the filesystem store in a fresh directory, and the S3 store on
/// a fresh bucket of the shared SeaweedFS.
public enum TestObjectStoreKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case filesystem
    case s3

    public var description: String { rawValue }
}

extension TestSeaweed {
    /// A store on this server; `secret` replaces the right secret (to test refusals).
    public func store(secret: String = TestSeaweed.secretKey, configure: (inout S3Configuration) -> Void = { _ in }) throws -> S3ObjectStore {
        var configuration = S3Configuration(
            endpoint: endpoint, region: "us-east-1", credentials: SigV4Credentials(accessKeyID: Self.accessKey, secretAccessKey: secret))
        configure(&configuration)
        var logger = Logger(label: "trainyard.tests.s3")
        logger.logLevel = .warning
        return try S3ObjectStore(configuration: configuration, httpClient: .shared, logger: logger)
    }
}

/// A store of `kind` with an empty bucket, for one test; `cleanup` removes what the test left.
public struct TestObjectStore: Sendable {
    public let store: any ObjectStore
    public let bucket: String
    public let scratch: String

    public static func make(_ kind: TestObjectStoreKind, configure: (inout S3Configuration) -> Void = { _ in }) async throws -> TestObjectStore {
        let id = UUID().uuidString.lowercased().prefix(12)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-objects-\(id)").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let bucket = "test-\(id)"
        switch kind {
        case .filesystem:
            return TestObjectStore(store: FileSystemObjectStore(root: scratch + "/root"), bucket: bucket, scratch: scratch)
        case .s3:
            let store = try await TestSeaweed.shared().store(configure: configure)
            try await store.createBucket(bucket)
            return TestObjectStore(store: store, bucket: bucket, scratch: scratch)
        }
    }

    public func cleanup() {
        try? FileManager.default.removeItem(atPath: scratch)
    }
}
