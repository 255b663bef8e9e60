import Foundation
import Testing
import TrainyardCore
import TrainyardObjectStore
import TrainyardServer
import TrainyardTestSupport

/// Issue 5's end-to-end case: a 2-host spot job whose inputs, checkpoints and outputs all live in a real SeaweedFS is
/// interrupted through the admin API, resumes from its S3 checkpoint and leaves its model in S3. Every object is
/// checked through the S3 store, never the file system.
@Suite(.serialized) struct S3SpotJobTests {
    /// Each host counts `STEPS` steps of 0.1 s, keeping its step in `step-<host>` of the checkpoint directory (written
    /// then renamed), resuming from it, and recording where each attempt started.
    static let script = #"""
        ck="$SM_CHECKPOINT_DIR"; me="$SM_CURRENT_HOST"; step=0
        [ -f "$ck/step-$me" ] && step=$(cat "$ck/step-$me")
        echo "$step" >> "$ck/starts-$me"
        trap 'exit 143' TERM
        ls "$SM_CHANNEL_TRAIN" | sort > "$SM_MODEL_DIR/train-$me"
        # The first attempt trains slowly, so that the reclaim lands mid-training however loaded the machine is.
        pace=0.1; [ "$step" -eq 0 ] && pace=1
        while [ "$step" -lt "$STEPS" ]; do
          step=$((step + 1)); echo "$step" > "$ck/step-$me.tmp"; mv "$ck/step-$me.tmp" "$ck/step-$me"; sleep $pace
        done
        cp "$ck/starts-$me" "$SM_MODEL_DIR/starts-$me"; echo "$step" > "$SM_MODEL_DIR/final-step-$me"
        echo done > "$SM_OUTPUT_DATA_DIR/done-$me"
        """#

    /// The text of an object, or nil when there is none.
    static func text(_ store: S3ObjectStore, _ bucket: String, _ key: String, scratch: String) async -> String? {
        let file = "\(scratch)/read-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: file) }
        guard (try? await store.get(bucket: bucket, key: key, toFile: file)) != nil else { return nil }
        return try? String(contentsOfFile: file, encoding: .utf8)
    }

    static func storedStep(_ store: S3ObjectStore, _ bucket: String, _ key: String, scratch: String) async -> Int {
        Int((await text(store, bucket, key, scratch: scratch) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    @Test func aTwoHostSpotJobOnS3InterruptedOnceResumesFromItsS3CheckpointAndLeavesItsModelInS3() async throws {
        // given: a dataset in S3 and a job whose checkpoints and outputs go to the same bucket
        let scratch = try LiveApp.dataDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let (server, store, bucket) = try await S3JobTests.bucketWithNumbers("spot", scratch: scratch)
        let checkpoints = "checkpoints/resumed"
        try await LiveApp.run(workers: SpotTests.workers(), objectStore: S3JobTests.settings(server, bucket: bucket)) { app in
            let extra = #","use_spot_instances":true,"max_run":600,"max_wait":1200,"checkpoint_s3_uri":"s3://\#(bucket)/\#(checkpoints)","#
                + #""environment":{"STEPS":"40"},"inputs":{"train":{"s3_uri":"s3://\#(bucket)/datasets/numbers/","distribution":"ShardedByS3Key"}}"#
            let body = try WorkerTests.job(app, "s3-spot", count: 2, script: Self.script, extra: extra)
                .replacingOccurrences(of: #""output_path":"s3://models/""#, with: #""output_path":"s3://\#(bucket)/models""#)
            try await app.submit(body)
            let running = try await app.waitFor("s3-spot", "attempt 1 training") {
                ($0["attempts"] as? [[String: Any]])?.count == 1 && ($0["secondary_status"] as? String) == "Training"
            }
            // both hosts have checkpointed a few steps into S3
            let deadline = ContinuousClock.now + .seconds(60)
            for host in ["algo-1", "algo-2"] {
                while await Self.storedStep(store, bucket, "\(checkpoints)/step-\(host)", scratch: scratch) < 5 {
                    guard ContinuousClock.now < deadline else { throw TestFailure("\(host)'s checkpoint in S3 never reached step 5") }
                    try await Task.sleep(for: .milliseconds(100))
                }
            }

            // when: one host is reclaimed through the admin API
            let host = try #require(SpotTests.liveHostID(running))
            let (status, answer) = try await app.request(.POST, "/v1/admin/hosts/\(host)/interrupt")
            #expect(status == 202, "\(answer)")
            try await app.waitFor("s3-spot", "attempt 1 ended") { (($0["attempts"] as? [[String: Any]])?.first?["ended_at"]) != nil }
            var interruptedAt: [String: Int] = [:]
            for host in ["algo-1", "algo-2"] {
                interruptedAt[host] = await Self.storedStep(store, bucket, "\(checkpoints)/step-\(host)", scratch: scratch)
            }

            // then: a second attempt resumes each host from its S3 checkpoint and the job completes
            let job = try await app.waitForStatus("s3-spot", "Completed", timeout: .seconds(120))
            let attempts = job["attempts"] as? [[String: Any]] ?? []
            #expect(attempts.count == 2)
            #expect((attempts.first?["end_reason"] as? String)?.hasPrefix("Interrupted: CapacityError") == true, "\(attempts.first ?? [:])")
            let transitions = (job["secondary_status_transitions"] as? [[String: Any]] ?? []).compactMap { $0["status"] as? String }
            #expect(transitions.contains("Interrupted") && transitions.contains("Restarting"), "\(transitions)")
            for entry in attempts.last?["hosts"] as? [[String: Any]] ?? [] {
                #expect(entry["last_checkpoint_sync_time"] != nil, "\(entry)")
            }
            let model = try #require((job["model_artifacts"] as? [String: Any])?["s3_model_artifacts"] as? String)
            #expect(model == "s3://\(bucket)/models/s3-spot/output/model.tar.gz")
            try await store.get(bucket: bucket, key: "models/s3-spot/output/model.tar.gz", toFile: scratch + "/model.tar.gz")
            try TarArchive.extract(scratch + "/model.tar.gz", into: scratch + "/model")
            var shards: [Substring] = []
            for host in ["algo-1", "algo-2"] {
                let starts = try String(contentsOfFile: "\(scratch)/model/starts-\(host)", encoding: .utf8)
                    .split(separator: "\n").compactMap { Int($0) }
                // the first attempt started from nothing, the second where the final sync within the notice left it
                #expect(starts.count == 2 && starts.first == 0, "\(host) started at \(starts)")
                #expect(starts.last == interruptedAt[host] && (starts.last ?? 0) >= 5, "\(host): starts \(starts), interrupted at \(interruptedAt)")
                #expect(try String(contentsOfFile: "\(scratch)/model/final-step-\(host)", encoding: .utf8) == "40\n")
                shards += try String(contentsOfFile: "\(scratch)/model/train-\(host)", encoding: .utf8).split(separator: "\n")
            }
            #expect(Set(shards) == ["part-0.txt", "part-1.txt", "part-2.txt", "part-3.txt"] && shards.count == 4)
            #expect(try await store.head(bucket: bucket, key: "models/s3-spot/output/output.tar.gz") != nil)
            // the checkpoint prefix holds both hosts' complete manifests and their last steps
            for host in ["algo-1", "algo-2"] {
                #expect(try await store.head(bucket: bucket, key: "\(checkpoints)/.trainyard/manifests/\(host).json") != nil)
                #expect(await Self.storedStep(store, bucket, "\(checkpoints)/step-\(host)", scratch: scratch) == 40)
            }
        }
    }
}
