import Foundation

/// An API key as Trainyard stores it: the id, the role and a salted hash of the secret,
/// never the secret itself.
public struct APIKey: Sendable, Hashable, Codable {
    /// The key's public id.
    public var id: String
    /// What the key may do.
    public var role: APIKeyRole
    /// ``APIKeyHasher``'s `v1$<salt>$<hash>` of the secret.
    public var secretHash: String

    /// Characters of a generated id.
    static let idAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    /// Length of a generated id.
    public static let generatedIDLength = 20
    /// Random bytes in a generated secret (43 characters of base64url).
    public static let secretByteCount = 32

    /// Creates a stored key.
    public init(id: String, role: APIKeyRole, secretHash: String) {
        self.id = id
        self.role = role
        self.secretHash = secretHash
    }

    private enum CodingKeys: String, CodingKey {
        case id
        case role
        case secretHash = "secret_hash"
    }

    /// Generates a new key with the system's secure random generator: the token to show the
    /// user once, and the key to store.
    public static func generate(role: APIKeyRole) -> (token: APIKeyToken, key: APIKey) {
        var generator = SystemRandomNumberGenerator()
        return generate(role: role, using: &generator)
    }

    /// Generates a new key with `generator` (tests pass a seeded one).
    public static func generate(
        role: APIKeyRole,
        using generator: inout some RandomNumberGenerator
    ) -> (token: APIKeyToken, key: APIKey) {
        let id = randomID(using: &generator)
        let secret = base64URL(randomBytes(count: secretByteCount, using: &generator))
        let hash = APIKeyHasher().hash(secret: secret, using: &generator)
        // Both parts are built from their alphabets above, so the token is always valid.
        guard let token = APIKeyToken(id: id, secret: secret) else {
            preconditionFailure("generated API key \(id) has an invalid shape")
        }
        return (token, APIKey(id: id, role: role, secretHash: hash))
    }

    /// A generated id: ``generatedIDLength`` characters of ``idAlphabet`` from `generator`.
    static func randomID(using generator: inout some RandomNumberGenerator) -> String {
        String((0..<generatedIDLength).map { _ in idAlphabet[Int.random(in: 0..<idAlphabet.count, using: &generator)] })
    }

    /// `count` random bytes from `generator`.
    static func randomBytes(count: Int, using generator: inout some RandomNumberGenerator) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    /// Unpadded base64url.
    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
