import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import TrainyardAPI
import TrainyardCore
import TrainyardObjectStore
import TrainyardServer
import TrainyardTestSupport

/// No service credentials on workers (issue 16, item 4): on a real SeaweedFS, a project's job stages its S3 code and
/// channel, syncs checkpoints and uploads a multipart model with requests its server signed one by one, while its
/// assignment and environment hold no key; its host's token gets nothing signed outside the job's locations, no copy,
/// and nothing once the job has ended.
@Suite(.serialized) struct S3AgentSigningTests {
    /// Waits until `release` appears in the checkpoint directory, so that the test acts while the host lives; writes a
    /// checkpoint and a scratch file (deleted before the end, so the final sync deletes it in S3) and a 20 MB model,
    /// which goes up by multipart upload.
    static let script = #"""
        set -e
        ls "$SM_CHANNEL_TRAIN" | sort > "$SM_MODEL_DIR/train"
        echo 1 > "$SM_CHECKPOINT_DIR/step"; echo scratch > "$SM_CHECKPOINT_DIR/scratch"
        waited=0
        while [ ! -f "$SM_CHECKPOINT_DIR/release" ]; do
          sleep 0.2; waited=$((waited + 1)); [ "$waited" -lt 900 ] || { echo "never released" >&2; exit 1; }
        done
        rm "$SM_CHECKPOINT_DIR/scratch"; echo 2 > "$SM_CHECKPOINT_DIR/step"
        head -c 20000000 /dev/urandom > "$SM_MODEL_DIR/weights.bin"
        echo done > "$SM_OUTPUT_DATA_DIR/done"
        """#

    static let workers = WorkerSettings(
        heartbeatInterval: 0.3, hostLease: 5, stopGrace: 2, launchTimeout: 30, systemMetricsInterval: 0, checkpointSyncInterval: 0.5)

    /// A signature request for `key` as the agent's store makes it, with `extra` headers.
    static func signatureRequest(
        _ method: String, bucket: String, key: String, query: [(String, String)] = [], extra: [(String, String)] = [], endpoint: String
    ) throws -> String {
        let host = String(endpoint.dropFirst("http://".count))
        let request = S3SignatureRequest(
            method: method, bucket: bucket, key: key, query: query.map { .init(name: $0.0, value: $0.1) },
            headers: [.init(name: "host", value: host)] + extra.map { .init(name: $0.0, value: $0.1) }, payloadHash: "UNSIGNED-PAYLOAD")
        return String(decoding: try JSONEncoder().encode(Components.Schemas.S3SignatureRequest(request)), as: UTF8.self)
    }

    static func detail(_ body: String) -> String {
        ((try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any])?["detail"] as? String ?? body
    }

    @Test func aJobOnS3RunsWithServerSignedRequestsAndItsTokenGetsNothingElseSigned() async throws {
        // given: project team's code, data in its own prefix, and project vision's model beside it in the same bucket
        let scratch = try LiveApp.dataDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let server = try await TestSeaweed.shared()
        let store = try server.store()
        let bucket = "signing-\(UUID().uuidString.lowercased().prefix(8))"
        try await store.createBucket(bucket)
        func put(_ key: String, _ text: String) async throws {
            let file = "\(scratch)/put-\(UUID().uuidString)"
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            _ = try await store.put(bucket: bucket, key: key, fromFile: file)
        }
        for index in 0..<3 { try await put("team/datasets/numbers/part-\(index).txt", "sample \(index)") }
        try await put("team/code/run.sh", "#!/bin/sh\n" + Self.script + "\n")
        try await put("vision/model.tar.gz", "vision's weights")

        try await LiveApp.run(workers: Self.workers, objectStore: S3JobTests.settings(server, bucket: bucket)) { app in
            let (created, project) = try await app.request(.POST, "/v1/projects", json: #"{"name":"team"}"#)
            #expect(created == 201, "\(project)")
            let teamToken = try #require((project["api_key"] as? [String: Any])?["token"] as? String)
            let spec = #"""
                {"name":"signed","instance_type":"ml.m5.large","entry_point":"run.sh","source_dir":"s3://\#(bucket)/team/code",
                 "inputs":{"train":"s3://\#(bucket)/team/datasets/numbers/"},"checkpoint_s3_uri":"s3://\#(bucket)/team/ckpt/signed",
                 "output_path":"s3://\#(bucket)/team/models"}
                """#
            let (submitted, submitBody) = try await LiveHTTP.request(.POST, app.baseURL + "/v1/jobs", token: teamToken, json: spec)
            #expect(submitted == 201, "\(submitBody)")
            // The job as its project sees it.
            func describe() async throws -> [String: Any] {
                let (_, body) = try await LiveHTTP.request(.GET, app.baseURL + "/v1/jobs/signed", token: teamToken)
                return (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
            }
            func waitFor(_ what: String, timeout: Duration = .seconds(120), _ condition: ([String: Any]) async throws -> Bool) async throws
                -> [String: Any]
            {
                let deadline = ContinuousClock.now + timeout
                var last: [String: Any] = [:]
                while ContinuousClock.now < deadline {
                    last = try await describe()
                    if try await condition(last) { return last }
                    try await Task.sleep(for: .milliseconds(100))
                }
                throw TestFailure("never saw \(what); last: \(last["status"] ?? "-")/\(last["secondary_status"] ?? "-") \(last["failure_reason"] ?? "")")
            }

            // when: it trains, having staged its code and channel and synced its first checkpoint through signed requests
            let training = try await waitFor("Training") { ($0["secondary_status"] as? String) == "Training" }
            let hostID = try #require(((training["attempts"] as? [[String: Any]])?.first?["hosts"] as? [[String: Any]])?.first?["id"] as? String)
            _ = try await waitFor("the first checkpoint sync") { _ in
                (try? await store.head(bucket: bucket, key: "team/ckpt/signed/scratch")) != nil
            }
            let pid = try app.agentPID(job: "signed", attempt: 1, host: "algo-1")
            let environ = String(decoding: FileManager.default.contents(atPath: "/proc/\(pid)/environ") ?? Data(), as: UTF8.self)
            let token = String(
                try #require(environ.split(separator: "\0").first { $0.hasPrefix("TRAINYARD_AGENT_TOKEN=") }?.dropFirst("TRAINYARD_AGENT_TOKEN=".count)))

            // then: neither the assignment nor the agent's environment holds the service's keys
            let (assigned, assignment) = try await LiveHTTP.request(.GET, app.baseURL + "/v1/agent/assignment", token: token)
            #expect(assigned == 200, "\(assignment)")
            #expect(!assignment.contains(TestSeaweed.accessKey) && !assignment.contains(TestSeaweed.secretKey), "\(assignment)")
            let objectStore = ((try JSONSerialization.jsonObject(with: Data(assignment.utf8)) as? [String: Any])?["object_store"] as? [String: Any]) ?? [:]
            #expect(objectStore["signed_by"] as? String == "server" && objectStore["kind"] as? String == "s3", "\(objectStore)")
            #expect(Set(objectStore.keys).isSubset(of: ["kind", "endpoint", "region", "addressing", "signed_by"]), "\(objectStore)")
            #expect(!environ.contains(TestSeaweed.accessKey) && !environ.contains(TestSeaweed.secretKey))

            // and a request of the job is signed, and S3 takes the signature
            let signatures = app.baseURL + "/v1/agent/s3-signatures"
            let allowed = try Self.signatureRequest("GET", bucket: bucket, key: "team/datasets/numbers/part-1.txt", endpoint: server.endpoint)
            let (signed, answer) = try await LiveHTTP.request(.POST, signatures, token: token, json: allowed)
            #expect(signed == 200, "\(answer)")
            let headers = S3SignatureAnswer(try JSONDecoder().decode(Components.Schemas.S3SignatureAnswer.self, from: Data(answer.utf8))).headers
            #expect(!answer.contains(TestSeaweed.secretKey))
            var direct = HTTPClientRequest(url: "\(server.endpoint)/\(bucket)/team/datasets/numbers/part-1.txt")
            for header in headers { direct.headers.add(name: header.name, value: header.value) }
            let fetched = try await HTTPClient.shared.execute(direct, timeout: .seconds(30))
            #expect(fetched.status == .ok)
            #expect(String(buffer: try await fetched.body.collect(upTo: 1 << 20)) == "sample 1")

            // and what the job may not do is refused, saying what and why
            let refusals: [(request: String, detail: String)] = [
                (try Self.signatureRequest("GET", bucket: bucket, key: "vision/model.tar.gz", endpoint: server.endpoint),
                 "GetObject of s3://\(bucket)/vision/model.tar.gz is not signed for an agent: it lies outside where this host's job may read ("),
                (try Self.signatureRequest("GET", bucket: bucket, key: "", query: [("list-type", "2"), ("prefix", "vision/")], endpoint: server.endpoint),
                 "ListObjectsV2 of s3://\(bucket)/vision/ is not signed for an agent: it lies outside where this host's job may read ("),
                (try Self.signatureRequest("PUT", bucket: bucket, key: "vision/model.tar.gz", endpoint: server.endpoint),
                 "PutObject of s3://\(bucket)/vision/model.tar.gz is not signed for an agent: it lies outside where this host's job may write ("),
                (try Self.signatureRequest(
                    "PUT", bucket: bucket, key: "team/ckpt/signed/stolen", extra: [("x-amz-copy-source", "/\(bucket)/vision/model.tar.gz")],
                    endpoint: server.endpoint),
                 "PutObject of s3://\(bucket)/team/ckpt/signed/stolen is not signed for an agent: header x-amz-copy-source is not signed for agents"),
                (try Self.signatureRequest("PUT", bucket: bucket, key: "", query: [("policy", "")], endpoint: server.endpoint),
                 "PUT s3://\(bucket)?policy is not signed for an agent: it is not one of the operations a worker needs"),
                (try Self.signatureRequest("DELETE", bucket: bucket, key: "", endpoint: server.endpoint),
                 "DELETE s3://\(bucket) is not signed for an agent"),
            ]
            for refusal in refusals {
                let (status, body) = try await LiveHTTP.request(.POST, signatures, token: token, json: refusal.request)
                #expect(status == 403 && Self.detail(body).hasPrefix(refusal.detail), "\(status) \(body)")
            }
            // and another host's token, or none, gets nothing signed
            let (anonymous, _) = try await LiveHTTP.request(.POST, signatures, token: nil, json: allowed)
            #expect(anonymous == 401)
            let (forged, _) = try await LiveHTTP.request(.POST, signatures, token: hostID + ".not-its-secret", json: allowed)
            #expect(forged == 401)

            // when: the job goes on and ends
            FileManager.default.createFile(atPath: "\(app.dataDirectory)/workers/\(hostID)/checkpoints/release", contents: Data())
            let job = try await waitFor("Completed", timeout: .seconds(180)) { ["Completed", "Failed"].contains($0["status"] as? String ?? "") }
            #expect(job["status"] as? String == "Completed", "\(job["failure_reason"] ?? "")")

            // then: its model (uploaded in parts through signatures) and its final checkpoint are in S3, the deleted
            // checkpoint file is gone from S3, and vision's model is untouched
            try await store.get(bucket: bucket, key: "team/models/signed/output/model.tar.gz", toFile: scratch + "/model.tar.gz")
            try TarArchive.extract(scratch + "/model.tar.gz", into: scratch + "/model")
            #expect(try String(contentsOfFile: scratch + "/model/train", encoding: .utf8) == "part-0.txt\npart-1.txt\npart-2.txt\n")
            let weights = try FileManager.default.attributesOfItem(atPath: scratch + "/model/weights.bin")[.size] as? Int
            #expect(weights == 20_000_000)
            #expect(await S3SpotJobTests.text(store, bucket, "team/ckpt/signed/step", scratch: scratch) == "2\n")
            #expect(try await store.head(bucket: bucket, key: "team/ckpt/signed/scratch") == nil)
            #expect(try await store.head(bucket: bucket, key: "team/ckpt/signed/stolen") == nil)
            #expect(await S3SpotJobTests.text(store, bucket, "vision/model.tar.gz", scratch: scratch) == "vision's weights")

            // and the ended host's token gets nothing signed any more, not even what its job could do
            let (ended, endedBody) = try await LiveHTTP.request(.POST, signatures, token: token, json: allowed)
            #expect(ended == 403 && Self.detail(endedBody).hasSuffix("has ended; its token no longer gets S3 requests signed"), "\(ended) \(endedBody)")
        }
    }
}
