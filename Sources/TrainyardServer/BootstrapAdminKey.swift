public import Foundation
import Logging
import TrainyardCore
import TrainyardStore

/// Installs the bootstrap admin key: `TRAINYARD_ADMIN_KEY` when given, else the key in `<data dir>/admin-key`, else a
/// new one written there (mode 0600) with its path logged.
struct BootstrapAdminKey {
    let projects: any ProjectRepository
    let configuredKey: String?
    let dataDirectory: String
    /// Makes a generated key, so that it can sign SigV4 as every minted key can.
    let mint: APIKeyMint
    let logger: Logger

    /// Installs the key and answers its token.
    @discardableResult
    func install() async throws -> APIKeyToken {
        let project = try await projects.ensureBootstrapProject()
        if let configuredKey {
            guard let token = APIKeyToken.parse(configuredKey) else {
                throw ConfigurationError.invalid(key: "TRAINYARD_ADMIN_KEY", value: "(hidden)", expected: "<id>.<secret> with an id of 8 to 32 characters A-Z0-9")
            }
            try await projects.installAdminKey(token, project: project)
            logger.info("bootstrap admin key installed from TRAINYARD_ADMIN_KEY", metadata: ["key.id": "\(token.id)"])
            return token
        }
        let path = (dataDirectory as NSString).appendingPathComponent("admin-key")
        if let text = try? String(contentsOfFile: path, encoding: .utf8),
            let token = APIKeyToken.parse(text.trimmingCharacters(in: .whitespacesAndNewlines))
        {
            try await projects.installAdminKey(token, project: project)
            logger.info("bootstrap admin key read from the data directory", metadata: ["path": "\(path)", "key.id": "\(token.id)"])
            return token
        }
        let token = mint.mint(role: .admin).token
        try SecretFile.create(path: path, contents: token.stringValue + "\n", setting: "TRAINYARD_DATA_DIR", what: "admin key")
        try await projects.installAdminKey(token, project: project)
        logger.notice("generated the bootstrap admin key", metadata: ["path": "\(path)", "key.id": "\(token.id)"])
        return token
    }
}
