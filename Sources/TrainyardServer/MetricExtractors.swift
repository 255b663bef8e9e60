import Dispatch
import Logging
import Synchronization
import TrainyardCore
import TrainyardStore

/// Each running job's compiled `metric_definitions`, built on the job's first log batch and kept while its lines
/// arrive (a job's spec never changes, so there is nothing to invalidate); bounded by dropping all on overflow.
///
/// The regexes are the tenant's: they run on one dedicated serial queue, never on the cooperative pool that answers
/// requests and heartbeats, and a batch gets at most ``batchBudget`` of it. A job whose batch runs out of time has its
/// extraction stopped for good (one job event says why); its lines are still stored.
final class MetricExtractors: Sendable {
    private struct Entry {
        var extractor: MetricExtractor
        var stopped = false
    }

    private let cache = Mutex<[Int64: Entry]>([:])
    private let queue = DispatchQueue(label: "trainyard.metric-extraction")
    static let capacity = 1024
    /// The most one log batch may spend on a job's regexes.
    let batchBudget: Duration

    init(batchBudget: Duration = .milliseconds(250)) {
        self.batchBudget = batchBudget
    }

    /// The metric points of `records` for the host's job; stops the job's extraction (and says so in its events) when a
    /// batch overruns its budget.
    func points(for records: [LogRecord], host: HostRecord, jobs: any JobRepository, logger: Logger) async throws -> [MetricPointInput] {
        let entry = try await entry(jobID: host.jobID, jobs: jobs)
        guard !entry.stopped, !entry.extractor.isEmpty, !records.isEmpty else { return [] }
        let budget = batchBudget
        let (points, timedOut) = await withCheckedContinuation { (continuation: CheckedContinuation<([MetricPointInput], Bool), Never>) in
            queue.async {
                let deadline = ContinuousClock.now + budget
                var points: [MetricPointInput] = []
                for record in records {
                    let extraction = entry.extractor.values(in: record.message, deadline: deadline)
                    points += extraction.values.map { MetricPointInput(name: $0.name, timeMicros: record.timeMicros, value: $0.value) }
                    if extraction.timedOut {
                        continuation.resume(returning: (points, true))
                        return
                    }
                }
                continuation.resume(returning: (points, false))
            }
        }
        if timedOut {
            let first = cache.withLock { cache -> Bool in
                guard cache[host.jobID]?.stopped == false else { return false }
                cache[host.jobID]?.stopped = true
                return true
            }
            if first {
                logger.warning(
                    "metric extraction stopped", metadata: ["job": "\(host.jobID)", "host": "\(host.name)", "budget": "\(budget)"])
                try await jobs.noteJob(
                    jobID: host.jobID, type: .metricExtractionStopped,
                    message: "Metric extraction stopped: the metric_definitions regexes took longer than \(Self.describe(budget)) on one "
                        + "batch of log lines. Lines are still stored; no more metric points are extracted for this job. "
                        + "Use simpler regexes (no .* before the value; anchor on the metric's name).")
            }
        }
        return points
    }

    private func entry(jobID: Int64, jobs: any JobRepository) async throws -> Entry {
        if let cached = cache.withLock({ $0[jobID] }) { return cached }
        let entry = Entry(extractor: MetricExtractor(try await jobs.job(id: jobID)?.spec.metricDefinitions ?? []))
        return cache.withLock { cache in
            if let raced = cache[jobID] { return raced }
            if cache.count >= Self.capacity { cache.removeAll() }
            cache[jobID] = entry
            return entry
        }
    }

    static func describe(_ duration: Duration) -> String {
        let milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        return "\(milliseconds) ms"
    }
}
