import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Copies a file as `cp` does: `copy_file_range(2)`, so the kernel moves the bytes (or shares the blocks) without a
/// trip through user memory; where the kernel cannot (another file system type, an old kernel), 1 MiB reads and
/// writes. Foundation's `copyItem` copies through small buffers at a fraction of that speed.
enum FileCopy {
    @_silgen_name("copy_file_range")
    private static func copyFileRange(
        _ input: Int32, _ inputOffset: UnsafeMutablePointer<Int64>?, _ output: Int32, _ outputOffset: UnsafeMutablePointer<Int64>?, _ length: Int,
        _ flags: UInt32
    ) -> Int

    /// Makes `destination` (and its directory) a copy of `source`: written beside it under a temporary name, then
    /// renamed over it, so a reader never sees half a file and a failed copy leaves what was there.
    static func replace(_ destination: String, withCopyOf source: String) throws {
        try FileManager.default.createDirectory(atPath: (destination as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let temporary = LocalFile.temporaryPath(beside: destination)
        do {
            try copy(from: source, to: temporary)
            try LocalFile.move(temporary, to: destination)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
    }

    /// Copies `source` to `destination` (created or truncated, mode 0644); answers the bytes copied.
    @discardableResult
    static func copy(from source: String, to destination: String) throws -> Int64 {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(input) }
        let output = open(destination, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(output) }
        var copied: Int64 = 0
        var kernelCopy = true
        while kernelCopy {
            let moved = copyFileRange(input, nil, output, nil, 1 << 30, 0)
            if moved > 0 {
                copied += Int64(moved)
            } else if moved == 0 {
                return copied
            } else if errno == EINTR {
                continue
            } else if [EXDEV, ENOSYS, EINVAL, EOPNOTSUPP, EBADF].contains(errno) {
                kernelCopy = false
            } else {
                throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
            }
        }
        // The file offsets are where the kernel left them; go on from there with plain reads and writes.
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 4096)
        defer { buffer.deallocate() }
        while true {
            let count = read(input, buffer, 1 << 20)
            if count == 0 { return copied }
            if count < 0 {
                if errno == EINTR { continue }
                throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
            }
            var written = 0
            while written < count {
                let result = write(output, buffer + written, count - written)
                if result < 0 {
                    if errno == EINTR { continue }
                    throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
                }
                written += result
            }
            copied += Int64(count)
        }
    }
}
