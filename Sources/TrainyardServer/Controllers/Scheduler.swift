import Foundation
import Logging
import TrainyardCore
import TrainyardProvisioning
import TrainyardStore

/// Gives queued jobs their hosts (gang scheduling, priority then submission order, under one advisory lock across
/// replicas) and has the provisioner start their agents.
struct Scheduler: Sendable {
    let store: PostgresStore
    let catalog: InstanceCatalog
    let provisioner: any WorkerPoolProvisioner
    let settings: WorkerSettings
    let address: ServerAddress
    let logger: Logger

    func runOnce(now: Date = Date()) async throws {
        guard let serverURL = address.value else { return }
        let catalog = self.catalog
        // The provisioner's own count where it has one (Slurm's nodes from sinfo), else the configured capacity.
        let current = try await provisioner.currentCapacity(catalog: catalog)
        let plans = try await store.schedule(
            capacity: { current?[$0] ?? catalog.capacity(of: $0) }, provisioner: provisioner.name, launchLeaseSeconds: settings.launchTimeout, now: now)
        for plan in plans {
            let request = PoolLaunchRequest(
                jobName: plan.jobName, attemptNumber: plan.attemptNumber, instanceType: plan.instanceType, spot: plan.spot,
                hosts: plan.hosts.map { HostLaunchRequest(id: $0.id, name: $0.name, token: $0.token) }, serverURL: serverURL,
                attemptID: plan.attemptID)
            do {
                let references = try await provisioner.launch(request)
                for (hostID, reference) in references {
                    try await store.setProvisionerReference(hostID: hostID, reference: reference)
                }
                logger.info("launched attempt", metadata: ["job": "\(plan.jobName)", "attempt": "\(plan.attemptNumber)", "hosts": "\(plan.hosts.count)"])
            } catch {
                // The hosts never call in; their launch lease runs out and the attempt fails as an infrastructure error.
                logger.error("launching hosts failed", metadata: ["job": "\(plan.jobName)", "attempt": "\(plan.attemptNumber)", "error": "\(error)"])
            }
        }
    }
}
