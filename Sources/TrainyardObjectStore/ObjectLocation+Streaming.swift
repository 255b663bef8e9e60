import Foundation
public import NIOCore
import TrainyardCore

#if canImport(Glibc)
import Glibc
#endif

extension ObjectLocation {
    /// Stores what `body` yields at `uri`, replacing what was there. The object is never seen half-written: a body that
    /// throws (cut short, too large, a wrong checksum) leaves no object, or the one that was there before.
    public func upload<Body: AsyncSequence & Sendable>(body: Body, to uri: String) async throws where Body.Element == ByteBuffer {
        switch try ObjectURI(parsing: uri) {
        case .s3(let bucket, let key):
            _ = try await store.put(bucket: bucket, key: key, body: body)
        case .file(let path):
            let temporary = LocalFile.temporaryPath(beside: path)
            let file = try LocalFile.createTemporary(temporary, of: "file://\(path)")
            do {
                var offset: Int64 = 0
                for try await buffer in body {
                    try file.write(buffer, at: offset)
                    offset += Int64(buffer.readableBytes)
                }
                file.close()
                try LocalFile.move(temporary, to: path)
            } catch {
                file.close()
                unlink(temporary)
                throw error
            }
        }
    }

    /// `count` bytes of the object at `uri` from byte `first` as chunks of at most `chunkBytes`, each read when the
    /// consumer asks for it (ranged reads), so that memory stays at one chunk however large the object.
    public func chunks(of uri: String, from first: Int64 = 0, count: Int64, chunkBytes: Int = 4 << 20) throws -> ObjectChunks {
        ObjectChunks(location: self, uri: try ObjectURI(parsing: uri), first: first, end: first + count, chunkBytes: chunkBytes)
    }
}

/// An object read chunk by chunk: one ranged read of the store per chunk, on demand.
public struct ObjectChunks: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    let location: ObjectLocation
    let uri: ObjectURI
    /// The first byte read and the one after the last.
    let first: Int64
    let end: Int64
    let chunkBytes: Int

    public struct AsyncIterator: AsyncIteratorProtocol {
        let chunks: ObjectChunks
        var offset: Int64

        public mutating func next() async throws -> ByteBuffer? {
            guard offset < chunks.end else { return nil }
            let last = Swift.min(offset + Int64(chunks.chunkBytes), chunks.end) - 1
            var collected = ByteBuffer()
            collected.reserveCapacity(Int(last - offset + 1))
            switch chunks.uri {
            case .s3(let bucket, let key):
                try await chunks.location.store.get(bucket: bucket, key: key, range: ObjectByteRange(first: offset, last: last)) { part in
                    collected.writeImmutableBuffer(part)
                }
            case .file(let path):
                let file = try LocalFile.openForReading(path)
                defer { file.close() }
                collected = try file.read(count: Int(last - offset + 1), at: offset)
            }
            guard collected.readableBytes > 0 else {
                throw ObjectStoreError.io(bucket: "", key: chunks.uri.description, reason: "the object ended at byte \(offset), before byte \(chunks.end)")
            }
            offset += Int64(collected.readableBytes)
            return collected
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(chunks: self, offset: first) }
}
