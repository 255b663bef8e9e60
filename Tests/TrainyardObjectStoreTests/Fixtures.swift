import Crypto
import Foundation
import NIOCore

/// Files for the tests, written and hashed in chunks.
enum Files {
    /// `mebibytes` of random bytes from /dev/urandom.
    static func random(_ path: String, mebibytes: Int) throws {
        FileManager.default.createFile(atPath: path, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? output.close() }
        let input = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/dev/urandom"))
        defer { try? input.close() }
        for _ in 0..<mebibytes { try output.write(contentsOf: try input.read(upToCount: 1 << 20) ?? Data()) }
    }

    static func sha256(_ path: String) throws -> Data {
        let input = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? input.close() }
        var digest = SHA256()
        while let chunk = try input.read(upToCount: 4 << 20), !chunk.isEmpty { digest.update(data: chunk) }
        return Data(digest.finalize())
    }
}

/// A body of `totalBytes` bytes of a known pattern (byte i is i mod 251), in chunks; with `failAfterBytes` it throws
/// once that much was yielded; `onChunk` sees the bytes yielded so far.
struct PatternBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let chunkSize: Int
    let totalBytes: Int
    var failAfterBytes: Int? = nil
    var onChunk: @Sendable (Int) async -> Void = { _ in }

    struct Broken: Error {}

    static func byte(at index: Int) -> UInt8 { UInt8(index % 251) }

    /// One period of the pattern repeated 4,096 times: a slice of it starting at `i mod 251` continues the pattern from i.
    static let pattern: [UInt8] = (0..<(251 * 4096)).map { UInt8($0 % 251) }

    static func sha256(totalBytes: Int) -> Data {
        var digest = SHA256()
        var done = 0
        while done < totalBytes {
            let start = done % 251
            let take = Swift.min(totalBytes - done, pattern.count - start)
            pattern[start..<(start + take)].withUnsafeBytes { digest.update(bufferPointer: $0) }
            done += take
        }
        return Data(digest.finalize())
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let body: PatternBody
        var offset = 0

        mutating func next() async throws -> ByteBuffer? {
            if let fail = body.failAfterBytes, offset >= fail { throw Broken() }
            guard offset < body.totalBytes else { return nil }
            let count = Swift.min(body.chunkSize, body.totalBytes - offset)
            var buffer = ByteBuffer()
            buffer.reserveCapacity(count)
            var written = 0
            while written < count {
                let start = (offset + written) % 251
                let take = Swift.min(count - written, PatternBody.pattern.count - start)
                buffer.writeBytes(PatternBody.pattern[start..<(start + take)])
                written += take
            }
            offset += count
            await body.onChunk(offset)
            return buffer
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(body: self)
    }
}
