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
    let logger: Logger

    func install() async throws {
        let project = try await projects.ensureBootstrapProject()
        if let configuredKey {
            guard let token = APIKeyToken.parse(configuredKey) else {
                throw ConfigurationError.invalid(key: "TRAINYARD_ADMIN_KEY", value: "(hidden)", expected: "<id>.<secret> with an id of 8 to 32 characters A-Z0-9")
            }
            try await projects.installAdminKey(token, project: project)
            logger.info("bootstrap admin key installed from TRAINYARD_ADMIN_KEY", metadata: ["key.id": "\(token.id)"])
            return
        }
        let path = (dataDirectory as NSString).appendingPathComponent("admin-key")
        if let text = try? String(contentsOfFile: path, encoding: .utf8),
            let token = APIKeyToken.parse(text.trimmingCharacters(in: .whitespacesAndNewlines))
        {
            try await projects.installAdminKey(token, project: project)
            logger.info("bootstrap admin key read from the data directory", metadata: ["path": "\(path)", "key.id": "\(token.id)"])
            return
        }
        let token = APIKey.generate(role: .admin).token
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        // Created 0600 by the call that creates it: never readable by others, not even for a moment.
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw ConfigurationError.unreadable(key: "TRAINYARD_DATA_DIR", path: path, reason: "cannot create the admin key file: errno \(errno)")
        }
        let bytes = Array((token.stringValue + "\n").utf8)
        let written = write(descriptor, bytes, bytes.count)
        close(descriptor)
        guard written == bytes.count else {
            throw ConfigurationError.unreadable(key: "TRAINYARD_DATA_DIR", path: path, reason: "cannot write the admin key file")
        }
        try await projects.installAdminKey(token, project: project)
        logger.notice("generated the bootstrap admin key", metadata: ["path": "\(path)", "key.id": "\(token.id)"])
    }
}
