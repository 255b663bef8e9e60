import Foundation
import TrainyardCore

/// A file only its owner may read, for the secrets a server keeps in its data directory.
enum SecretFile {
    /// Writes `contents` to a new file at `path`, created mode 0600 by the call that creates it (never readable by
    /// others, not even for a moment); fails if the file exists. `setting` names the setting the file stands for, in
    /// the error.
    static func create(path: String, contents: String, setting: String, what: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw ConfigurationError.unreadable(key: setting, path: path, reason: "cannot create the \(what) file: errno \(errno)")
        }
        let bytes = Array(contents.utf8)
        let written = write(descriptor, bytes, bytes.count)
        close(descriptor)
        guard written == bytes.count else {
            throw ConfigurationError.unreadable(key: setting, path: path, reason: "cannot write the \(what) file")
        }
    }
}
