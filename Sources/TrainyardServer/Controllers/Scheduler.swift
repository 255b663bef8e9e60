import Foundation
import Logging
import Metrics
import TrainyardCore
import TrainyardProvisioning
import TrainyardStore

/// Gives queued jobs their hosts (gang scheduling, priority then submission order, under one advisory lock across
/// replicas) and has the provisioner start their agents.
struct Scheduler: Sendable {
    /// The queue this pass reads, and the attempts and hosts it starts (the store, or its twin in tests).
    let queue: any SchedulingQueue
    let attempts: any AttemptRepository
    let catalog: InstanceCatalog
    /// Where this pass leaves what it read of the pool's capacity, for the API.
    let capacity: CapacityView
    let provisioner: any WorkerPoolProvisioner
    let settings: WorkerSettings
    let address: ServerAddress
    let logger: Logger
    /// Where the pass's duration is recorded (``ServerMetrics/schedulerPassDuration``): the process's metrics system
    /// unless a test gives its own.
    var metrics: any MetricsFactory = MetricsSystem.factory

    func runOnce(now: Date = Date()) async throws {
        guard let serverURL = address.value else { return }
        let catalog = self.catalog
        // The provisioner's own count where it has one (Slurm's nodes from sinfo), else the configured capacity; the
        // store puts the admins' overrides over it as it reads them in the pass's transaction.
        let reported = try await provisioner.currentCapacity(catalog: catalog)
        capacity.update(reported: reported)
        let started = ContinuousClock.now
        let plans = try await queue.schedule(
            capacity: PoolCapacity(catalog: catalog, reported: reported), provisioner: provisioner.name, launchLeaseSeconds: settings.launchTimeout, now: now,
            readOverrides: { [capacity] in capacity.update(overrides: $0) })
        Timer(label: ServerMetrics.schedulerPassDuration, factory: metrics).record(duration: ContinuousClock.now - started)
        for plan in plans {
            let request = PoolLaunchRequest(
                jobName: plan.jobName, attemptNumber: plan.attemptNumber, instanceType: plan.instanceType, spot: plan.spot,
                hosts: plan.hosts.map { HostLaunchRequest(id: $0.id, name: $0.name, token: $0.token) }, serverURL: serverURL,
                attemptID: plan.attemptID, volumeSizeGiB: plan.volumeSize, projectName: plan.projectName)
            do {
                let references = try await provisioner.launch(request)
                for (hostID, reference) in references {
                    try await attempts.setProvisionerReference(hostID: hostID, reference: reference)
                }
                logger.info("launched attempt", metadata: ["job": "\(plan.jobName)", "attempt": "\(plan.attemptNumber)", "hosts": "\(plan.hosts.count)"])
            } catch {
                // The hosts will never call in: they are lost now, with the provisioner's reason (the agent is missing,
                // `sbatch` refused), rather than when their launch lease runs out.
                let text = "\(error)"
                let reason = text.hasPrefix("InternalServerError") ? text : "InternalServerError: starting the hosts failed: \(text)"
                logger.error("launching hosts failed", metadata: ["job": "\(plan.jobName)", "attempt": "\(plan.attemptNumber)", "error": "\(error)"])
                let lost = try await attempts.failLaunch(hostIDs: plan.hosts.map(\.id), reason: String(reason.prefix(1024)), now: now)
                await provisioner.terminate(hosts: Dictionary(uniqueKeysWithValues: lost.compactMap { host in host.providerRef.map { (host.id, $0) } }))
            }
        }
    }
}
