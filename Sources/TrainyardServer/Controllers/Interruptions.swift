import Foundation
import Logging
import TrainyardProvisioning
import TrainyardStore

/// Reclaims hosts as a spot provider would, whoever asks (the admin interrupt call, a capacity cut, a backend that
/// announces a reclaim, as the local provisioner's simulated spot market does): the store stops the gang with the
/// notice period, then the provisioner delivers the notice.
struct Interruptions: Sendable {
    /// Attempts and hosts (the store, or its twin in tests).
    let attempts: any AttemptRepository
    let provisioner: any WorkerPoolProvisioner
    let noticeSeconds: Double
    let logger: Logger

    /// Reclaims one host; answers what the store made of it.
    func reclaim(_ hostID: String, reason: String, now: Date = Date()) async throws -> HostInterruption {
        let outcome = try await attempts.interruptHost(id: hostID, noticeSeconds: noticeSeconds, reason: reason, now: now)
        if case .interrupted(let host) = outcome {
            logger.warning("reclaiming host", metadata: ["job": "\(host.jobID)", "host": "\(host.id)", "reason": "\(reason)"])
            // A spot host's agent takes SIGTERM as the notice; an on-demand one learns of it from its next heartbeat.
            if host.spot, let reference = host.providerRef { await provisioner.reclaim(hosts: [host.id: reference]) }
        }
        return outcome
    }

    /// Reclaims each of `hosts` that still runs; answers how many were.
    func reclaim(_ hosts: [HostRecord], reason: String) async throws -> Int {
        var count = 0
        for host in hosts {
            if case .interrupted = try await reclaim(host.id, reason: reason) { count += 1 }
        }
        return count
    }
}
