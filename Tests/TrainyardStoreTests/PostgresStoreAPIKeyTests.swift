import Foundation
import PostgresNIO
import Testing
import TrainyardCore
import TrainyardTestSupport

@testable import TrainyardStore

/// PostgreSQL's key storage and the key cache in front of it; what every project repository does is in
/// ProjectRepositoryContractTests.
@Suite struct PostgresStoreAPIKeyTests {
    @Test func onlyAKeysHashIsStored() async throws {
        try await TestPostgres.withStore { store in
            let (project, _, _) = try await store.createProject(name: "team")
            let (_, token) = try await store.createAPIKey(project: project, role: .member, name: "ci")
            let stored = try await store.client.query("SELECT secret_hash FROM api_keys WHERE id = \(token.id)").decode(String.self).array()
            #expect(stored.count == 1 && !stored[0].contains(token.secret))
        }
    }

    @Test func aDeletedKeyNoLongerAuthenticates() async throws {
        try await TestPostgres.withStore { store in
            let (project, _, _) = try await store.createProject(name: "team")
            let (record, token) = try await store.createAPIKey(project: project, role: .viewer, name: nil)
            #expect(try await store.deleteAPIKey(id: record.id, projectID: project.id + 1) == false)
            #expect(try await store.authenticate(token)?.role == .viewer)  // now cached
            #expect(try await store.deleteAPIKey(id: record.id, projectID: project.id))
            #expect(try await store.authenticate(token) == nil)
        }
    }

    @Test func theConfiguredAdminKeyReplacesAnOlderSecretOfTheSameID() async throws {
        try await TestPostgres.withStore { store in
            let project = try await store.ensureBootstrapProject()
            let old = try #require(APIKeyToken.parse("ADMINKEY01.first-secret"))
            let new = try #require(APIKeyToken.parse("ADMINKEY01.second-secret"))
            try await store.installAdminKey(old, project: project)
            #expect(try await store.authenticate(old)?.role == .admin)  // now cached: the new hash must replace it
            try await store.installAdminKey(new, project: project)
            #expect(try await store.authenticate(old) == nil)
            #expect(try await store.authenticate(new)?.role == .admin)
        }
    }

    @Test func aKeyReadOnceIsCheckedAgainstItsCachedHashUntilForgotten() async throws {
        try await TestPostgres.withStore { store in
            let (project, _, _) = try await store.createProject(name: "team")
            let (_, token) = try await store.createAPIKey(project: project, role: .member, name: nil)
            #expect(try await store.authenticate(token)?.role == .member)
            // Gone from the table behind the store's back (as another replica's delete would be): the cache still
            // answers, and still checks the secret.
            try await store.client.query("DELETE FROM api_keys WHERE id = \(token.id)")
            #expect(try await store.authenticate(token)?.role == .member)
            let wrong = try #require(APIKeyToken(id: token.id, secret: token.secret + "x"))
            #expect(try await store.authenticate(wrong) == nil)
            // What the key-change notification does: from then on the table decides.
            store.keyCache.forget(id: token.id)
            #expect(try await store.authenticate(token) == nil)
        }
    }

    @Test func withoutACacheEveryRequestReadsTheKey() async throws {
        try await TestPostgres.withStore { cached in
            let store = PostgresStore(client: cached.client, logger: cached.logger, keyCache: APIKeyCache(timeToLive: .zero))
            let (project, _, _) = try await store.createProject(name: "team")
            let (_, token) = try await store.createAPIKey(project: project, role: .member, name: nil)
            #expect(try await store.authenticate(token)?.role == .member)
            try await store.client.query("DELETE FROM api_keys WHERE id = \(token.id)")
            #expect(try await store.authenticate(token) == nil)
        }
    }

    static func entry(_ id: String, at instant: ContinuousClock.Instant) throws -> APIKeyCache.Entry {
        let key = PostgresStore.StoredKey(id: id, projectID: 1, projectName: "p", role: .admin, hash: "h", lastUsedAt: nil)
        let verifier = try #require(APIKeyHasher().verifier(stored: APIKeyHasher().hash(secret: "s")))
        return APIKeyCache.Entry(key: key, verifier: verifier, fetchedAt: instant)
    }

    @Test func anEntryExpiresAfterItsTimeToLive() throws {
        let cache = APIKeyCache(timeToLive: .seconds(5))
        let ticket = cache.beginRead()
        cache.store(try Self.entry("KEY00001", at: ticket.at), readAt: ticket)
        #expect(cache.entry(id: "KEY00001", now: ticket.at + .seconds(4)) != nil)
        #expect(cache.entry(id: "KEY00001", now: ticket.at + .seconds(6)) == nil)
        #expect(cache.entry(id: "KEY00001", now: ticket.at + .seconds(1)) == nil)  // expired entries are dropped
    }

    @Test func aReadThatADeletionOvertookIsNotCached() throws {
        let cache = APIKeyCache(timeToLive: .seconds(60))
        // The read began, the key's deletion was announced (nothing was cached yet to forget), the read's answer came.
        let ticket = cache.beginRead()
        cache.forget(id: "KEY00001")
        cache.store(try Self.entry("KEY00001", at: ticket.at), readAt: ticket)
        #expect(cache.entry(id: "KEY00001") == nil)
        // Marking a forgotten key used does not bring it back.
        cache.markUsed(id: "KEY00001", at: Date())
        #expect(cache.entry(id: "KEY00001") == nil)
        // A read after the forget caches as usual.
        let later = cache.beginRead()
        cache.store(try Self.entry("KEY00001", at: later.at), readAt: later)
        #expect(cache.entry(id: "KEY00001") != nil)
    }

    @Test func aFullCacheMakesRoomAndStaysWithinItsCapacity() throws {
        let cache = APIKeyCache(timeToLive: .seconds(60), capacity: 3)
        for index in 0..<10 {
            let ticket = cache.beginRead()
            cache.store(try Self.entry("KEY0000\(index)", at: ticket.at), readAt: ticket)
        }
        #expect((0..<10).filter { cache.entry(id: "KEY0000\($0)") != nil }.count == 3)
        #expect(cache.entry(id: "KEY00009") != nil)  // the newest is kept
    }
}
