import Foundation
import Testing
import TrainyardCore

/// Text that comes from outside (what a command prints, its failure file, a webhook receiver's answer) holding NUL
/// bytes, invalid UTF-8 or very long lines: stored safely, and nothing after it lost, with real agents and receivers.
@Suite(.serialized) struct OutsideTextTests {
    /// A job whose code directory holds `train.py` with `source`, run as SageMaker's toolkit runs a Python program.
    static func pythonJob(_ app: LiveApp, _ name: String, _ source: String) throws -> String {
        let code = app.dataDirectory + "/code-\(name)"
        try FileManager.default.createDirectory(atPath: code, withIntermediateDirectories: true)
        try source.write(toFile: code + "/train.py", atomically: true, encoding: .utf8)
        return #"{"name":"\#(name)","instance_type":"ml.m5.large","output_path":"s3://models/","#
            + #""entry_point":"train.py","source_dir":"file://\#(code)"}"#
    }

    @Test func nulInvalidUTF8AndAHugeLineInTheOutputAreStoredAndTheJobEnds() async throws {
        try await LiveApp.run { app in
            // Given a script that prints a NUL, an invalid byte, a 300 kB line, then more.
            let source = """
                import sys
                out = sys.stdout.buffer
                out.write(b'a\\x00b\\n')
                out.write(b'bad \\xff byte\\n')
                out.write(b'y' * 300000 + b'\\n')
                out.write(b'\\x00\\x00\\x00\\n')
                out.write(b'after\\n')
                out.flush()
                """
            try await app.submit(try Self.pythonJob(app, "binary-output", source))
            // When it runs, then it completes (its log is not stuck behind a refused batch)...
            let job = try await app.waitForStatus("binary-output", "Completed", timeout: .seconds(90))
            #expect(job["failure_reason"] == nil)
            // ...and every line is there, in order, NULs and invalid UTF-8 replaced, the long line in 16 KiB pieces.
            let messages = try await app.allLogLines("binary-output").map { $0["message"] as? String ?? "" }
            #expect(messages.first == "a\u{FFFD}b")
            #expect(messages.contains("bad \u{FFFD} byte"))
            let pieces = messages.filter { !$0.isEmpty && $0.allSatisfy { $0 == "y" } }
            #expect(pieces.map(\.count) == Array(repeating: 16384, count: 18) + [300000 - 18 * 16384])
            #expect(messages.contains("\u{FFFD}\u{FFFD}\u{FFFD}"))
            #expect(messages.last == "after")
            #expect(messages.count == 2 + 19 + 2)
        }
    }

    @Test func aFailureFileWithNulFailsTheJobWithTheUsersReason() async throws {
        try await LiveApp.run { app in
            // Given a script that writes its reason with a NUL and invalid UTF-8 into output/failure and exits 1.
            let source = """
                import os, sys
                with open(os.path.join(os.environ['SM_OUTPUT_DIR'], 'failure'), 'wb') as f:
                    f.write(b'loss diverged\\x00 at step \\xff 7')
                sys.exit(1)
                """
            try await app.submit(try Self.pythonJob(app, "nul-failure", source))
            // Then the job fails with the user's reason, not as a lost host (nor retried as one).
            let job = try await app.waitForStatus("nul-failure", "Failed", timeout: .seconds(60))
            #expect(job["failure_reason"] as? String == "AlgorithmError: loss diverged\u{FFFD} at step \u{FFFD} 7")
            #expect((job["attempts"] as? [[String: Any]])?.count == 1)
        }
    }

    @Test func aReceiverAnsweringNulIsRecordedAndOtherDeliveriesAreUnaffected() async throws {
        try await WebhookReceiver.run { odd, oddURL in
            try await WebhookReceiver.run { plain, plainURL in
                try await LiveApp.run { app in
                    // Given two subscriptions of one project (their deliveries share batches), one receiver answering
                    // 200 with a NUL and an invalid byte in its body.
                    odd.answer(body: Array("ok".utf8) + [0x00, 0xFF] + Array("done".utf8))
                    let oddHook = try await WebhookTests.subscribe(app.baseURL, token: app.token, url: oddURL)
                    let plainHook = try await WebhookTests.subscribe(app.baseURL, token: app.token, url: plainURL)
                    odd.trust(oddHook.secret)
                    plain.trust(plainHook.secret)
                    // When a job runs to its end.
                    try await app.submit(try WorkerTests.job(app, "announced", script: "true"))
                    let job = try await app.waitForStatus("announced", "Completed")
                    let expected = WebhookTests.expectedTypes(job)
                    // Then each receiver gets every event once, and each delivery is recorded delivered after one try.
                    for (receiver, hook) in [(odd, oddHook.id), (plain, plainHook.id)] {
                        try await eventually("every delivery recorded") {
                            let log = try await app.request(.GET, "/v1/webhooks/\(hook)/deliveries").1["deliveries"] as? [[String: Any]] ?? []
                            return log.count == expected.count && log.allSatisfy { $0["status"] as? String == "delivered" }
                        }
                        #expect(receiver.received.map(\.type) == expected)
                        #expect(Set(receiver.received.map(\.id)).count == expected.count)
                        let log = try await app.request(.GET, "/v1/webhooks/\(hook)/deliveries").1["deliveries"] as? [[String: Any]] ?? []
                        #expect(log.allSatisfy { ($0["attempts"] as? [Any])?.count == 1 })
                    }
                    let oddLog = try await app.request(.GET, "/v1/webhooks/\(oddHook.id)/deliveries").1["deliveries"] as? [[String: Any]] ?? []
                    let excerpts = oddLog.compactMap { (($0["attempts"] as? [[String: Any]])?.first)?["response_excerpt"] as? String }
                    #expect(excerpts.count == expected.count)
                    #expect(excerpts.allSatisfy { $0 == "ok\u{FFFD}\u{FFFD}done" })
                    // (No try was sent twice: a batch rolled back by one answer would have been posted again.)
                    #expect(odd.received.count == expected.count && plain.received.count == expected.count)
                }
            }
        }
    }
}
