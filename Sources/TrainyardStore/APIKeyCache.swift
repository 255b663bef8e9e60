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
    /// Keys beyond this many are not all kept (each is a few hundred bytes; the bound keeps an attack of many valid
    /// keys from growing the process): a new one then takes an arbitrary old one's place.
    let capacity: Int
    private let state = Mutex<State>(State())

    private struct State {
        var entries: [String: Entry] = [:]
        /// Counts every forget: a key read from the table is stored only if nothing was forgotten since the read
        /// began, so that a deletion announced while the read was on its way is never undone by it.
        var forgets: UInt64 = 0
    }

    public init(timeToLive: Duration = .seconds(10), capacity: Int = 10_000) {
        self.timeToLive = timeToLive
        self.capacity = capacity
    }

    /// The cached key `id`, when it was read less than `timeToLive` ago.
    func entry(id: String, now: ContinuousClock.Instant = .now) -> Entry? {
        state.withLock { state in
            guard let entry = state.entries[id] else { return nil }
            guard now - entry.fetchedAt < timeToLive else {
                state.entries[id] = nil
                return nil
            }
            return entry
        }
    }

    /// Taken before reading a key from the table; ``store(_:readAt:)`` needs it.
    func beginRead() -> ReadTicket {
        ReadTicket(forgets: state.withLock { $0.forgets }, at: .now)
    }

    struct ReadTicket {
        fileprivate let forgets: UInt64
        /// When the read began: the entry's age counts from here, not from when the answer came.
        let at: ContinuousClock.Instant
    }

    /// Caches a key read from the table, unless some key was forgotten since `ticket` was taken (its deletion may
    /// have been announced while the read was on its way; the next request reads it again).
    func store(_ entry: Entry, readAt ticket: ReadTicket) {
        guard timeToLive > .zero else { return }
        state.withLock { state in
            guard state.forgets == ticket.forgets else { return }
            if state.entries.count >= capacity, state.entries[entry.key.id] == nil, let victim = state.entries.keys.first {
                state.entries[victim] = nil
            }
            state.entries[entry.key.id] = entry
        }
    }

    /// Records that the key was just used, on its cached entry if it is still there (never bringing back one forgotten).
    func markUsed(id: String, at date: Date) {
        state.withLock { state in state.entries[id]?.key.lastUsedAt = date }
    }

    /// Forgets one key (deleted or re-hashed, here or on another replica).
    public func forget(id: String) {
        state.withLock { state in
            state.entries[id] = nil
            state.forgets &+= 1
        }
    }

    /// Forgets every key: after the notification listener reconnects, what changed meanwhile is unknown.
    public func forgetAll() {
        state.withLock { state in
            state.entries.removeAll()
            state.forgets &+= 1
        }
    }
}
