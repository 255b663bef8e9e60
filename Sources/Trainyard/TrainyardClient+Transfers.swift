import Crypto
public import Foundation
import OpenAPIRuntime
import TrainyardAPI
import TrainyardCore

/// Which archive of an ended job.
public enum JobArtifact: String, Sendable {
    /// `model.tar.gz`: what the job wrote to `/opt/ml/model` (SageMaker's `S3ModelArtifacts`).
    case model
    /// `output.tar.gz`: every host's `/opt/ml/output/data`, merged.
    case output

    var fileName: String { "\(rawValue).tar.gz" }
}

/// An archive downloaded and checked.
public struct DownloadedArtifact: Sendable, Equatable {
    public var file: URL
    public var sizeBytes: Int64
    /// Its SHA-256 (lowercase hex), equal to the one the service recorded.
    public var sha256: String
}

extension TrainyardClient {
    /// Downloads an ended job's archive to `file` through the service (no object-store credentials needed), streaming
    /// it to disk. A connection that breaks in the middle (a restarting server, a proxy that cuts long transfers) is
    /// resumed where it stopped with `Range` and `If-Range`, for as long as the service comes back within two minutes;
    /// nothing is fetched twice. The bytes are checked against the SHA-256 the service recorded when the archive was
    /// written; a mismatch throws ``TrainyardError/checksumMismatch(what:expected:actual:)`` and leaves no file.
    /// Missing directories of `file` are created.
    @discardableResult
    public func download(_ artifact: JobArtifact, of name: String, to file: URL) async throws -> DownloadedArtifact {
        let job = try await describeJob(name)
        let (size, sha256) =
            artifact == .model
            ? (job.modelArtifacts.sizeBytes, job.modelArtifacts.sha256) : (job.outputArtifacts?.sizeBytes, job.outputArtifacts?.sha256)
        let directory = file.deletingLastPathComponent()
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let temporary = directory.appendingPathComponent(".\(file.lastPathComponent).download-\(UUID().uuidString)")
        var received = try ReceivedArchive(temporary, shownAs: file)
        do {
            try await receive(artifact, of: name, into: &received, size: size, sha256: sha256)
            received.close()
        } catch {
            received.close()
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
        let actual = received.sha256()
        if let expected = sha256, expected != actual {
            try? FileManager.default.removeItem(at: temporary)
            throw TrainyardError.checksumMismatch(what: "\(name)'s \(artifact.fileName)", expected: expected, actual: actual)
        }
        _ = try? FileManager.default.removeItem(at: file)
        try FileManager.default.moveItem(at: temporary, to: file)
        return DownloadedArtifact(file: file, sizeBytes: received.size, sha256: actual)
    }

    /// Streams the archive into `received`, resuming after breaks.
    private func receive(_ artifact: JobArtifact, of name: String, into received: inout ReceivedArchive, size: Int64?, sha256: String?) async throws {
        let path = Operations.DownloadJobArtifact.Input.Path(name: name, artifact: artifact == .model ? .model : .output)
        var outage = Outage()
        while true {
            let from = received.size
            // Every byte arrived, only the end of the answer did not: nothing is left to ask for.
            if from > 0, let size, from >= size { return }
            let body: HTTPBody
            do {
                body = try await call {
                    let headers: Operations.DownloadJobArtifact.Input.Headers =
                        from == 0 ? .init() : .init(range: "bytes=\(from)-", ifRange: sha256.map { "\"\($0)\"" })
                    switch try await transfers.downloadJobArtifact(path: path, headers: headers) {
                    case .partialContent(let part) where from > 0:
                        guard part.headers.contentRange.hasPrefix("bytes \(from)-") else {
                            throw TrainyardError.unexpectedResponse(status: 206, body: "Content-Range \(part.headers.contentRange) for bytes \(from)-")
                        }
                        return try part.body.applicationGzip
                    case let answer:
                        // The whole archive (a first request, or a resumption the service chose to answer whole).
                        let whole = try answer.ok.body.applicationGzip
                        try received.restart()
                        return whole
                    }
                }
            } catch let error as TrainyardError where error.isTransient && from > 0 {
                try await outage.wait(after: error, pause: .seconds(1))
                continue
            }
            outage.answered()
            do {
                for try await chunk in body { try received.append(chunk) }
                return
            } catch let error as TrainyardError {
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                // The connection broke in the middle: ask for the rest.
                try await outage.wait(after: error, pause: .milliseconds(200))
            }
        }
    }

    /// Packs `directory` as the SageMaker Python SDK packs `source_dir` (a gzipped tar of its contents) and uploads it
    /// through the service for job `jobName`, to `<outputPath or the project's location>/<jobName>/source/sourcedir.tar.gz`;
    /// answers the archive's URI (for the spec's `source_dir`), size and SHA-256. The archive is hashed as it is packed
    /// and streams from a temporary file: memory stays flat however large the code, and the service refuses bytes that
    /// differ from what was packed. A dropped connection is tried again, from the start.
    public func uploadSource(directory: URL, jobName: String, outputPath: String? = nil) async throws -> SourceArchive {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw TrainyardError.invalidInput("the source directory \(directory.path) is not a directory")
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-source-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let archive = scratch.appendingPathComponent("sourcedir.tar.gz")
        let (size, digest) = try await SourcePacker.pack(directory, into: archive)
        return try await upload(archive, size: size, digest: digest, jobName: jobName, outputPath: outputPath)
    }

    /// Uploads an archive already packed (a gzipped tar) as job `jobName`'s code; see ``uploadSource(directory:jobName:outputPath:)``.
    /// `sha256` is the archive's SHA-256 in hex when the caller has it (as `sha256sum` prints it): the service checks the
    /// bytes it receives against it. Without it the file is read once more beforehand to compute it.
    public func uploadSourceArchive(_ archive: URL, jobName: String, outputPath: String? = nil, sha256: String? = nil) async throws -> SourceArchive {
        if let sha256 {
            guard let digest = Hex.decode(sha256), digest.count == 32 else {
                throw TrainyardError.invalidInput("sha256 must be 64 hexadecimal digits (as sha256sum prints it), not '\(sha256)'")
            }
            guard let size = (try? FileManager.default.attributesOfItem(atPath: archive.path))?[.size] as? Int64 else {
                throw TrainyardError.invalidInput("the archive to upload, \(archive.path), cannot be read")
            }
            return try await upload(archive, size: size, digest: digest, jobName: jobName, outputPath: outputPath)
        }
        let (size, digest) = try FileChunks.sizeAndSHA256(of: archive)
        return try await upload(archive, size: size, digest: digest, jobName: jobName, outputPath: outputPath)
    }

    private func upload(_ archive: URL, size: Int64, digest: [UInt8], jobName: String, outputPath: String?) async throws -> SourceArchive {
        var attempt = 1
        while true {
            do {
                return try await call {
                    let body = HTTPBody(FileChunks(file: archive), length: .known(size), iterationBehavior: .single)
                    return try await transfers.uploadJobSource(
                        path: .init(name: jobName), query: .init(outputPath: outputPath),
                        headers: .init(contentDigest: "sha-256=:\(Data(digest).base64EncodedString()):"), body: .applicationGzip(body)
                    ).created.body.json
                }
            } catch let error as TrainyardError {
                guard attempt < 3, error.isTransient else { throw error }
                try await Task.sleep(for: .milliseconds(250 << attempt))
                attempt += 1
            }
        }
    }
}

/// An archive as it arrives (a download, or tar's output): written to a file and hashed chunk by chunk, with no copy between.
struct ReceivedArchive {
    let path: String
    let shownAs: URL
    private var descriptor: Int32
    private var hasher = SHA256()
    private(set) var size: Int64 = 0

