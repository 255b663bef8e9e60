import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import TrainyardCore
import TrainyardObjectStore
import TrainyardServer

/// Code archives up and model archives down through the API (`PUT /v1/jobs/{name}/source`,
/// `GET /v1/jobs/{name}/artifacts/{model,output}`), as a client on another machine uses them: with its key only.
@Suite(.serialized) struct ArtifactTransferTests {
    /// A Python trainer, as users write one: it prints, writes a model of every byte value (NUL included) and some
    /// output data.
    static let trainer = #"""
        import os, sys
        print("training", flush=True)
        weights = bytes(range(256)) * (40 * 1024)  # 10 MiB: the download crosses several chunks
        with open(os.path.join(os.environ["SM_MODEL_DIR"], "weights.bin"), "wb") as f:
            f.write(weights)
        with open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "report.txt"), "w") as f:
            f.write("accuracy=0.9\n")
        print("saved", len(weights), flush=True)
        """#

    /// `directory` packed as the SDK packs `source_dir`: a gzipped tar of its files.
    static func pack(_ directory: String, into archive: String) throws {
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["-czf", archive, "-C", directory, "."]
        try tar.run()
        tar.waitUntilExit()
        guard tar.terminationStatus == 0 else { throw TestFailure("tar failed") }
    }

    static func sha256Hex(_ bytes: some Sequence<UInt8>) -> String {
        var hasher = SHA256()
        hasher.update(data: Array(bytes))
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    static func digestField(_ bytes: [UInt8]) -> String {
        "sha-256=:\(Data(SHA256.hash(data: bytes)).base64EncodedString()):"
    }

    /// PUTs `bytes` as a code archive; `chunked` sends no `Content-Length`.
    static func upload(
        _ app: LiveApp, _ name: String, bytes: [UInt8], token: String? = nil, query: String = "", digest: String? = nil, chunked: Bool = false
    ) async throws -> (Int, [String: Any]) {
        var request = HTTPClientRequest(url: app.baseURL + "/v1/jobs/\(name)/source" + query)
        request.method = .PUT
        request.headers.add(name: "Authorization", value: "Bearer \(token ?? app.token)")
        request.headers.add(name: "Content-Type", value: "application/gzip")
        if let digest { request.headers.add(name: "Content-Digest", value: digest) }
        if chunked {
            let parts = stride(from: 0, to: bytes.count, by: 1 << 16).map { ByteBuffer(bytes: bytes[$0..<min($0 + (1 << 16), bytes.count)]) }
            request.body = .stream(parts.async, length: .unknown)
        } else {
            request.body = .bytes(ByteBuffer(bytes: bytes))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:])
    }

    /// GETs an artifact: status, headers and bytes.
    static func download(
        _ app: LiveApp, _ name: String, _ artifact: String, token: String? = nil, headers: [(String, String)] = []
    ) async throws -> (Int, HTTPHeaders, [UInt8]) {
        var request = HTTPClientRequest(url: app.baseURL + "/v1/jobs/\(name)/artifacts/\(artifact)")
        request.headers.add(name: "Authorization", value: "Bearer \(token ?? app.token)")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 64 << 20)
        return (Int(response.status.code), response.headers, Array(buffer: body))
    }

    static func problemFields(_ problem: [String: Any]) -> [String] {
        (problem["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }
    }

    @Test func aCodeArchiveUploadedThroughTheAPIRunsAndItsArchivesComeBackWithTheirDigests() async throws {
        try await LiveApp.run { app in
            // given: a Python trainer packed as the SDK packs source_dir, in a directory the server knows nothing of
            let code = app.dataDirectory + "/elsewhere/src"
            try FileManager.default.createDirectory(atPath: code, withIntermediateDirectories: true)
            try Self.trainer.write(toFile: code + "/train.py", atomically: true, encoding: .utf8)
            try Self.pack(code, into: app.dataDirectory + "/elsewhere/sourcedir.tar.gz")
            let archive = try [UInt8](Data(contentsOf: URL(fileURLWithPath: app.dataDirectory + "/elsewhere/sourcedir.tar.gz")))

            // when it is uploaded with its digest
            let (status, stored) = try await Self.upload(app, "py-upload", bytes: archive, digest: Self.digestField(archive))

            // then it is stored where the SDK would put it, under the project's own location, as sent
            #expect(status == 201, "\(stored)")
            let sourceDir = try #require(stored["source_dir"] as? String)
            #expect(sourceDir == "s3://trainyard/default/py-upload/source/sourcedir.tar.gz")
            #expect(stored["size_bytes"] as? Int == archive.count)
            #expect(stored["sha256"] as? String == Self.sha256Hex(archive))
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: app.objectPath(sourceDir)))) == archive)

            // and a job submitted with it runs it
            try await app.submit(#"{"name":"py-upload","instance_type":"ml.m5.large","entry_point":"train.py","source_dir":"\#(sourceDir)"}"#)
            // (while it has not ended, its archives are not there yet, and the answer says when they will be)
            let (early, _, earlyBody) = try await Self.download(app, "py-upload", "model")
            let earlyProblem = (try? JSONSerialization.jsonObject(with: Data(earlyBody))) as? [String: Any] ?? [:]
            #expect(early == 409 && (earlyProblem["detail"] as? String ?? "").contains("its model.tar.gz is uploaded when it ends"), "\(earlyProblem)")
            let job = try await app.waitForStatus("py-upload", "Completed", timeout: .seconds(120))
            let model = try #require(job["model_artifacts"] as? [String: Any])

            // then model.tar.gz comes back whole: its size, the digest the description records, the model inside
            let (got, headers, bytes) = try await Self.download(app, "py-upload", "model")
            #expect(got == 200)
            #expect(bytes.count == model["size_bytes"] as? Int)
            #expect(Self.sha256Hex(bytes) == model["sha256"] as? String)
            #expect(headers.first(name: "Repr-Digest") == Self.digestField(bytes))
            #expect(headers.first(name: "Content-Length") == String(bytes.count))
            #expect(headers.first(name: "Content-Type") == "application/gzip")
            let unpacked = app.dataDirectory + "/unpacked-model"
            try FileManager.default.createDirectory(atPath: unpacked, withIntermediateDirectories: true)
            try Data(bytes).write(to: URL(fileURLWithPath: unpacked + "/model.tar.gz"))
            try TarArchive.extract(unpacked + "/model.tar.gz", into: unpacked + "/files")
            let weights = try [UInt8](Data(contentsOf: URL(fileURLWithPath: unpacked + "/files/weights.bin")))
            #expect(weights == Array(repeating: Array(0...255 as ClosedRange<UInt8>), count: 40 * 1024).flatMap { $0 })

            // and so does output.tar.gz
            let outputs = try #require(job["output_artifacts"] as? [String: Any])
            let (gotOutput, outputHeaders, outputBytes) = try await Self.download(app, "py-upload", "output")
            #expect(gotOutput == 200 && outputBytes.count == outputs["size_bytes"] as? Int)
            #expect(outputHeaders.first(name: "Repr-Digest") == Self.digestField(outputBytes))
            #expect(Self.sha256Hex(outputBytes) == outputs["sha256"] as? String)

            // and a broken download resumes where it stopped, as curl -C - asks: the rest, said to be the rest
            let etag = "\"\(Self.sha256Hex(bytes))\""
            #expect(headers.first(name: "ETag") == etag && headers.first(name: "Accept-Ranges") == "bytes")
            let cut = bytes.count / 3
            let (resumed, partHeaders, rest) = try await Self.download(app, "py-upload", "model", headers: [("Range", "bytes=\(cut)-"), ("If-Range", etag)])
            #expect(resumed == 206 && rest == Array(bytes[cut...]))
            #expect(partHeaders.first(name: "Content-Range") == "bytes \(cut)-\(bytes.count - 1)/\(bytes.count)")
            #expect(partHeaders.first(name: "Content-Length") == String(bytes.count - cut))
            #expect(partHeaders.first(name: "Repr-Digest") == Self.digestField(bytes), "the whole archive's digest, not the part's")
            let (_, _, middle) = try await Self.download(app, "py-upload", "model", headers: [("Range", "bytes=10-19")])
            let (_, _, tail) = try await Self.download(app, "py-upload", "model", headers: [("Range", "bytes=-7")])
            #expect(middle == Array(bytes[10...19]) && tail == Array(bytes.suffix(7)))
            // (a part of another archive is not glued to this one: the whole archive comes instead)
            let (stale, _, whole) = try await Self.download(app, "py-upload", "model", headers: [("Range", "bytes=\(cut)-"), ("If-Range", "\"0abc\"")])
            #expect(stale == 200 && whole == bytes)
            // (several ranges are not served: the whole archive)
            let (several, _, all) = try await Self.download(app, "py-upload", "model", headers: [("Range", "bytes=0-1,5-6")])
            #expect(several == 200 && all == bytes)
            // past the end there is nothing to send, and the answer gives the size
            let (beyond, beyondHeaders, beyondBody) = try await Self.download(app, "py-upload", "model", headers: [("Range", "bytes=\(bytes.count)-")])
            let beyondProblem = (try? JSONSerialization.jsonObject(with: Data(beyondBody))) as? [String: Any] ?? [:]
            #expect(beyond == 416 && beyondHeaders.first(name: "Content-Range") == "bytes */\(bytes.count)")
            #expect(beyondHeaders.first(name: "Content-Type") == "application/problem+json")
            #expect(beyondProblem["detail"] as? String == "training job py-upload's model.tar.gz has \(bytes.count) bytes; the Range asks for none of them")

            // and the job's code cannot be replaced once the job exists
            let (again, conflict) = try await Self.upload(app, "py-upload", bytes: archive)
            #expect(again == 409 && (conflict["detail"] as? String ?? "").contains("its code cannot change under it"), "\(conflict)")
        }
    }

    @Test func anUploadThatIsWrongStoresNothingAndSaysWhy() async throws {
        try await LiveApp.run(limits: RequestLimits(sourceArchiveBytes: 1 << 20)) { app in
            let archive = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            let destination = app.objectPath("s3://trainyard/default/bad-upload/source/sourcedir.tar.gz")

            // a digest of other bytes
            let (mismatch, problem) = try await Self.upload(app, "bad-upload", bytes: archive, digest: Self.digestField([1, 2, 3]))
            #expect(mismatch == 422 && Self.problemFields(problem) == ["Content-Digest"], "\(problem)")
            #expect((problem["detail"] as? String ?? "").contains("nothing was stored"), "\(problem)")
            #expect(!FileManager.default.fileExists(atPath: destination))
            // the same through a chunked body
            let (chunkedMismatch, _) = try await Self.upload(app, "bad-upload", bytes: archive, digest: Self.digestField([1]), chunked: true)
            #expect(chunkedMismatch == 422 && !FileManager.default.fileExists(atPath: destination))

            // a digest field that is not one, a bad name and an output path that is no URI: every field named at once
            let (malformed, many) = try await Self.upload(
                app, "bad_name", bytes: archive, query: "?output_path=ftp://x", digest: "md5=:AAAA:")
            #expect(malformed == 422 && Set(Self.problemFields(many)) == ["name", "output_path", "Content-Digest"], "\(many)")

            // output paths no object can be created at: a file on the way, a name longer than a file name may be
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("unwritable-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            try Data("a file".utf8).write(to: URL(fileURLWithPath: scratch + "/afile"))
            let longName = String(repeating: "n", count: 300)
            for (query, rule, says) in [
                ("?output_path=file://\(scratch)/afile/out", "writable", "Not a directory"),
                ("?output_path=file://\(scratch)/\(longName)", "file_name_length", "has 300 bytes; a file name has at most 255"),
                ("?output_path=s3://trainyard/default/\(longName)", "writable", "at most 255 bytes; the segment 'nnnn"),
            ] {
                let (status, problem) = try await Self.upload(app, "bad-upload", bytes: archive, query: query)
                let errors = problem["errors"] as? [[String: Any]] ?? []
                #expect(status == 422 && errors.count == 1 && errors.first?["field"] as? String == "output_path", "\(query): \(problem)")
                #expect(errors.first?["rule"] as? String == rule, "\(query): \(problem)")
                #expect((errors.first?["message"] as? String ?? "").contains(says), "\(query): \(problem)")
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: scratch) == ["afile"])

            // an empty body
            let (empty, emptyProblem) = try await Self.upload(app, "bad-upload", bytes: [])
            #expect(empty == 422 && (emptyProblem["detail"] as? String ?? "").contains("the body is empty"), "\(emptyProblem)")

            // more than TRAINYARD_MAX_SOURCE_BYTES, declared or streamed
            let large = [UInt8](repeating: 7, count: (1 << 20) + 1)
            let (declared, declaredProblem) = try await Self.upload(app, "bad-upload", bytes: large)
            #expect(declared == 413 && (declaredProblem["detail"] as? String ?? "").contains("at most 1 MiB"), "\(declaredProblem)")
            let (streamed, _) = try await Self.upload(app, "bad-upload", bytes: large, chunked: true)
            #expect(streamed == 413)
            #expect(!FileManager.default.fileExists(atPath: destination))

            // a viewer's key may not upload
            let (_, reader) = try await app.request(.POST, "/v1/api-keys", json: #"{"role":"viewer","name":"ro"}"#)
            let readerToken = try #require(reader["token"] as? String, "\(reader)")
            let (forbidden, _) = try await Self.upload(app, "bad-upload", bytes: archive, token: readerToken)
            #expect(forbidden == 403)
            #expect(!FileManager.default.fileExists(atPath: destination))

            // and the good upload still works after all that
            let (good, _) = try await Self.upload(app, "bad-upload", bytes: archive, digest: Self.digestField(archive), chunked: true)
            #expect(good == 201)
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: destination))) == archive)
        }
    }

    @Test func twoProjectsUploadingOneNameEachGetTheirOwnArchiveAndNeitherReadsTheOthers() async throws {
        try await LiveApp.run { app in
            let (created, project) = try await app.request(.POST, "/v1/projects", json: #"{"name":"team-b"}"#)
            #expect(created == 201)
            let tokenB = try #require((project["api_key"] as? [String: Any])?["token"] as? String)
            let codeA: [UInt8] = Array("archive of a".utf8)
            let codeB: [UInt8] = Array("archive of b".utf8)

            let (a, storedA) = try await Self.upload(app, "mnist", bytes: codeA)
            let (b, storedB) = try await Self.upload(app, "mnist", bytes: codeB, token: tokenB)
            #expect(a == 201 && b == 201)
            #expect(storedA["source_dir"] as? String == "s3://trainyard/default/mnist/source/sourcedir.tar.gz")
            #expect(storedB["source_dir"] as? String == "s3://trainyard/team-b/mnist/source/sourcedir.tar.gz")
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: app.objectPath("s3://trainyard/default/mnist/source/sourcedir.tar.gz")))) == codeA)
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: app.objectPath("s3://trainyard/team-b/mnist/source/sourcedir.tar.gz")))) == codeB)

            // project b may not write into project a's location
            let (outside, problem) = try await Self.upload(app, "mnist", bytes: codeB, token: tokenB, query: "?output_path=s3://trainyard/default")
            #expect(outside == 422 && Self.problemFields(problem) == ["output_path"], "\(problem)")

            // nor read project a's artifacts: a's job does not exist for b
            try await app.submit(try WorkerTests.job(app, "only-a", script: "echo a"))
            _ = try await app.waitForStatus("only-a", "Completed")
            let (mine, _, _) = try await Self.download(app, "only-a", "model")
            let (theirs, _, body) = try await Self.download(app, "only-a", "model", token: tokenB)
            #expect(mine == 200)
            #expect(theirs == 404 && String(decoding: body, as: UTF8.self).contains("training job only-a not found"))
            // and a job that failed before its code ran has no model.tar.gz, which the answer says
            try await app.submit(
                #"{"name":"no-code","instance_type":"ml.m5.large","entry_point":"train.py","source_dir":"s3://trainyard/default/absent/sourcedir.tar.gz"}"#)
            let failed = try await app.waitForStatus("no-code", "Failed")
            let (noModel, _, noModelBody) = try await Self.download(app, "no-code", "model")
            let text = String(decoding: noModelBody, as: UTF8.self)
            #expect(noModel == 404 && text.contains("training job no-code has no model.tar.gz: it ended Failed before uploading one"), "\(text)")
            #expect(text.contains(failed["failure_reason"] as? String ?? "-"), "\(text)")
        }
    }
}
