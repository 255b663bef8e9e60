import Foundation
import Logging
import TrainyardCore

/// The master key API key secrets are derived from (``APIKeyMint``): `TRAINYARD_MASTER_KEY` when given, else the key in
/// `<data dir>/master-key`, else a new one written there (mode 0600).
///
/// The SageMaker endpoint checks AWS Signature V4, which needs each key's secret while the database keeps only hashes:
/// the secret is derived again from this key and the key's id. Replicas that share a database must share it too.
enum ServerMasterKey {
    /// The file in the data directory.
    static let fileName = "master-key"
    static let setting = "TRAINYARD_MASTER_KEY"

    /// The mint over the configured, stored or new master key.
    static func load(configured: String?, dataDirectory: String, sharedDatabase: Bool, logger: Logger) throws -> APIKeyMint {
        if let configured {
            guard let mint = APIKeyMint(masterKey: Array(configured.utf8)) else {
                throw ConfigurationError.invalid(
                    key: setting, value: "(hidden, \(configured.utf8.count) bytes)",
                    expected: "at least \(APIKeyMint.minimumKeyBytes) bytes of secret text (`openssl rand -base64 32` makes one)")
            }
            return mint
        }
        let path = (dataDirectory as NSString).appendingPathComponent(fileName)
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            guard let bytes = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)), let mint = APIKeyMint(masterKey: Array(bytes)) else {
                throw ConfigurationError.unreadable(
                    key: "TRAINYARD_DATA_DIR", path: path,
                    reason: "not base64 of \(APIKeyMint.minimumKeyBytes) or more bytes; restore it from a backup, or remove it (keys made before then lose SigV4, not their bearer use)")
            }
            return mint
        }
        let bytes = APIKeyMint.newMasterKey()
        try SecretFile.create(path: path, contents: Data(bytes).base64EncodedString() + "\n", setting: "TRAINYARD_DATA_DIR", what: "master key")
        if sharedDatabase {
            logger.warning(
                "generated a master key for this replica only: replicas that share TRAINYARD_DATABASE_URL must share TRAINYARD_MASTER_KEY, or SigV4 fails for keys made on another",
                metadata: ["path": "\(path)"])
        } else {
            logger.notice("generated the master key API key secrets are derived from", metadata: ["path": "\(path)"])
        }
        guard let mint = APIKeyMint(masterKey: bytes) else { preconditionFailure("a master key of \(bytes.count) bytes was refused") }
        return mint
    }
}
