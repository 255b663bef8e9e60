import Synchronization
import TrainyardCore

/// The SSE followers of job logs on this replica, each with a doorbell: rung when lines of its job were stored
/// (`trainyard_logs` notifications, from whichever replica ingested them) or when its job changed state
/// (`trainyard_jobs`), so a follower sleeps until there is something to send instead of polling.
final class LogFollowers: Sendable {
    private struct Follower {
        var jobID: Int64
        var jobName: String
        var doorbell: Doorbell
    }

    private let followers = Mutex<[Int: Follower]>([:])
    private let nextToken = Atomic<Int>(0)

    /// Registers a follower of a job; the returned doorbell rings on its job's news until ``remove(_:)``.
    func add(jobID: Int64, jobName: String) -> (token: Int, doorbell: Doorbell) {
        let token = nextToken.wrappingAdd(1, ordering: .relaxed).newValue
        let doorbell = Doorbell()
        followers.withLock { $0[token] = Follower(jobID: jobID, jobName: jobName, doorbell: doorbell) }
        return (token, doorbell)
    }

    func remove(_ token: Int) {
        _ = followers.withLock { $0.removeValue(forKey: token) }
    }

    /// Lines of the job were stored.
    func linesStored(jobID: Int64) {
        ring { $0.jobID == jobID }
    }

    /// A job of this name changed state (names are unique per project only: a follower of a same-named job of another
    /// project wakes for nothing, which costs one query).
    func jobChanged(name: String) {
        ring { $0.jobName == name }
    }

    /// Notifications may have been missed (the listening connection was re-opened): everyone looks again.
    func ringAll() {
        ring { _ in true }
    }

    private func ring(_ matches: (Follower) -> Bool) {
        let doorbells = followers.withLock { $0.values.filter(matches).map(\.doorbell) }
        for doorbell in doorbells { doorbell.ring() }
    }
}
