import Crypto
import Foundation
import Synchronization
import Testing
import Trainyard
import TrainyardCore
import TrainyardObjectStore
import TrainyardServer

/// The Swift SDK against a real server with real workers, as a user's program uses it: `Estimator.fit`, the job
/// handle, typed errors, logs that follow across a restart, downloads checked against their digest.
@Suite(.serialized) struct SDKTests {
    static func client(_ app: LiveApp, token: String? = nil) -> TrainyardClient {
        TrainyardClient(connection: TrainyardConnection(url: URL(string: app.baseURL)!, apiKey: token ?? app.token))
    }

    /// A Python trainer as users write one: it prints what it likes (a NUL, bytes that are not UTF-8, a long line),
    /// reads its hyperparameters and its channel, saves a model, and saves and leaves on SIGTERM.
    static let trainer = #"""
        import json, os, signal, sys, time
        hp = json.load(open("/opt/ml/input/config/hyperparameters.json"))
        model = os.environ["SM_MODEL_DIR"]
        def on_sigterm(signum, frame):
            open(os.path.join(model, "weights.txt"), "w").write("saved on SIGTERM")
            print("saving on SIGTERM", flush=True)
            sys.exit(0)
        signal.signal(signal.SIGTERM, on_sigterm)
        samples = sorted(os.listdir(os.environ["SM_CHANNEL_TRAIN"]))
        print(f"host {os.environ['SM_CURRENT_HOST']} epochs {hp['epochs']} samples {len(samples)}", flush=True)
        sys.stdout.write("nul \x00 inside\n")
        sys.stdout.buffer.write(b"bytes \xff\xfe not utf-8\n")
        print("long " + "x" * 20000, flush=True)
        for epoch in range(int(hp["epochs"])):
            print(f"epoch {epoch} loss={1.0 / (epoch + 1):.3f}", flush=True)
            time.sleep(float(hp.get("pause", "0")))
        open(os.path.join(model, "weights.txt"), "w").write(f"trained {hp['epochs']} epochs on {os.environ['SM_CURRENT_HOST']}")
        print("done", flush=True)
        """#

    /// The trainer in a directory of its own, away from the server's data directory and the working directory.
    static func sourceDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sdk-src-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try trainer.write(to: directory.appendingPathComponent("train.py"), atomically: true, encoding: .utf8)
        return directory
    }

    static func dataset(_ app: LiveApp) throws -> String {
        let data = app.dataDirectory + "/objects/trainyard/default/datasets/numbers"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        for index in 0..<3 { try "sample \(index)".write(toFile: "\(data)/part-\(index).txt", atomically: true, encoding: .utf8) }
        return "s3://trainyard/default/datasets/numbers"
    }

    @Test func anEstimatorUploadsCodeFromElsewhereAndTheModelComesBackChecked() async throws {
        let source = try Self.sourceDirectory()
        defer { try? FileManager.default.removeItem(at: source) }
        try await LiveApp.run { app in
            let client = Self.client(app)
            let estimator = Estimator(
                client: client, entryPoint: "train.py", sourceDir: source, instanceType: "ml.m5.large", instanceCount: 2, maxRun: .hours(1),
                // (no torch_distributed: it runs torchrun, which this machine lacks)
                hyperparameters: ["epochs": "3"], metricDefinitions: [.init(name: "loss", regex: "loss=([0-9.]+)")])
            let job = try await estimator.fit(inputs: ["train": try Self.dataset(app)], wait: false)
            #expect(job.name.hasPrefix("train-"))
            #expect(job.submitted?.sourceDir == "s3://trainyard/default/\(job.name)/source/sourcedir.tar.gz")

            // every line of both hosts, followed live until the job ended
            var lines: [LogLine] = []
            for try await line in job.logs(follow: true) { lines.append(line) }
            let done = try await job.wait()
            #expect(done.status == .completed)
            for host in ["algo-1", "algo-2"] {
                let mine = lines.filter { $0.host == host }.map(\.message)
                #expect(mine.first == "host \(host) epochs 3 samples 3" || mine.contains("host \(host) epochs 3 samples 3"), "\(mine.prefix(3))")
                #expect(mine.contains { $0.hasPrefix("nul ") && $0.hasSuffix(" inside") }, "\(host)")
                #expect(mine.contains { $0.hasPrefix("bytes ") && $0.hasSuffix(" not utf-8") }, "\(host)")
                #expect(mine.contains { $0.hasPrefix("long xxxx") && $0.count > 10_000 }, "\(host)")
                #expect(mine.last == "done", "\(host)")
            }
            // the same lines as the stored pages, in the same order, none twice
            var stored: [LogLine] = []
            for try await line in job.logs() { stored.append(line) }
            #expect(stored.map(\.id) == lines.map(\.id))
            #expect(Set(lines.map(\.id)).count == lines.count)

            // metrics from the definitions, per host
            let loss = try await job.metrics().filter { $0.name == "loss" }
            #expect(Set(loss.map(\.host)) == ["algo-1", "algo-2"] && loss.allSatisfy { $0.points.count == 3 })

            // the model, downloaded through the server into a directory of the user's, checked against its digest
            let target = FileManager.default.temporaryDirectory.appendingPathComponent("sdk-model-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: target) }
            let model = try await done.downloadModel(to: target.appendingPathComponent("model.tar.gz"), client: client)
            #expect(model.sha256 == done.modelArtifacts.sha256 && model.sizeBytes == done.modelArtifacts.sizeBytes)
            try TarArchive.extract(model.file.path, into: target.appendingPathComponent("model").path)
            #expect(try String(contentsOf: target.appendingPathComponent("model/weights.txt"), encoding: .utf8).hasPrefix("trained 3 epochs on algo-"))
            let output = try await job.downloadOutput(to: target.appendingPathComponent("output.tar.gz"))
            #expect(output.sha256 == done.outputArtifacts?.sha256)
        }
    }

    @Test(.timeLimit(.minutes(3))) func aDownloadCutInTheMiddleResumesWhereItStoppedAndFetchesNothingTwice() async throws {
        try await LiveApp.run { app in
            // given: a job whose model is 6 MiB of random bytes (gzip keeps them as they are)
            var spec = JobSpec(instanceType: "ml.m5.large")
            spec.name = "big-model"
            spec.command = ["python3", "-c", "import os; open(os.environ['SM_MODEL_DIR'] + '/weights.bin', 'wb').write(os.urandom(6 << 20))"]
            let job = try await Self.client(app).submit(spec)
            let done = try await job.wait()
            let size = try #require(done.modelArtifacts.sizeBytes)
            #expect(done.status == .completed && size > 6 << 20)

            // when it is downloaded through a proxy that breaks the connection after 2 MiB of answers
            let proxy = try CuttingProxy(upstreamPort: try #require(URL(string: app.baseURL)?.port), cutAfter: 2 << 20)
            defer { proxy.close() }
            let client = TrainyardClient(connection: TrainyardConnection(url: URL(string: "http://127.0.0.1:\(proxy.port)")!, apiKey: app.token))
            let target = FileManager.default.temporaryDirectory.appendingPathComponent("sdk-cut-\(UUID().uuidString)/model.tar.gz")
            defer { try? FileManager.default.removeItem(at: target.deletingLastPathComponent()) }
            let model = try await client.download(.model, of: "big-model", to: target)

            // then the archive is whole and checked, the rest was asked for where the cut left it, for this archive only
            #expect(proxy.cuts == 1)
            #expect(model.sha256 == done.modelArtifacts.sha256 && model.sizeBytes == size)
            #expect(try Data(contentsOf: target).count == Int(size))
            let resumption = try #require(proxy.sent.split(separator: "\r\n").first { $0.lowercased().hasPrefix("range: bytes=") }, "\(proxy.sent)")
            let from = try #require(Int64(resumption.dropFirst("range: bytes=".count).dropLast()))
            #expect(resumption.hasSuffix("-") && from > 0 && from < 2 << 20)
            #expect(proxy.sent.lowercased().contains("if-range: \"\(done.modelArtifacts.sha256 ?? "")\""))
            // (the whole archive was not fetched again: through the proxy went the cut connection's 2 MiB, the rest from
            // where the SDK had written to, and the answers' heads; what the cut caught in flight is all that came twice)
            let expected = (2 << 20) + Int(size - from)
            #expect(proxy.answeredBytes >= expected && proxy.answeredBytes < expected + 64 << 10, "\(proxy.answeredBytes) bytes for an archive of \(size)")
            // (and no file is left but the model)
            #expect(try FileManager.default.contentsOfDirectory(atPath: target.deletingLastPathComponent().path) == ["model.tar.gz"])
        }
    }

    /// A source directory is hashed as it is packed, and an archive's digest the caller has is sent as it is: the server
    /// checks the bytes against either, and a wrong one is refused in the server's words with nothing stored.
    @Test func uploadedCodeIsCheckedAgainstTheDigestItWasPackedOrGivenWith() async throws {
        let source = try Self.sourceDirectory()
        defer { try? FileManager.default.removeItem(at: source) }
        try await LiveApp.run { app in
            let client = Self.client(app)
            let stored = { (job: String) in app.dataDirectory + "/objects/trainyard/default/\(job)/source/sourcedir.tar.gz" }
            let sha256 = { (path: String) in Hex.lowercase(SHA256.hash(data: try Data(contentsOf: URL(fileURLWithPath: path)))) }

            let packed = try await client.uploadSource(directory: source, jobName: "packed")
            #expect(packed.sha256 == (try sha256(stored("packed"))))
            #expect(packed.sizeBytes == (try FileManager.default.attributesOfItem(atPath: stored("packed"))[.size] as? Int64))
            let unpacked = FileManager.default.temporaryDirectory.appendingPathComponent("sdk-unpacked-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: unpacked) }
            try TarArchive.extract(stored("packed"), into: unpacked)
            #expect(try String(contentsOfFile: unpacked + "/train.py", encoding: .utf8) == Self.trainer)

            // the same archive again, with the digest the caller has (as sha256sum prints it, either case)
            let archive = URL(fileURLWithPath: stored("packed"))
            let given = try await client.uploadSourceArchive(archive, jobName: "given", sha256: packed.sha256.uppercased())
            #expect(given.sha256 == packed.sha256 && given.sourceDir == "s3://trainyard/default/given/source/sourcedir.tar.gz")

            // several chunks' worth (the SDK sends a file a megabyte at a time, in one buffer it fills again)
            let large = FileManager.default.temporaryDirectory.appendingPathComponent("sdk-large-\(UUID().uuidString).tar.gz")
            defer { try? FileManager.default.removeItem(at: large) }
            let bytes = Data((0..<(3 << 20) + 12345).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) })
            try bytes.write(to: large)
            let largeDigest = Hex.lowercase(SHA256.hash(data: bytes))
            let sent = try await client.uploadSourceArchive(large, jobName: "large", sha256: largeDigest)
            #expect(sent.sha256 == largeDigest && sent.sizeBytes == Int64(bytes.count))
            #expect(try Data(contentsOf: URL(fileURLWithPath: stored("large"))) == bytes)
            #expect(try await client.uploadSourceArchive(large, jobName: "large-hashed-here").sha256 == largeDigest)

            // a digest of other bytes: refused by the server, nothing stored
            let other = String(repeating: "0", count: 64)
            do {
                _ = try await client.uploadSourceArchive(archive, jobName: "wrong", sha256: other)
                Issue.record("an archive with another digest was stored")
            } catch TrainyardError.validation(let fields, _) {
                #expect(fields.map(\.field) == ["Content-Digest"] && fields.map(\.rule) == ["mismatch"], "\(fields)")
                #expect(fields.first?.message.contains("not the \(other) Content-Digest states; nothing was stored") == true, "\(fields)")
            }
            #expect(!FileManager.default.fileExists(atPath: stored("wrong")))
            // not a SHA-256 at all: said before anything is sent
            do {
                _ = try await client.uploadSourceArchive(archive, jobName: "wrong", sha256: "sha256:abc")
                Issue.record("accepted")
            } catch TrainyardError.invalidInput(let message) {
                #expect(message == "sha256 must be 64 hexadecimal digits (as sha256sum prints it), not 'sha256:abc'")
            }
        }
    }

    @Test func refusalsAreTypedErrorsThatNameWhatToChange() async throws {
        try await LiveApp.run { app in
            let client = Self.client(app)
            // every wrong field of a spec, by its name and rule
            var spec = JobSpec(instanceType: "ml.nope.large")
            spec.command = ["true"]
            spec.maxWait = 60
            do {
                _ = try await client.submit(spec)
                Issue.record("accepted")
            } catch TrainyardError.validation(let fields, _) {
                #expect(Set(fields.map(\.field)).isSuperset(of: ["instance_type", "max_wait"]), "\(fields)")
            }
            // an unknown job
            do {
                _ = try await client.attach(name: "nobody")
                Issue.record("found")
            } catch TrainyardError.notFound(let problem) {
                #expect(problem.detail == "training job nobody not found")
            }
            // a name in use, a stop of an ended job
            var good = JobSpec(instanceType: "ml.m5.large")
            good.name = "quick"
            good.command = ["sh", "-c", "echo quick"]
            let quick = try await client.submit(good)
            do {
                _ = try await client.submit(good)
                Issue.record("a second job of one name")
            } catch TrainyardError.conflict(let problem) {
                #expect(problem.detail?.contains("already exists") == true)
            }
            _ = try await quick.wait()
            do {
                _ = try await quick.stop()
                Issue.record("stopped an ended job")
            } catch TrainyardError.conflict(let problem) {
                #expect(problem.detail?.contains("already ended") == true)
            }
            // a viewer's key may not submit; a wrong key is unauthorized
            let viewer = try await client.createAPIKey(role: .viewer, name: "ro")
            do {
                _ = try await Self.client(app, token: viewer.token).submit(good)
                Issue.record("a viewer submitted")
            } catch TrainyardError.forbidden {}
            do {
                _ = try await Self.client(app, token: "NOSUCHKEY000.secret").whoAmI()
                Issue.record("an unknown key answered")
            } catch TrainyardError.unauthorized {}
            // a job that fails throws its reason from wait()
            var failing = JobSpec(instanceType: "ml.m5.large")
            failing.command = ["sh", "-c", "echo dying; exit 3"]
            do {
                _ = try await client.submit(failing).wait()
                Issue.record("a failed job completed")
            } catch TrainyardError.jobFailed(_, let reason) {
                #expect(reason.contains("3"), "\(reason)")
            }
            // nothing listening
            let nowhere = TrainyardClient(connection: TrainyardConnection(url: URL(string: "http://127.0.0.1:\(try LiveApp.freePort())")!, apiKey: app.token))
            do {
                _ = try await nowhere.whoAmI()
                Issue.record("answered")
            } catch TrainyardError.unreachable(_, let reason) {
                #expect(reason.contains("refused"), "\(reason)")
            }
        }
    }

    @Test func aStopReachesAPythonHandlerAndWaitSaysStopped() async throws {
        let source = try Self.sourceDirectory()
        defer { try? FileManager.default.removeItem(at: source) }
        try await LiveApp.run { app in
            let estimator = Estimator(
                client: Self.client(app), entryPoint: "train.py", sourceDir: source, instanceType: "ml.m5.large",
                hyperparameters: ["epochs": "1000", "pause": "0.05"])
            let job = try await estimator.fit(inputs: ["train": try Self.dataset(app)], wait: false, jobName: "stopped-by-sdk")
            for try await line in job.logs(follow: true) where line.message.hasPrefix("epoch 2 ") { break }
            try await job.stop()
            do {
                _ = try await job.wait()
                Issue.record("completed")
            } catch TrainyardError.jobStopped(let name, _) {
                #expect(name == "stopped-by-sdk")
            }
            #expect(try await job.wait(until: [.stopped]).status == .stopped)
            var messages: [String] = []
            for try await line in job.logs() { messages.append(line.message) }
            #expect(messages.contains("saving on SIGTERM"))
        }
    }

    /// (Before servers ended their streams on shutdown, the first server never finished shutting down: the limit turns
    /// that into a failure instead of a hang.)
    @Test(.timeLimit(.minutes(3))) func aFollowOutlivesAServerRestartWithNoLineLostOrRepeated() async throws {
        try await LiveApp.restartable { database, directory, port in
            let count = 2000
            let script = "i=0; while [ $i -lt \(count) ]; do i=$((i+1)); echo \"line $i\"; [ $((i % 100)) -eq 0 ] && sleep 0.2; done; true"
            let client = TrainyardClient(connection: TrainyardConnection(url: URL(string: "http://127.0.0.1:\(port)")!, apiKey: TestApp.adminToken))
            let received = Box<[LogLine]>([])
            let follower = Box<Task<Void, any Error>?>(nil)
            try await LiveApp.run(database: database, dataDirectory: directory, port: port) { app in
                try await app.submit(try WorkerTests.job(app, "followed", script: script))
                let job = try await client.attach(name: "followed")
                let task = Task { for try await line in job.logs(follow: true) { received.withLock { $0.append(line) } } }
                follower.withLock { $0 = task }
                let deadline = ContinuousClock.now + .seconds(60)
                while received.withLock({ $0.count }) < 200 {
                    guard ContinuousClock.now < deadline else { throw TestFailure("no lines before the restart") }
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            let during = received.withLock { $0.count }
            try await LiveApp.run(database: database, dataDirectory: directory, port: port) { app in
                _ = try await app.waitForStatus("followed", "Completed", timeout: .seconds(90))
                try await follower.withLock { $0 }?.value
            }
            let lines = received.withLock { $0 }.map(\.message)
            #expect(during < count, "the restart came after the last line")
            #expect(lines == (1...count).map { "line \($0)" })
        }
    }

    @Test func twoProjectsWithOneJobNameEachSeeTheirOwn() async throws {
        try await LiveApp.run { app in
            let admin = Self.client(app)
            let teamB = Self.client(app, token: try await admin.createProject(name: "team-b").apiKey.token)
            for (client, word) in [(admin, "a"), (teamB, "b")] {
                var spec = JobSpec(instanceType: "ml.m5.large")
                spec.name = "mnist"
                spec.command = ["sh", "-c", "echo trained by \(word)"]
                _ = try await client.submit(spec).wait()
            }
            for (client, word) in [(admin, "a"), (teamB, "b")] {
                let job = try await client.attach(name: "mnist")
                var messages: [String] = []
                for try await line in job.logs() { messages.append(line.message) }
                #expect(messages == ["trained by \(word)"])
                #expect(job.submitted?.project == (word == "a" ? "default" : "team-b"))
            }
        }
    }
}

/// A value shared between tasks.
final class Box<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    func withLock<Result: Sendable>(_ body: (inout sending Value) -> sending Result) -> sending Result { value.withLock(body) }
}

extension JobDescription {
    /// Downloads this job's model with `client` (a test shorthand).
    func downloadModel(to file: URL, client: TrainyardClient) async throws -> DownloadedArtifact {
        try await client.download(.model, of: name, to: file)
    }
}
