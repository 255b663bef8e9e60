import Synchronization

/// Each project's queued jobs as this server last counted them, so that `TRAINYARD_MAX_QUEUED_JOBS` does not cost every
/// submission a count of the project's queue: counting up to the limit on each one made a project with 100,000 queued
/// jobs submit 12 times slower. While a recent count (at most `maximumAge` old, plus what this server admitted since)
/// is under half the limit, a submission is admitted without counting; nearer the limit, or with an older count, the
/// database counts again. The bound stays as soft as it was (other replicas' submissions are seen at the next count),
/// and a count is never lower than the database's but for jobs that other replicas queued meanwhile.
final class QueuedJobGauge: Sendable {
    private let readings = Mutex<[Int64: (count: Int, at: ContinuousClock.Instant)]>([:])
    let maximumAge: Duration

    init(maximumAge: Duration = .seconds(1)) {
        self.maximumAge = maximumAge
    }

    /// The project's queued jobs as far as the limit is concerned: this server's recent count plus one for each job it
    /// admitted since, or `count()` (the database's, up to `limit`) when that is old or near the limit. Counts the
    /// submission being made when it is admitted (the answer is below `limit`).
    func queued(projectID: Int64, limit: Int, now: ContinuousClock.Instant = .now, count: () async throws -> Int) async throws -> Int {
        let known: Int? = readings.withLock { readings in
            guard let reading = readings[projectID], now - reading.at < maximumAge, reading.count < limit / 2 else { return nil }
            readings[projectID]?.count += 1
            return reading.count
        }
        if let known { return known }
        let counted = try await count()
        readings.withLock { readings in
            readings[projectID] = (counted < limit ? counted + 1 : counted, now)
            // Projects that stopped submitting are forgotten at the next count of another.
            if readings.count > 10_000 { readings = readings.filter { now - $0.value.at < self.maximumAge } }
        }
        return counted
    }
}
