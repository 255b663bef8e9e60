import AsyncHTTPClient
import Foundation
public import NIOCore
import NIOHTTP1

extension S3ObjectStore {
    /// The part size for an object of `size` bytes: the configured one, raised so that 10,000 parts are enough.
    func partSize(for size: Int64) -> Int64 {
        let minimum = (size + 9_999) / 10_000
        return max(configuration.partSize, minimum, 5 << 20)
    }

    // MARK: uploads

    public func put(bucket: String, key: String, fromFile path: String) async throws -> ObjectInfo {
        let file: LocalFile
        do { file = try LocalFile.openForReading(path) } catch { throw ObjectStoreError.io(bucket: bucket, key: key, reason: "cannot read \(path): \(error)") }
        defer { file.close() }
        let size = file.size
        if size <= configuration.multipartThreshold {
            let body = try read(file, count: Int(size), at: 0, bucket: bucket, key: key)
            try await putSingle(bucket: bucket, key: key, body: body)
            return ObjectInfo(key: key, size: size)
        }
        let part = partSize(for: size)
        let count = Int((size + part - 1) / part)
        try await multipart(bucket: bucket, key: key) { upload in
            try await withThrowingTaskGroup(of: (Int, String).self) { group in
                var etags: [Int: String] = [:]
                for number in 1...count {
                    if number > configuration.concurrency, let (done, etag) = try await group.next() { etags[done] = etag }
                    group.addTask {
                        let offset = Int64(number - 1) * part
                        let body = try read(file, count: Int(min(part, size - offset)), at: offset, bucket: bucket, key: key)
                        return (number, try await uploadPart(bucket: bucket, key: key, uploadID: upload, number: number, body: body))
                    }
                }
                for try await (done, etag) in group { etags[done] = etag }
                return etags
            }
        }
        return ObjectInfo(key: key, size: size)
    }

    public func put<Body: AsyncSequence & Sendable>(bucket: String, key: String, body: Body) async throws -> ObjectInfo where Body.Element == ByteBuffer {
        let part = Int(configuration.partSize)
        var iterator = body.makeAsyncIterator()
        // The first part decides: a body that ends before it is full goes up in one PUT.
        var first = ByteBuffer()
        var ended = false
        do {
            while first.readableBytes < part {
                guard var chunk = try await iterator.next() else {
                    ended = true
                    break
                }
                first.writeBuffer(&chunk)
            }
        } catch {
            throw Self.sourceError(error, bucket: bucket, key: key)
        }
        if ended {
            try await putSingle(bucket: bucket, key: key, body: first)
            return ObjectInfo(key: key, size: Int64(first.readableBytes))
        }
        var total: Int64 = 0
        try await multipart(bucket: bucket, key: key) { upload in
            try await withThrowingTaskGroup(of: (Int, String).self) { group in
                var etags: [Int: String] = [:]
                var buffer = first
                var number = 0
                var sourceEnded = false
                while true {
                    // Fill one part; what spills over stays in the buffer for the next.
                    while !sourceEnded, buffer.readableBytes < part {
                        do {
                            guard var chunk = try await iterator.next() else {
                                sourceEnded = true
                                break
                            }
                            buffer.writeBuffer(&chunk)
                        } catch {
                            throw Self.sourceError(error, bucket: bucket, key: key)
                        }
                    }
                    if buffer.readableBytes == 0 { break }
                    let partBody = buffer.readSlice(length: min(part, buffer.readableBytes))!
                    number += 1
                    total += Int64(partBody.readableBytes)
                    if number > configuration.concurrency, let (done, etag) = try await group.next() { etags[done] = etag }
                    let partNumber = number
                    group.addTask { (partNumber, try await uploadPart(bucket: bucket, key: key, uploadID: upload, number: partNumber, body: partBody)) }
                    if sourceEnded && buffer.readableBytes == 0 { break }
                }
                for try await (done, etag) in group { etags[done] = etag }
                return etags
            }
        }
        return ObjectInfo(key: key, size: total)
    }

    static func sourceError(_ error: any Error, bucket: String, key: String) -> any Error {
        if error is CancellationError || error is ObjectStoreError { return error }
        return ObjectStoreError.io(bucket: bucket, key: key, reason: "reading what to upload failed: \(error)")
    }

    func read(_ file: LocalFile, count: Int, at offset: Int64, bucket: String, key: String) throws -> ByteBuffer {
        do { return try file.read(count: count, at: offset) } catch {
            throw ObjectStoreError.io(bucket: bucket, key: key, reason: "cannot read \(file.path): \(error)")
        }
    }

    func putSingle(bucket: String, key: String, body: ByteBuffer) async throws {
        let call = Call(method: .PUT, bucket: bucket, key: key, body: body)
        let response = try await send(call)
        try await expectSuccess(response, call)
        _ = try await response.body.collect(upTo: 1 << 20)
    }

