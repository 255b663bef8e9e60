import Foundation

/// gzip-compressed tar archives made and unpacked by the system `tar`, file to file: an archive is never held in
/// memory, whatever its size.
public enum TarArchive {
    /// Archives the contents of `directory` (created when missing, so an empty `model/` gives an empty archive).
    public static func create(_ archive: String, from directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try run(["-czf", archive, "-C", directory, "."])
    }

    /// Unpacks `archive` into `directory`, as a tenant's archive must be: owned by whoever unpacks it, modes under the
    /// umask, and only directories, regular files and symbolic links kept (a device node or FIFO is removed, setuid,
    /// setgid and sticky bits are cleared). GNU tar itself refuses members with `..` or absolute names and does not
    /// write through a link it extracted.
    public static func extract(_ archive: String, into directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try run(["-xzf", archive, "-C", directory, "--no-same-owner", "--no-same-permissions", "--delay-directory-restore"])
        try sanitize(directory)
    }

    /// Removes what is neither a directory, a regular file nor a symbolic link under `directory`, and clears the
    /// setuid, setgid and sticky bits of what stays; answers the relative paths removed.
    @discardableResult
    public static func sanitize(_ directory: String) throws -> [String] {
        var removed: [String] = []
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return removed }
        while let relative = enumerator.nextObject() as? String {
            let path = directory + "/" + relative
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            let kind = info.st_mode & S_IFMT
            if kind == S_IFLNK { continue }
            guard kind == S_IFREG || kind == S_IFDIR else {
                try FileManager.default.removeItem(atPath: path)
                removed.append(relative)
                continue
            }
            if info.st_mode & (S_ISUID | S_ISGID | S_ISVTX) != 0 { chmod(path, info.st_mode & 0o777) }
        }
        return removed
    }

    static func run(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/tar")
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TarArchiveError(arguments: arguments, message: message) }
    }
}

/// `tar` failed.
public struct TarArchiveError: Error, CustomStringConvertible {
    public var arguments: [String]
    public var message: String
    public var description: String { "tar \(arguments.joined(separator: " ")) failed: \(message)" }
}
