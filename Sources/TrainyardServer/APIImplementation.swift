public import Foundation
import Logging
package import TrainyardAPI
import TrainyardCore
import TrainyardObjectStore
import TrainyardStore

/// Doorbells of this replica's controllers, rung by requests: a created job wakes the scheduler and the webhook
/// sender (its `job.created` deliveries), a redelivery the sender.
struct LocalWakeUps: Sendable {
    var scheduling = Doorbell()
    var webhooks = Doorbell()
}

/// The generated `APIProtocol`, thin: unpack the input, call Core or the store, map to the typed output. The
/// operations live in `APIImplementation+<tag>.swift`.
struct APIImplementation: APIProtocol {
    /// Whether the database answers (readiness).
    let databaseAnswers: @Sendable () async -> Bool
    /// Projects, their keys and their location grants.
    let projects: any ProjectRepository
    /// Jobs as their owners submit, read and stop them.
    let jobs: any JobRepository
    /// Jobs' log lines and metrics.
    let logs: any LogRepository
    /// Webhook subscriptions and their delivery log.
    let webhooks: any WebhookRepository
    /// Jobs' attempts and hosts.
    let attempts: any AttemptRepository
    /// The scheduling queue and the capacity set at run time.
    let queue: any SchedulingQueue
    /// The agents' protocol (`/v1/agent/*`).
    let agent: AgentOperations
    let catalog: InstanceCatalog
    /// The pool's capacity as this replica last read it: gangs are judged against it.
    let capacity: CapacityView
    let readiness: Readiness
    /// Jobs' ARNs.
    let arns: JobARNs
    /// Seconds between SIGTERM and SIGKILL when a job is stopped.
    let stopGrace: Double
    /// This replica's log followers (SSE), woken by notifications.
    let followers: LogFollowers
    /// This replica's controllers to wake when a request changed something they act on.
    let wakeUps: LocalWakeUps
    /// Which webhook URLs are accepted.
    let webhookPolicy: WebhookURLPolicy
    /// Reclaims hosts (the admin interrupt call, capacity cuts).
    let interruptions: Interruptions
    /// What the provisioner that runs this server's jobs implements; job specs are validated against it.
    let provisioner: ProvisionerCapabilities
    /// Reads and writes the objects the API streams: code archives in, model and output archives out.
    let objects: ObjectLocation
    /// Where jobs without an `output_path` write: `s3://<this>/<project>`.
    var defaultOutputBucket = "trainyard"
    /// Locations granted to projects by `TRAINYARD_PROJECT_LOCATIONS`, beside the stored grants.
    var configuredLocationGrants: [String: [LocationGrant]] = [:]
    /// Per-project and per-key limits (queued jobs, webhook subscriptions, log streams).
    var limits = RequestLimits()
    /// Recent counts of each project's queued jobs, for `limits.queuedJobsPerProject`.
    let queuedJobs = QueuedJobGauge()
    /// The log streams open on this server, per API key.
    var followerSlots = FollowerSlots()
    /// `GET /metrics`: the service's registry and what a scrape reads beside the repositories.
    var monitoring = Monitoring()
    /// For what operators follow (submissions, stops); each line carries its request's id.
    var logger = Logger(label: "trainyard")

    /// The caller, who must hold one of `roles`.
    func principal(allowing allowed: (APIKeyRole) -> Bool, action: String) throws -> Principal {
        let principal = try RequestPrincipal.required()
        guard allowed(principal.role) else {
            throw APIError.forbidden(detail: "a \(principal.role.rawValue) key cannot \(action)")
        }
        return principal
    }
}

extension APIImplementation {
    func getHealthz(_ input: Operations.GetHealthz.Input) async throws -> Operations.GetHealthz.Output {
        .ok(.init(body: .json(.init(status: .ok))))
    }

    func getReadyz(_ input: Operations.GetReadyz.Input) async throws -> Operations.GetReadyz.Output {
        guard readiness.isReady else {
            if readiness.isRecovering {
                throw APIError.unavailable(detail: "the embedded database exited and is being restarted; retry shortly")
            }
            throw APIError.unavailable(detail: "starting: migrations and the bootstrap key are not done yet")
        }
        guard await databaseAnswers() else {
            throw APIError.unavailable(detail: "the database does not answer")
        }
        return .ok(.init(body: .json(.init(status: .ready))))
    }

    func listInstanceTypes(_ input: Operations.ListInstanceTypes.Input) async throws -> Operations.ListInstanceTypes.Output {
        _ = try RequestPrincipal.required()
        let pool = try await currentPool()
        let types = catalog.all.map { shape in
            let capacity = pool.capacity(of: shape.name)
            return Components.Schemas.InstanceType(
                name: shape.name, vcpus: shape.vcpus, gpus: shape.gpus, memoryGib: shape.memoryGiB,
                capacity: .init(onDemand: capacity.onDemand, spot: capacity.spot))
        }
        return .ok(.init(body: .json(.init(instanceTypes: types))))
    }
}
