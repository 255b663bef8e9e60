import Synchronization
import TrainyardCore

/// The secrets the SageMaker endpoint checks SigV4 with: the bootstrap admin key's, which the operator chose (or the
/// server generated) and the server holds, and every other key's, derived from the master key (``APIKeyMint``).
final class SigV4Secrets: Sendable {
    private let mint: APIKeyMint
    private let admin = Mutex<APIKeyToken?>(nil)

    init(mint: APIKeyMint) {
        self.mint = mint
    }

    /// Called once the bootstrap admin key is installed.
    func setAdmin(_ token: APIKeyToken) {
        admin.withLock { $0 = token }
    }

    /// The secret key `id` has if it exists: the admin key's own, else the one the master key derives. Whether a key
    /// of this id exists with this secret is for the key store to say.
    func secret(forID id: String) -> String {
        if let token = admin.withLock({ $0 }), token.id == id { return token.secret }
        return mint.secret(forID: id)
    }
}
