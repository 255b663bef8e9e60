import Synchronization
import TrainyardCore
import TrainyardProvisioning

/// A provisioner that starts nothing: it records what the controllers ask of it and answers what a test tells it to
/// (a launch refused, the backend's view of each host, its capacity, a reconciliation's findings).
final class FakeProvisioner: WorkerPoolProvisioner {
    let name = "fake"

    /// What the controllers asked, in order.
    struct Calls: Sendable {
        var launched: [PoolLaunchRequest] = []
        var terminated: [[String: String]] = []
        var reclaimed: [[String: String]] = []
        var ended: [Int64] = []
    }

    /// What the backend will answer.
    struct Answers: Sendable {
        var launchFailure: String?
        var states: [String: ProvisionedHostState] = [:]
        var capacity: [String: Capacity]?
        var reconcile = ReconcileReport()
    }

    private let state = Mutex<(calls: Calls, answers: Answers)>((Calls(), Answers()))

    var calls: Calls { state.withLock { $0.calls } }

    func answer(_ change: (inout Answers) -> Void) {
        state.withLock { change(&$0.answers) }
    }

    struct LaunchRefused: Error, CustomStringConvertible {
        var description: String
    }

    /// The reference the fake gives host `name` of the attempt: `fake:<attempt id>:<name>`.
    static func reference(attemptID: Int64, host name: String) -> String { "fake:\(attemptID):\(name)" }

    func launch(_ request: PoolLaunchRequest) async throws -> [String: String] {
        let failure = state.withLock { state in
            state.calls.launched.append(request)
            return state.answers.launchFailure
        }
        if let failure { throw LaunchRefused(description: failure) }
        return Dictionary(uniqueKeysWithValues: request.hosts.map { ($0.id, Self.reference(attemptID: request.attemptID, host: $0.name)) })
    }

    func terminate(hosts references: [String: String]) async {
        guard !references.isEmpty else { return }
        state.withLock { $0.calls.terminated.append(references) }
    }

    func observe(hosts references: [String: String]) async throws -> [String: ProvisionedHostState] {
        state.withLock { $0.answers.states.filter { references[$0.key] != nil } }
    }

    func reconcile(live: @Sendable (Set<Int64>) async throws -> Set<Int64>) async throws -> ReconcileReport {
        state.withLock { $0.answers.reconcile }
    }

    func currentCapacity(catalog: InstanceCatalog) async throws -> [String: Capacity]? {
        state.withLock { $0.answers.capacity }
    }

    func attemptEnded(attemptID: Int64) async {
        state.withLock { $0.calls.ended.append(attemptID) }
    }

    func reclaim(hosts references: [String: String]) async {
        state.withLock { $0.calls.reclaimed.append(references) }
    }
}
