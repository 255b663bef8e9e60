import Crypto
import Foundation

/// Makes API keys whose secrets follow from the service's master key and the key's id.
///
/// The database keeps only a hash of each secret (``APIKeyHasher``), which is all a bearer token needs. AWS Signature
/// V4 is different: the server must compute the same HMAC chain as the client, from the secret itself. A minted key's
/// secret is `base64url(HMAC-SHA256(master key, "trainyard-api-key-secret/v1/" + id))`, so the server can compute it
/// again from the id alone, while a copy of the database (hashes only) still gives no secret away. Keys made under
/// another master key (before it was changed) keep working as bearer tokens; only their SigV4 stops.
public struct APIKeyMint: Sendable {
    /// The bytes every secret is derived from.
    private let masterKey: [UInt8]

    /// The least number of bytes a master key may have.
    public static let minimumKeyBytes = 32
    /// What the derivation's message begins with (a version, so that a later scheme cannot collide).
    static let derivationLabel = "trainyard-api-key-secret/v1/"

    /// A mint over `masterKey`'s bytes; nil when it has fewer than ``minimumKeyBytes``.
    public init?(masterKey: [UInt8]) {
        guard masterKey.count >= Self.minimumKeyBytes else { return nil }
        self.masterKey = masterKey
    }

    /// A mint with a master key of its own, drawn from the system's secure generator: its keys' secrets can be derived
    /// only by this value (tests and stores that never check SigV4).
    public static func ephemeral() -> APIKeyMint {
        guard let mint = APIKeyMint(masterKey: newMasterKey()) else { preconditionFailure("a master key of \(minimumKeyBytes) bytes was refused") }
        return mint
    }

    /// A new master key: ``minimumKeyBytes`` bytes from the system's secure generator.
    public static func newMasterKey() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return APIKey.randomBytes(count: minimumKeyBytes, using: &generator)
    }

    /// The secret of key `id`: 43 characters of base64url, the shape of every generated secret.
    public func secret(forID id: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data((Self.derivationLabel + id).utf8), using: SymmetricKey(data: masterKey))
        return APIKey.base64URL(Array(code))
    }

    /// A new key of `role` with a random id and the secret that id derives: the token to show once, and the key to store.
    public func mint(role: APIKeyRole) -> (token: APIKeyToken, key: APIKey) {
        var generator = SystemRandomNumberGenerator()
        return mint(role: role, using: &generator)
    }

    /// A new key with its id (and hash salt) drawn from `generator`.
    public func mint(role: APIKeyRole, using generator: inout some RandomNumberGenerator) -> (token: APIKeyToken, key: APIKey) {
        let id = APIKey.randomID(using: &generator)
        let secret = secret(forID: id)
        // Both parts are built from their alphabets, so the token is always valid.
        guard let token = APIKeyToken(id: id, secret: secret) else {
            preconditionFailure("minted API key \(id) has an invalid shape")
        }
        return (token, APIKey(id: id, role: role, secretHash: APIKeyHasher().hash(secret: secret, using: &generator)))
    }
}
