import Foundation
import Logging
import TrainyardProvisioning
import TrainyardStore

/// Judges hosts whose heartbeats stopped: a host whose lease ran out is lost (its gang stops, the job retries or
/// fails as Core decides), and the provisioner kills whatever is left of it.
struct LeaseReaper: Sendable {
    /// Attempts and hosts (the store, or its twin in tests).
    let attempts: any AttemptRepository
    let provisioner: any WorkerPoolProvisioner
    let address: ServerAddress
    let logger: Logger

    func runOnce(now: Date = Date()) async throws {
        // While the server does not listen, silence proves nothing.
        guard address.isListening else { return }
        let lost = try await attempts.reapExpiredHosts(now: now)
        guard !lost.isEmpty else { return }
        for host in lost {
            logger.warning("host lost: its heartbeats stopped", metadata: ["host": "\(host.id)"])
        }
        await provisioner.terminate(hosts: Dictionary(uniqueKeysWithValues: lost.compactMap { host in host.providerRef.map { (host.id, $0) } }))
    }
}
