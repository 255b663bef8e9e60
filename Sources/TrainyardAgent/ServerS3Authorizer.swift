import Foundation
import TrainyardCore
import TrainyardObjectStore

/// Signs the agent's S3 calls through its server (`POST /v1/agent/s3-signatures`, with the host's token): the agent
/// holds no key of the store, and the server signs only what the host's job may do while the host lives.
struct ServerS3Authorizer: S3RequestAuthorizer {
    let connection: ServerConnection

    /// A refusal is the store's `AccessDenied` with the server's reason, never retried; a server gone past the outage
    /// limit is the store being unavailable. Either way the agent goes on to report, as for any store error.
    func authorize(_ request: S3SignatureRequest) async throws -> [S3SignatureRequest.Field] {
        do {
            return try await connection.signS3(request).headers
        } catch AgentError.rejected(let status, let body) {
            throw ObjectStoreError.store(
                code: "AccessDenied", bucket: request.bucket, key: request.key, status: status,
                message: "the Trainyard server refused to sign \(request.method) \(request.target): \(Self.detail(body))")
        } catch AgentError.serverUnreachable(let seconds, let lastError) {
            throw ObjectStoreError.unavailable(
                bucket: request.bucket, key: request.key, attempts: 1,
                reason: "the Trainyard server, which signs this host's S3 requests, was unreachable for \(Int(seconds)) s: \(lastError)")
        }
    }

    /// The `detail` of a problem+json body, else the body.
    static func detail(_ body: String) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any], let detail = object["detail"] as? String else {
            return String(body.prefix(1024))
        }
        return detail
    }
}
