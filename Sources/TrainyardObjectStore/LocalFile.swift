import Foundation
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// An open file, read and written by offset with POSIX calls straight into and out of `ByteBuffer`s, so that the
/// stores stream files without copies through `Data`. Closed by `close()`.
struct LocalFile: Sendable {
    let descriptor: Int32
    let path: String

    static func openForReading(_ path: String) throws -> LocalFile {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        return LocalFile(descriptor: fd, path: path)
    }

    /// Creates (or truncates) the file, and its directory.
    static func create(_ path: String) throws -> LocalFile {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        return LocalFile(descriptor: fd, path: path)
    }

    func close() { _ = Glibc.close(descriptor) }

    var size: Int64 {
        var info = stat()
        return fstat(descriptor, &info) == 0 ? Int64(info.st_size) : 0
    }

    /// Up to `count` bytes at `offset`; fewer only at the end of the file.
    func read(count: Int, at offset: Int64, allocator: ByteBufferAllocator = ByteBufferAllocator()) throws -> ByteBuffer {
        var buffer = allocator.buffer(capacity: count)
        var done = 0
        while done < count {
            let got = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count - done) { pointer -> Int in
                let n = pread(descriptor, pointer.baseAddress, count - done, off_t(offset + Int64(done)))
                if n < 0 { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
                return n
            }
            if got == 0 { break }
            done += got
        }
        return buffer
    }

    /// Writes all of `buffer` at `offset`.
    func write(_ buffer: ByteBuffer, at offset: Int64) throws {
        try buffer.withUnsafeReadableBytes { pointer in
            var done = 0
            while done < pointer.count {
                let n = pwrite(descriptor, pointer.baseAddress! + done, pointer.count - done, off_t(offset + Int64(done)))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
                }
                done += n
            }
        }
    }

    /// Creates the temporary file of a put of `uri` (``create(_:)``); a file system that refuses is
    /// ``ObjectStoreError/unwritable(uri:reason:)`` in its own words: nothing can be stored there.
    static func createTemporary(_ path: String, of uri: String) throws -> LocalFile {
        do {
            return try create(path)
        } catch {
            throw ObjectStoreError.unwritable(uri: uri, reason: reason(error))
        }
    }

    /// Why a file system call failed, in the system's words ("Not a directory", "File name too long").
    static func reason(_ error: any Error) -> String {
        if let posix = error as? POSIXError { return String(cString: strerror(posix.code.rawValue)) }
        if let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return "\(error)"
    }

    /// A temporary name beside `path`, hidden from listings (`.tmp-` prefix).
    static func temporaryPath(beside path: String) -> String {
        "\((path as NSString).deletingLastPathComponent)/.tmp-\(UUID().uuidString)"
    }

    /// Renames `temporary` to `path` (atomic on one file system).
    static func move(_ temporary: String, to path: String) throws {
        guard rename(temporary, path) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }
}
