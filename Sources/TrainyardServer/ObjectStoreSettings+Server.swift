import AsyncHTTPClient
import Foundation
import Logging
import TrainyardCore
import TrainyardObjectStore

extension ObjectStoreSettings {
    /// The store, the descriptor agents get in their assignment (never a key), and for S3 the signer of the agents'
    /// requests. An S3 store is checked at once (a listing of the bucket, created when missing), so that wrong
    /// credentials or an unreachable endpoint stop `serve` at start with the variable to fix.
    func makeStore(objectsDirectory: String, logger: Logger) async throws
        -> (store: any ObjectStore, descriptor: ObjectStoreDescriptor, agentSigner: SigV4RequestAuthorizer?)
    {
        switch self {
        case .filesystem(let root):
            let root = root ?? objectsDirectory
            // The service's alone: jobs read and write their objects through their agents, never by path.
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            chmod(root, 0o700)
            return (FileSystemObjectStore(root: root), ObjectStoreDescriptor(kind: .file, root: root), nil)
        case .s3(let bucket, let configuration):
            let store = try S3ObjectStore(configuration: configuration, httpClient: .shared, logger: logger)
            do {
                do {
                    _ = try await store.listPage(bucket: bucket, prefix: "", continuationToken: nil, maxKeys: 1)
                } catch let error as ObjectStoreError where error.code == "NoSuchBucket" {
                    try await store.createBucket(bucket)
                    logger.notice("created the object store bucket", metadata: ["bucket": "\(bucket)"])
                }
            } catch let error as ObjectStoreError {
                let key: String
                switch error.code {
                case "SignatureDoesNotMatch": key = "AWS_SECRET_ACCESS_KEY"
                case "InvalidAccessKeyId", "AccessDenied": key = "AWS_ACCESS_KEY_ID"
                case "ServiceUnavailable": key = "TRAINYARD_S3_ENDPOINT"
                default: key = "TRAINYARD_OBJECT_STORE"
                }
                throw ConfigurationError.rejected(key: key, reason: "\(error)")
            }
            let descriptor = ObjectStoreDescriptor.s3(
                endpoint: configuration.endpoint, region: configuration.region, addressing: configuration.addressing.rawValue)
            guard let credentials = configuration.credentials else { throw S3ConfigurationError.missingCredentials }
            return (store, descriptor, try SigV4RequestAuthorizer(configuration: configuration, credentials: credentials))
        }
    }
}
