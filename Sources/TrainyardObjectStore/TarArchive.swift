import Foundation

/// gzip-compressed tar archives made and unpacked by the system `tar`, file to file: an archive is never held in
/// memory, whatever its size.
public enum TarArchive {
    /// Archives the contents of `directory` (created when missing, so an empty `model/` gives an empty archive).
    public static func create(_ archive: String, from directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try run(["-czf", archive, "-C", directory, "."])
    }

    /// Unpacks `archive` into `directory`.
    public static func extract(_ archive: String, into directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try run(["-xzf", archive, "-C", directory])
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
