import Foundation
public import NIOCore

extension FileSystemObjectStore {
    /// Chunks streamed by `get(bucket:key:range:consumer:)`.
    static let chunkSize = 1 << 20

    public func put<Body: AsyncSequence & Sendable>(bucket: String, key: String, body: Body) async throws -> ObjectInfo where Body.Element == ByteBuffer {
        let target = try writablePath(bucket: bucket, key: key)
        let temporary = LocalFile.temporaryPath(beside: target)
        let file = try LocalFile.createTemporary(temporary, of: "s3://\(bucket)/\(key)")
        var written: Int64 = 0
        do {
            defer { file.close() }
            for try await chunk in body {
                try file.write(chunk, at: written)
                written += Int64(chunk.readableBytes)
            }
            try LocalFile.move(temporary, to: target)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            if error is CancellationError { throw error }
            throw ObjectStoreError.io(bucket: bucket, key: key, reason: "\(error)")
        }
        return ObjectInfo(key: key, size: written)
    }

    @discardableResult
    public func get(bucket: String, key: String, range: ObjectByteRange?, consumer: (ByteBuffer) async throws -> Void) async throws -> ObjectInfo {
        let source = try path(bucket: bucket, key: key)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw ObjectStoreError.noSuchKey(bucket: bucket, key: key)
        }
        let file: LocalFile
        do { file = try LocalFile.openForReading(source) } catch { throw ObjectStoreError.io(bucket: bucket, key: key, reason: "\(error)") }
        defer { file.close() }
        let size = file.size
        var offset = range?.first ?? 0
        var end = size  // exclusive
        if let range {
            guard range.first >= 0, range.first < size, (range.last ?? range.first) >= range.first else {
                throw ObjectStoreError.store(
                    code: "InvalidRange", bucket: bucket, key: key, status: 0, message: "the range \(range) is not satisfiable for \(size) bytes")
            }
            if let last = range.last { end = min(size, last + 1) }
        }
        let allocator = ByteBufferAllocator()
        while offset < end {
            let chunk: ByteBuffer
            do {
                chunk = try file.read(count: Int(min(Int64(Self.chunkSize), end - offset)), at: offset, allocator: allocator)
            } catch {
                throw ObjectStoreError.io(bucket: bucket, key: key, reason: "\(error)")
            }
            if chunk.readableBytes == 0 { break }
            offset += Int64(chunk.readableBytes)
            try await consumer(chunk)
        }
        return ObjectInfo(key: key, size: size)
    }

    /// Pages of the sorted listing; the continuation token is the last key of the page before.
    public func listPage(bucket: String, prefix: String, continuationToken: String?, maxKeys: Int) async throws -> ObjectListPage {
        let all = try await list(bucket: bucket, prefix: prefix)
        let limit = max(1, min(maxKeys, 1000))
        var start = 0
        if let token = continuationToken {
            // First key after the token (binary search on the sorted keys).
            var low = 0
            var high = all.count
            while low < high {
                let middle = (low + high) / 2
                if all[middle].key <= token { low = middle + 1 } else { high = middle }
            }
            start = low
        }
        let page = Array(all[start..<min(all.count, start + limit)])
        let more = start + limit < all.count
        return ObjectListPage(objects: page, nextContinuationToken: more ? page.last?.key : nil)
    }
}