    init(_ file: URL, shownAs: URL) throws {
        path = file.path
        self.shownAs = shownAs
        descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw Self.failure(shownAs) }
    }

    static func failure(_ file: URL) -> TrainyardError {
        TrainyardError.invalidInput("cannot write \(file.path): \(String(cString: strerror(errno)))")
    }

    mutating func append(_ chunk: ArraySlice<UInt8>) throws {
        hasher.update(data: chunk)
        try chunk.withUnsafeBytes { bytes in
            var done = 0
            while done < bytes.count {
                let written = write(descriptor, bytes.baseAddress! + done, bytes.count - done)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw Self.failure(shownAs)
                }
                done += written
            }
        }
        size += Int64(chunk.count)
    }

    /// Back to no byte, for an answer that sends the archive whole.
    mutating func restart() throws {
        guard size > 0 else { return }
        guard ftruncate(descriptor, 0) == 0, lseek(descriptor, 0, SEEK_SET) == 0 else { throw Self.failure(shownAs) }
        hasher = SHA256()
        size = 0
    }

    /// The lowercase hex SHA-256 of what was received.
    func sha256() -> String { Hex.lowercase(digest()) }

    func digest() -> [UInt8] { Array(hasher.finalize()) }

    mutating func close() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }
}

/// A file read in chunks as an HTTP body's bytes: one chunk in memory at a time, read straight into the array sent.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ArraySlice<UInt8>
    let file: URL
    var chunkBytes = 1 << 20

    /// The open file; closed at its end, or when the body is dropped half-read.
    final class Descriptor {
        let value: Int32
        init(_ path: String) { value = open(path, O_RDONLY | O_CLOEXEC) }
        deinit { if value >= 0 { Glibc.close(value) } }
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let file: URL
        let descriptor: Descriptor
        /// One chunk's memory, filled again once the chunk before was sent and let go of (the transport copies each
        /// into its own buffer): no new pages to fault in for every megabyte.
        var buffer: [UInt8]

        mutating func next() async throws -> ArraySlice<UInt8>? {
            guard descriptor.value >= 0 else { throw TrainyardError.invalidInput("the archive to upload, \(file.path), cannot be read") }
            let (count, failure) = FileChunks.fill(&buffer, from: descriptor.value)
            if failure != 0 {
                throw TrainyardError.invalidInput("the archive to upload, \(file.path), cannot be read: \(String(cString: strerror(failure)))")
            }
            return count == 0 ? nil : buffer[..<count]
        }
    }

    /// Reads `descriptor` into `buffer` until it is full or the input ends: the bytes read, and the `errno` of a failed
    /// read (0 when none failed).
    static func fill(_ buffer: inout [UInt8], from descriptor: Int32) -> (count: Int, failure: Int32) {
        buffer.withUnsafeMutableBytes { bytes in
            var count = 0
            while count < bytes.count {
                let got = read(descriptor, bytes.baseAddress! + count, bytes.count - count)
                if got < 0 {
                    if errno == EINTR { continue }
                    return (count, errno)
                }
                if got == 0 { break }
                count += got
            }
            return (count, 0)
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(file: file, descriptor: Descriptor(file.path), buffer: [UInt8](repeating: 0, count: chunkBytes))
    }

    /// The file's size and SHA-256, read once in chunks.
    static func sizeAndSHA256(of file: URL) throws -> (Int64, [UInt8]) {
        let handle = try FileHandle(forReadingFrom: file)
        defer { try? handle.close() }
        var hasher = SHA256()
        var size: Int64 = 0
        while let data = try handle.read(upToCount: 1 << 20), !data.isEmpty {
            hasher.update(data: data)
            size += Int64(data.count)
        }
        return (size, Array(hasher.finalize()))
    }
}

