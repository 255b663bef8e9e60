import Foundation
import Synchronization
import TrainyardCore

/// The API keys this process has read lately, so that a request does not cost a database round trip to authenticate.
///
/// An entry holds the stored (salted) hash, never the secret: every request's secret is still checked against it.
/// Entries live at most `timeToLive`; a key deleted or re-hashed by this process is forgotten at once, and one changed
/// by another replica is forgotten when its `trainyard_keys` notification arrives (``PostgresStore/keyChangedChannel``).
/// `timeToLive` bounds how long a replica that missed a notification (its listening connection was down) trusts a key.
public final class APIKeyCache: Sendable {
    struct Entry: Sendable {
        var key: PostgresStore.StoredKey
        var verifier: APIKeyHasher.Verifier
        var fetchedAt: ContinuousClock.Instant
    }

    /// How long an entry is trusted without reading the key again; 0 turns the cache off.
    public let timeToLive: Duration
    /// Keys beyond this many are not cached (each is at most a few hundred bytes; the bound keeps an attack of many
    /// valid keys from growing the process).
    let capacity: Int
    private let entries = Mutex<[String: Entry]>([:])

    public init(timeToLive: Duration = .seconds(10), capacity: Int = 10_000) {
        self.timeToLive = timeToLive
        self.capacity = capacity
    }

    func entry(id: String, now: ContinuousClock.Instant = .now) -> Entry? {
        entries.withLock { entries in
            guard let entry = entries[id] else { return nil }
            guard now - entry.fetchedAt < timeToLive else {
                entries[id] = nil
                return nil
            }
            return entry
        }
    }

    func store(_ entry: Entry) {
        guard timeToLive > .zero else { return }
        entries.withLock { entries in
            if entries.count >= capacity, entries[entry.key.id] == nil {
                // Full: drop what has expired; if nothing has, do not cache this one.
                let now = ContinuousClock.now
                entries = entries.filter { now - $0.value.fetchedAt < timeToLive }
                guard entries.count < capacity else { return }
            }
            entries[entry.key.id] = entry
        }
    }

    /// Forgets one key (deleted or re-hashed, here or on another replica).
    public func forget(id: String) {
        _ = entries.withLock { $0.removeValue(forKey: id) }
    }

    /// Forgets every key: after the notification listener reconnects, what changed meanwhile is unknown.
    public func forgetAll() {
        entries.withLock { $0.removeAll() }
    }
}
