import Synchronization

/// Each project's queued jobs as this server last counted them, so that `TRAINYARD_MAX_QUEUED_JOBS` does not cost every
/// submission a count of the project's queue: counting up to the limit on each one made a project with 100,000 queued
/// jobs submit 12 times slower, and counting once a second from every submission that found the count old (8 at a
/// time under 8 clients) still took more of PostgreSQL than storing the jobs once 20,000 were queued (44 ms a count).
///
/// While a count is under half the limit, a submission is admitted without counting: the count plus what this server
/// admitted since stands for the queue for a while that grows with the room left (``trustedAge(count:limit:)``), and
/// when it is older one submission counts again while the others go on with it. Nearer the limit every submission
/// counts. The bound stays as soft as it was: other replicas' submissions are seen at the next count, and jobs that
/// left the queue meanwhile are still counted (the estimate errs high).
final class QueuedJobGauge: Sendable {
    private struct Reading {
        var count: Int
        var at: ContinuousClock.Instant
        /// A submission is counting the project's queue again; the others go on with this reading meanwhile.
        var recounting = false
    }

    private let readings = Mutex<[Int64: Reading]>([:])
    /// How long a count is trusted when the room left under the limit is the count itself (half the limit).
    let maximumAge: Duration
    /// The longest a count is trusted, however far from the limit.
    let longestAge: Duration

    init(maximumAge: Duration = .seconds(1), longestAge: Duration = .seconds(30)) {
        self.maximumAge = maximumAge
        self.longestAge = longestAge
    }

    /// How long a count of `count` queued jobs stands for the queue: `maximumAge` for each time the room left
    /// (`limit - count`) holds the count, at least `maximumAge` and at most `longestAge`. Far from the limit the
    /// queue would have to grow by many times its size before a later count could refuse anything.
    func trustedAge(count: Int, limit: Int) -> Duration {
        let room = Double(max(0, limit - count)) / Double(max(count, 1))
        let seconds = min(longestAge / .seconds(1), max(maximumAge / .seconds(1), maximumAge / .seconds(1) * room))
        return .seconds(seconds)
    }

    /// The project's queued jobs as far as the limit is concerned: this server's recent count plus one for each job it
    /// admitted since, or `count()` (the database's, up to `limit`) when that is old or near the limit. Counts the
    /// submission being made when it is admitted (the answer is below `limit`).
    func queued(projectID: Int64, limit: Int, now: ContinuousClock.Instant = .now, count: () async throws -> Int) async throws -> Int {
        let known: Int? = readings.withLock { readings in
            guard var reading = readings[projectID], reading.count < limit / 2 else { return nil }
            let fresh = now - reading.at < trustedAge(count: reading.count, limit: limit)
            guard fresh || reading.recounting else {
                // This submission counts again; the ones that arrive meanwhile go on with the old reading.
                readings[projectID]?.recounting = true
                return nil
            }
            reading.count += 1
            readings[projectID] = reading
            return reading.count - 1
        }
        if let known { return known }
        let counted: Int
        do {
            counted = try await count()
        } catch {
            readings.withLock { $0[projectID]?.recounting = false }
            throw error
        }
        readings.withLock { readings in
            readings[projectID] = Reading(count: counted < limit ? counted + 1 : counted, at: now)
            // Projects that stopped submitting are forgotten at the next count of another.
            if readings.count > 10_000 { readings = readings.filter { now - $0.value.at < self.longestAge } }
        }
        return counted
    }
}