/// Packs a directory as a gzipped tar of its contents with the system `tar`, into a file, hashing the archive as tar
/// writes it (no second read). Runs on a thread of its own: packing a large directory does not hold up the caller's
/// concurrency pool.
enum SourcePacker {
    static func pack(_ directory: URL, into archive: URL) async throws -> (size: Int64, sha256: [UInt8]) {
        try await BlockingWork.run { try packBlocking(directory, into: archive) }
    }

    private static func packBlocking(_ directory: URL, into archive: URL) throws -> (size: Int64, sha256: [UInt8]) {
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["-czf", "-", "-C", directory.path, "."]
        // Its messages go to a file: a pipe nobody reads while the archive is read would stop tar once full.
        let messages = archive.appendingPathExtension("messages")
        _ = FileManager.default.createFile(atPath: messages.path, contents: nil)
        let messagesHandle = try FileHandle(forWritingTo: messages)
        defer { try? messagesHandle.close() }
        let output = Pipe()
        tar.standardOutput = output
        tar.standardError = messagesHandle
        tar.standardInput = FileHandle.nullDevice
        var received = try ReceivedArchive(archive, shownAs: archive)
        defer { received.close() }
        try tar.run()
        try? output.fileHandleForWriting.close()
        let reading = output.fileHandleForReading.fileDescriptor
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var failure: (any Error)?
        while true {
            let (count, readFailure) = FileChunks.fill(&buffer, from: reading)
            // After a write fails, tar is read to its end all the same, so that it exits.
            if count > 0, failure == nil {
                do { try received.append(buffer[..<count]) } catch { failure = error }
            }
            if count < buffer.count || readFailure != 0 { break }
        }
        // Closed before the wait: a tar still writing (after a failed read) gets EPIPE and ends, rather than waiting
        // on a pipe nobody reads.
        try? output.fileHandleForReading.close()
        tar.waitUntilExit()
        if let failure { throw failure }
        guard tar.terminationStatus == 0 else {
            let message = (try? String(contentsOf: messages, encoding: .utf8)) ?? ""
            throw TrainyardError.invalidInput("cannot pack \(directory.path): tar says \(message.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return (received.size, received.digest())
    }
}
