import Synchronization
import TrainyardCore
import TrainyardStore

/// Each running job's compiled `metric_definitions`, built on the job's first log batch and kept while its lines
/// arrive (a job's spec never changes, so there is nothing to invalidate); bounded by dropping all on overflow.
final class MetricExtractors: Sendable {
    private let cache = Mutex<[Int64: MetricExtractor]>([:])
    static let capacity = 1024

    func extractor(jobID: Int64, store: PostgresStore) async throws -> MetricExtractor {
        if let cached = cache.withLock({ $0[jobID] }) { return cached }
        let extractor = MetricExtractor(try await store.job(id: jobID)?.spec.metricDefinitions ?? [])
        cache.withLock { cache in
            if cache.count >= Self.capacity { cache.removeAll() }
            cache[jobID] = extractor
        }
        return extractor
    }
}
