import Crypto
import Foundation
import NIOCore
import Testing
import TrainyardObjectStore
import TrainyardTestSupport

/// One contract for every object store: the filesystem store and the S3 store against a real SeaweedFS.
@Suite struct ObjectStoreContractTests {
    @Test(arguments: TestObjectStoreKind.allCases)
    func aSixtyFourMebibyteObjectGoesUpInPartsAndComesBackTheSame(_ kind: TestObjectStoreKind) async throws {
        // given
        let fixture = try await TestObjectStore.make(kind)
        defer { fixture.cleanup() }
        let source = fixture.scratch + "/big.bin"
        try Files.random(source, mebibytes: 64)
        // when
        let info = try await fixture.store.put(bucket: fixture.bucket, key: "models/big.bin", fromFile: source)
        let copy = fixture.scratch + "/copy/big.bin"
        try await fixture.store.get(bucket: fixture.bucket, key: "models/big.bin", toFile: copy)
        // then
        #expect(info == ObjectInfo(key: "models/big.bin", size: 64 << 20))
        #expect(try await fixture.store.head(bucket: fixture.bucket, key: "models/big.bin") == info)
        #expect(try Files.sha256(copy) == Files.sha256(source))
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.scratch + "/copy") == ["big.bin"])
    }

    @Test(arguments: TestObjectStoreKind.allCases)
    func aStreamedBodyOfUnknownSizeIsStoredWhole(_ kind: TestObjectStoreKind) async throws {
        let fixture = try await TestObjectStore.make(kind)
        defer { fixture.cleanup() }
        // 20 MiB in 300 KiB chunks: parts are cut across chunk boundaries.
        let body = PatternBody(chunkSize: 300 << 10, totalBytes: 20 << 20)
        let info = try await fixture.store.put(bucket: fixture.bucket, key: "streamed", body: body)
        #expect(info.size == 20 << 20)
        var digest = SHA256()
        var received = 0
        try await fixture.store.get(bucket: fixture.bucket, key: "streamed", range: nil) { chunk in
            received += chunk.readableBytes
            chunk.withUnsafeReadableBytes { digest.update(bufferPointer: $0) }
        }
        #expect(received == 20 << 20)
        #expect(Data(digest.finalize()) == PatternBody.sha256(totalBytes: 20 << 20))
        // A small streamed body goes up in one piece.
        #expect(try await fixture.store.put(bucket: fixture.bucket, key: "small", body: PatternBody(chunkSize: 1000, totalBytes: 2500)).size == 2500)
        #expect(try await fixture.store.head(bucket: fixture.bucket, key: "small")?.size == 2500)
    }

    @Test(arguments: TestObjectStoreKind.allCases)
    func rangedReadsAnswerExactlyTheBytesAsked(_ kind: TestObjectStoreKind) async throws {
        // given: bytes 0, 1, 2, … 250, 0, 1, … (the pattern), 3 MiB
        let fixture = try await TestObjectStore.make(kind)
        defer { fixture.cleanup() }
        let size = 3 << 20
        _ = try await fixture.store.put(bucket: fixture.bucket, key: "data/pattern", body: PatternBody(chunkSize: 64 << 10, totalBytes: size))
        func read(_ range: ObjectByteRange) async throws -> (ObjectInfo, [UInt8]) {
            var bytes: [UInt8] = []
            let info = try await fixture.store.get(bucket: fixture.bucket, key: "data/pattern", range: range) { bytes += Array($0.readableBytesView) }
            return (info, bytes)
        }
        // when / then
        let (info, middle) = try await read(ObjectByteRange(1000...1999))
        #expect(info.size == Int64(size))
        #expect(middle == (1000...1999).map { PatternBody.byte(at: $0) })
        let (_, tail) = try await read(ObjectByteRange(first: Int64(size - 10)))
        #expect(tail == ((size - 10)..<size).map { PatternBody.byte(at: $0) })
        let (_, clipped) = try await read(ObjectByteRange(first: Int64(size - 5), last: Int64(size + 100)))
        #expect(clipped.count == 5)
        await #expect(throws: ObjectStoreError.self) { _ = try await read(ObjectByteRange(first: Int64(size + 10), last: Int64(size + 20))) }
        do {
            _ = try await read(ObjectByteRange(first: Int64(size + 10), last: Int64(size + 20)))
        } catch let error as ObjectStoreError {
            #expect(error.code == "InvalidRange")
            #expect("\(error)".contains("data/pattern"))
        }
    }

    @Test(arguments: TestObjectStoreKind.allCases)
    func listingPagesPastAThousandKeys(_ kind: TestObjectStoreKind) async throws {
        // given: 1,050 objects under a prefix and two beside it
        let fixture = try await TestObjectStore.make(kind)
        defer { fixture.cleanup() }
        let keys = (0..<1050).map { String(format: "ckpt/shard-%05d", $0) }
        let store = fixture.store
        let bucket = fixture.bucket
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, key) in (keys + ["ckpt-other", "aaa"]).enumerated() {
                if index >= 16 { try await group.next() }
                group.addTask { _ = try await store.put(bucket: bucket, key: key, body: PatternBody(chunkSize: 10, totalBytes: 10)) }
            }
            try await group.waitForAll()
        }
        // when
        let first = try await store.listPage(bucket: bucket, prefix: "ckpt/", continuationToken: nil, maxKeys: 1000)
        let second = try await store.listPage(bucket: bucket, prefix: "ckpt/", continuationToken: first.nextContinuationToken, maxKeys: 1000)
        let all = try await store.list(bucket: bucket, prefix: "ckpt/")
        // then
        #expect(first.objects.count == 1000)
        #expect(first.nextContinuationToken != nil)
        #expect(second.objects.map(\.key) == Array(keys[1000...]))
        #expect(second.nextContinuationToken == nil)
        #expect(all.map(\.key) == keys)
        #expect(all.allSatisfy { $0.size == 10 })
    }

    @Test(arguments: TestObjectStoreKind.allCases)
    func aFailedUploadLeavesNoObjectBehind(_ kind: TestObjectStoreKind) async throws {
        // given: an object already there, and a body that breaks after 20 MiB (past the first parts)
        let fixture = try await TestObjectStore.make(kind)
        defer { fixture.cleanup() }
        _ = try await fixture.store.put(bucket: fixture.bucket, key: "model.tar.gz", body: PatternBody(chunkSize: 100, totalBytes: 100))
        let broken = PatternBody(chunkSize: 1 << 20, totalBytes: 40 << 20, failAfterBytes: 20 << 20)
        // when
        await #expect(throws: (any Error).self) {
            _ = try await fixture.store.put(bucket: fixture.bucket, key: "model.tar.gz", body: broken)
        }
        await #expect(throws: (any Error).self) {
            _ = try await fixture.store.put(bucket: fixture.bucket, key: "fresh.tar.gz", body: broken)
        }
        // then: the old object is intact, the new one never appeared
        #expect(try await fixture.store.head(bucket: fixture.bucket, key: "model.tar.gz")?.size == 100)
        #expect(try await fixture.store.head(bucket: fixture.bucket, key: "fresh.tar.gz") == nil)
        #expect(try await fixture.store.list(bucket: fixture.bucket, prefix: "").map(\.key) == ["model.tar.gz"])
    }

    @Test(arguments: TestObjectStoreKind.allCases)
    func headDeleteAndMissingKeys(_ kind: TestObjectStoreKind) async throws {
        let fixture = try await TestObjectStore.make(kind)
        defer { fixture.cleanup() }
        let store = fixture.store
        #expect(try await store.head(bucket: fixture.bucket, key: "nothing/here") == nil)
        await #expect(throws: ObjectStoreError.noSuchKey(bucket: fixture.bucket, key: "nothing/here")) {
            try await store.get(bucket: fixture.bucket, key: "nothing/here", toFile: fixture.scratch + "/out")
        }
        #expect(!FileManager.default.fileExists(atPath: fixture.scratch + "/out"))
        try await store.delete(bucket: fixture.bucket, key: "nothing/here")
        try "hello".write(toFile: fixture.scratch + "/hello.txt", atomically: true, encoding: .utf8)
        _ = try await store.put(bucket: fixture.bucket, key: "a b/hello+1.txt", fromFile: fixture.scratch + "/hello.txt")
        #expect(try await store.head(bucket: fixture.bucket, key: "a b/hello+1.txt")?.size == 5)
        #expect(try await store.list(bucket: fixture.bucket, prefix: "a b/").map(\.key) == ["a b/hello+1.txt"])
        try await store.delete(bucket: fixture.bucket, key: "a b/hello+1.txt")
        #expect(try await store.head(bucket: fixture.bucket, key: "a b/hello+1.txt") == nil)
        // An empty object round-trips.
        FileManager.default.createFile(atPath: fixture.scratch + "/empty", contents: nil)
        _ = try await store.put(bucket: fixture.bucket, key: "empty", fromFile: fixture.scratch + "/empty")
        try await store.get(bucket: fixture.bucket, key: "empty", toFile: fixture.scratch + "/empty-copy")
        #expect(try FileManager.default.attributesOfItem(atPath: fixture.scratch + "/empty-copy")[.size] as? Int == 0)
    }
}