    /// Starts a multipart upload, runs `parts` (which answers part number → ETag), completes it; on any failure
    /// aborts it, so that neither the object nor its parts remain.
    func multipart(bucket: String, key: String, parts: (String) async throws -> [Int: String]) async throws {
        let initiate = Call(method: .POST, bucket: bucket, key: key, query: [("uploads", "")])
        let response = try await send(initiate)
        try await expectSuccess(response, initiate)
        let xml = String(buffer: try await response.body.collect(upTo: 1 << 20))
        guard let upload = S3XML.value("UploadId", in: xml[...]) else {
            throw ObjectStoreError.store(code: "InvalidResponse", bucket: bucket, key: key, status: 200, message: "no UploadId in the answer")
        }
        do {
            let etags = try await parts(upload)
            let body = "<CompleteMultipartUpload>"
                + etags.keys.sorted().map { "<Part><PartNumber>\($0)</PartNumber><ETag>\(S3XML.escape(etags[$0]!))</ETag></Part>" }.joined()
                + "</CompleteMultipartUpload>"
            let complete = Call(method: .POST, bucket: bucket, key: key, query: [("uploadId", upload)], body: ByteBuffer(string: body))
            let answer = try await send(complete)
            try await expectSuccess(answer, complete)
            // S3 may answer 200 and put the error in the body.
            let result = String(buffer: try await answer.body.collect(upTo: 1 << 20))
            if result.contains("<Error>") {
                let code = S3XML.value("Code", in: result[...]) ?? "InternalError"
                throw ObjectStoreError.store(code: code, bucket: bucket, key: key, status: 200, message: S3XML.value("Message", in: result[...]) ?? "")
            }
        } catch {
            await abort(bucket: bucket, key: key, uploadID: upload, because: error)
            throw error
        }
    }

    func uploadPart(bucket: String, key: String, uploadID: String, number: Int, body: ByteBuffer) async throws -> String {
        let call = Call(method: .PUT, bucket: bucket, key: key, query: [("partNumber", "\(number)"), ("uploadId", uploadID)], body: body)
        let response = try await send(call)
        try await expectSuccess(response, call)
        _ = try await response.body.collect(upTo: 1 << 20)
        guard let etag = response.headers.first(name: "ETag") else {
            throw ObjectStoreError.store(code: "InvalidResponse", bucket: bucket, key: key, status: Int(response.status.code), message: "part \(number) has no ETag")
        }
        return etag
    }

    /// AbortMultipartUpload, best effort (the server may be the reason the upload failed): logged, never thrown.
    func abort(bucket: String, key: String, uploadID: String, because error: any Error) async {
        logger.warning("aborting a failed multipart upload", metadata: ["bucket": "\(bucket)", "key": "\(key)", "error": "\(error)"])
        var call = Call(method: .DELETE, bucket: bucket, key: key, query: [("uploadId", uploadID)])
        call.headers = []
        do {
            // Not cancelled with the upload: the abort must still go out.
            let response = try await Task.detached { [self] in try await send(call, attempts: 2, timeout: min(10, configuration.requestTimeout)) }.value
            _ = try? await response.body.collect(upTo: 1 << 20)
        } catch {
            logger.warning("aborting the multipart upload failed", metadata: ["bucket": "\(bucket)", "key": "\(key)", "error": "\(error)"])
        }
    }

    // MARK: downloads

    public func get(bucket: String, key: String, toFile path: String) async throws {
        let temporary = LocalFile.temporaryPath(beside: path)
        do {
            let file = try LocalFile.create(temporary)
            defer { file.close() }
            try await download(bucket: bucket, key: key, into: file)
            try LocalFile.move(temporary, to: path)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            if error is ObjectStoreError || error is CancellationError { throw error }
            throw ObjectStoreError.io(bucket: bucket, key: key, reason: "cannot write \(path): \(error)")
        }
    }

    /// The first part with a ranged GET; when the object is larger, the other parts in parallel, each written at its
    /// offset.
    func download(bucket: String, key: String, into file: LocalFile) async throws {
        let part = configuration.partSize
        var written: Int64 = 0
        let info: ObjectInfo
        do {
            info = try await get(bucket: bucket, key: key, range: ObjectByteRange(first: 0, last: part - 1)) { chunk in
                try file.write(chunk, at: written)
                written += Int64(chunk.readableBytes)
            }
        } catch let error as ObjectStoreError where error.code == "InvalidRange" {
            // An empty object has no byte 0.
            guard let head = try await head(bucket: bucket, key: key) else { throw ObjectStoreError.noSuchKey(bucket: bucket, key: key) }
            guard head.size == 0 else { throw ObjectStoreError.store(code: "InvalidRange", bucket: bucket, key: key, status: 416, message: "the first part could not be read") }
            return
        }
        guard info.size > part else { return }
        let size = info.size
        let count = Int((size + part - 1) / part)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 1..<count {
                if index > configuration.concurrency { try await group.next() }
                group.addTask {
                    var offset = Int64(index) * part
                    let range = ObjectByteRange(first: offset, last: min(size, offset + part) - 1)
                    try await get(bucket: bucket, key: key, range: range) { chunk in
                        try file.write(chunk, at: offset)
                        offset += Int64(chunk.readableBytes)
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}
