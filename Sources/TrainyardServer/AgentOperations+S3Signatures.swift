import Foundation
import Hummingbird
import Logging
import Synchronization
import TrainyardCore
import TrainyardObjectStore
import TrainyardStore

extension AgentOperations {
    /// `POST /v1/agent/s3-signatures`: signs one S3 call of a live host, when its job may make it (``AgentS3Scope``
    /// decides), and answers the headers that authorize it. The agent sends the call straight to the S3 server: the
    /// data never passes through here, and the agent never holds the service's keys. A token stops signing when its
    /// host ends.
    func s3Signature(_ call: S3SignatureRequest) async throws -> S3SignatureAnswer {
        let host = try liveHost(action: "gets S3 requests signed")
        guard let s3Signer else {
            throw APIError.notFound(detail: "this server's object store is a file system, not S3: there are no S3 requests to sign")
        }
        let scope = try await s3Scope(for: host)
        do {
            _ = try scope.authorize(call)
        } catch {
            logger.warning(
                "refused to sign an agent's S3 request", metadata: ["host": "\(host.id)", "attempt": "\(host.attemptID)", "reason": "\(error.description)"])
            throw APIError.forbidden(detail: error.description)
        }
        return S3SignatureAnswer(headers: s3Signer.authorize(call, date: Date()))
    }

    /// The host's scope, built from its job once.
    func s3Scope(for host: HostRecord) async throws -> AgentS3Scope {
        if let scope = s3Scopes.scope(for: host.id) { return scope }
        guard let assignment = try await attempts.assignment(for: host) else { throw APIError.notFound(detail: "the host's job no longer exists") }
        let scope = AgentS3Scope(
            spec: assignment.job.spec, attemptOutputPrefix: assignment.job.paths.attemptPrefix(assignment.attemptNumber))
        s3Scopes.remember(scope, for: host.id)
        return scope
    }
}

/// The S3 scopes of the hosts that asked for signatures lately, by host id: a host's job and attempt never change, so
/// its scope is built once instead of at every call. Bounded: forgotten all at once when full.
final class AgentS3Scopes: Sendable {
    private let scopes = Mutex<[String: AgentS3Scope]>([:])
    static let capacity = 4096

    func scope(for hostID: String) -> AgentS3Scope? { scopes.withLock { $0[hostID] } }

    func remember(_ scope: AgentS3Scope, for hostID: String) {
        scopes.withLock { scopes in
            if scopes.count >= Self.capacity { scopes.removeAll(keepingCapacity: true) }
            scopes[hostID] = scope
        }
    }
}
