import Foundation
import PostgresNIO
import TrainyardCore

extension PostgresStore {
    public func createAPIKey(project: ProjectRecord, role: APIKeyRole, name: String?, now: Date) async throws -> (APIKeyRecord, APIKeyToken) {
        try await client.withConnection { connection in
            try await insertKey(on: connection, project: project, role: role, name: name, now: now)
        }
    }

    func insertKey(on connection: PostgresConnection, project: ProjectRecord, role: APIKeyRole, name: String?, now: Date) async throws -> (
        APIKeyRecord, APIKeyToken
    ) {
        let (token, key) = keyMint.mint(role: role)
        let hash = key.secretHash
        try await connection.query(
            """
            INSERT INTO api_keys (id, project_id, role, name, secret_hash, created_at)
            VALUES (\(token.id), \(project.id), \(role.rawValue), \(name), \(hash), \(now))
            """, logger: logger)
        let record = APIKeyRecord(id: token.id, projectID: project.id, projectName: project.name, role: role, name: name, createdAt: now)
        return (record, token)
    }

    public func installAdminKey(_ token: APIKeyToken, project: ProjectRecord, now: Date) async throws {
        if let stored = try await storedKey(id: token.id), stored.projectID == project.id,
            APIKeyHasher().verify(secret: token.secret, stored: stored.hash), stored.role == .admin
        {
            return
        }
        let hash = APIKeyHasher().hash(secret: token.secret)
        // One statement: the new hash and its announcement to every replica's key cache commit together.
        let rows = try await client.query(
            """
            WITH installed AS (
                INSERT INTO api_keys (id, project_id, role, name, secret_hash, created_at)
                VALUES (\(token.id), \(project.id), 'admin', 'bootstrap admin', \(hash), \(now))
                ON CONFLICT (id) DO UPDATE SET project_id = EXCLUDED.project_id, role = 'admin', secret_hash = EXCLUDED.secret_hash
                RETURNING id
            )
            SELECT pg_notify(\(Self.keyChangedChannel), id) FROM installed
            """, logger: logger)
        for try await _ in rows {}
        keyCache.forget(id: token.id)
    }

    /// A key read in the last ``APIKeyCache/timeToLive`` is checked against the cached hash without a round trip.
    public func authenticate(_ token: APIKeyToken, now: Date) async throws -> Principal? {
        let entry: APIKeyCache.Entry
        if let cached = keyCache.entry(id: token.id) {
            entry = cached
        } else {
            let ticket = keyCache.beginRead()
            guard let stored = try await storedKey(id: token.id) else {
                // Hash anyway so that an unknown id costs as much time as a wrong secret.
                _ = APIKeyHasher().verify(secret: token.secret, stored: Self.decoyHash)
                return nil
            }
            guard let verifier = APIKeyHasher().verifier(stored: stored.hash) else { return nil }
            entry = APIKeyCache.Entry(key: stored, verifier: verifier, fetchedAt: ticket.at)
            keyCache.store(entry, readAt: ticket)
        }
        guard entry.verifier.verify(secret: token.secret) else { return nil }
        if entry.key.lastUsedAt.map({ now.timeIntervalSince($0) > keyUseRecordingInterval }) ?? true {
            try await client.query("UPDATE api_keys SET last_used_at = \(now) WHERE id = \(token.id)", logger: logger)
            keyCache.markUsed(id: token.id, at: now)
        }
        let stored = entry.key
        return Principal(keyID: stored.id, projectID: stored.projectID, projectName: stored.projectName, role: stored.role)
    }

    /// The channel on which a key's deletion or new hash is announced (payload: the key id), so that every replica's
    /// ``APIKeyCache`` forgets it.
    public static let keyChangedChannel = "trainyard_keys"

    /// A hash no secret matches, checked for unknown ids so they cost what a wrong secret costs.
    static let decoyHash = APIKeyHasher().hash(secret: "decoy")

    struct StoredKey: Sendable {
        var id: String
        var projectID: Int64
        var projectName: String
        var role: APIKeyRole
        var hash: String
        var lastUsedAt: Date?
    }

    func storedKey(id: String) async throws -> StoredKey? {
        let rows = try await client.query(
            """
            SELECT k.id, k.project_id, p.name, k.role, k.secret_hash, k.last_used_at
            FROM api_keys k JOIN projects p ON p.id = k.project_id WHERE k.id = \(id)
            """, logger: logger)
        for try await (id, projectID, projectName, role, hash, lastUsed) in rows.decode((String, Int64, String, String, String, Date?).self) {
            guard let role = APIKeyRole(rawValue: role) else { return nil }
            return StoredKey(id: id, projectID: projectID, projectName: projectName, role: role, hash: hash, lastUsedAt: lastUsed)
        }
        return nil
    }

    public func apiKeys(projectID: Int64) async throws -> [APIKeyRecord] {
        let rows = try await client.query(
            """
            SELECT k.id, k.project_id, p.name, k.role, k.name, k.created_at, k.last_used_at
            FROM api_keys k JOIN projects p ON p.id = k.project_id WHERE k.project_id = \(projectID)
            ORDER BY k.created_at, k.id
            """, logger: logger)
        var keys: [APIKeyRecord] = []
        for try await (id, projectID, projectName, role, name, created, lastUsed) in rows.decode(
            (String, Int64, String, String, String?, Date, Date?).self)
        {
            guard let role = APIKeyRole(rawValue: role) else { continue }
            keys.append(APIKeyRecord(id: id, projectID: projectID, projectName: projectName, role: role, name: name, createdAt: created, lastUsedAt: lastUsed))
        }
        return keys
    }

    public func deleteAPIKey(id: String, projectID: Int64) async throws -> Bool {
        // The notification goes out at commit, to every replica's key cache; this one's forgets at once.
        let rows = try await client.query(
            """
            WITH deleted AS (DELETE FROM api_keys WHERE id = \(id) AND project_id = \(projectID) RETURNING id)
            SELECT pg_notify(\(Self.keyChangedChannel), id) FROM deleted
            """, logger: logger)
        var deleted = false
        for try await _ in rows { deleted = true }
        keyCache.forget(id: id)
        return deleted
    }
}
