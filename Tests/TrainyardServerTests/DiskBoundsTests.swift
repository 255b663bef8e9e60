import Foundation
import Logging
import Testing
import TrainyardCore
import TrainyardProvisioning
import TrainyardServer

#if canImport(Glibc)
import Glibc
#endif

/// A job's disk is bounded: it cannot fill more than its `volume_size`, nor the disk PostgreSQL lives on, and it says so
/// when it tries; a host's directory goes once its outputs are up; a log spool that reaches its cap says what it dropped.
@Suite(.serialized) struct DiskBoundsTests {
    /// A Python job of the bootstrap project running `source` as `train.py`, with `extra` fields in its spec.
    static func pythonJob(_ app: LiveApp, _ name: String, _ source: String, extra: [String: Any] = [:]) throws -> String {
        let code = app.objectPath("s3://trainyard/default/code-\(name)")
        try FileManager.default.createDirectory(atPath: code, withIntermediateDirectories: true)
        try source.write(toFile: code + "/train.py", atomically: true, encoding: .utf8)
        var spec: [String: Any] = [
            "name": name, "instance_type": "ml.m5.large", "entry_point": "train.py", "source_dir": "s3://trainyard/default/code-\(name)",
            "output_path": "s3://models/",
        ]
        for (key, value) in extra { spec[key] = value }
        return String(decoding: try JSONSerialization.data(withJSONObject: spec), as: UTF8.self)
    }

    /// Writes 16 MiB blocks into the model directory until 3.2 GiB are written, far past a 1 GiB volume.
    static let filler = """
        import os
        block = b"\\0" * (16 << 20)
        with open(os.path.join(os.environ["SM_MODEL_DIR"], "big.bin"), "wb") as f:
            for _ in range(200):
                f.write(block)
                f.flush()
        print("wrote 3.2 GiB", flush=True)
        """

    /// The mount points under `directory`, from this process's mount table.
    static func mounts(under directory: String) -> [String] {
        let table = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        return table.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            return fields.count > 4 && fields[4].hasPrefix(directory + "/") ? String(fields[4]) : nil
        }
    }

    /// The entries of the data directory's `workers/` that are hosts' directories.
    static func workerDirectories(_ app: LiveApp) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: app.dataDirectory + "/workers")) ?? []).filter { !$0.hasPrefix(".") }
    }

    static func events(_ app: LiveApp, _ name: String) async throws -> [[String: Any]] {
        try await app.request(.GET, "/v1/jobs/\(name)/events").1["events"] as? [[String: Any]] ?? []
    }

    @Test func aJobThatWritesPastItsVolumeFailsSayingSoAndTheServiceAndPostgresKeepWorking() async throws {
        try await LiveApp.run { app in
            // given a job with a 1 GiB volume whose script writes 3.2 GiB
            let created = try await app.submit(try Self.pythonJob(app, "filler", Self.filler, extra: ["volume_size": 1]))
            #expect(created["volume_size"] as? Int == 1)
            // then it fails, saying its volume is full, with its own last words after
            let failed = try await app.waitForStatus("filler", "Failed", timeout: .seconds(120))
            let reason = failed["failure_reason"] as? String ?? ""
            #expect(reason.hasPrefix("ClientError: the job's volume (1 GiB) is full: "), "\(reason)")
            if WorkerVolumesProbe.onHere {
                // (with a volume of its own the script itself met ENOSPC)
                #expect(reason.contains("No space left on device"), "\(reason)")
            }
            // and its directory and volume are gone once its agent ended
            try await eventually("the worker directory removed", timeout: .seconds(30)) { Self.workerDirectories(app).isEmpty }
            #expect(Self.mounts(under: app.dataDirectory).isEmpty)
            // and the service and its database carry on: the next job completes
            let (ready, _) = try await app.request(.GET, "/readyz")
            #expect(ready == 200)
            try await app.submit(try WorkerTests.job(app, "after-filler", script: #"echo fine > "$SM_MODEL_DIR/ok.txt""#))
            try await app.waitForStatus("after-filler", "Completed")
        }
    }

    @Test func whereNoVolumeBoundsAHostItsAgentStopsTheJobPastItsSize() async throws {
        var workers = LiveApp.fastWorkers
        workers.workerVolumes = .watch
        try await LiveApp.run(workers: workers) { app in
            // given a job with 1 GiB that writes 1.2 GiB, then would run for five minutes
            let script = """
                import os, time
                block = b"\\1" * (16 << 20)
                with open(os.path.join(os.environ["SM_MODEL_DIR"], "big.bin"), "wb") as f:
                    for _ in range(77):
                        f.write(block)
                print("wrote 1.2 GiB", flush=True)
                time.sleep(300)
                """
            try await app.submit(try Self.pythonJob(app, "watched", script, extra: ["volume_size": 1]))
            // then the watchdog stops it within seconds, failing it with the volume's size and what it held
            let failed = try await app.waitForStatus("watched", "Failed", timeout: .seconds(90))
            let reason = failed["failure_reason"] as? String ?? ""
            #expect(reason.hasPrefix("ClientError: the job's volume (1 GiB) is full: the worker directory holds 1."), "\(reason)")
            #expect(reason.hasSuffix(" GiB, so the training process was stopped; ask for a larger volume_size or write less."), "\(reason)")
            try await eventually("the worker directory removed", timeout: .seconds(30)) { Self.workerDirectories(app).isEmpty }
        }
    }

    @Test func aChannelThatDoesNotFitTheVolumeFailsTheJobNamingIt() async throws {
        try await LiveApp.run { app in
            // given a 1.5 GiB object in an input channel of a job with a 1 GiB volume
            let data = app.dataDirectory + "/objects/datasets/huge"
            try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
            #expect(FileManager.default.createFile(atPath: data + "/part-0.bin", contents: nil))
            #expect(truncate(data + "/part-0.bin", 1536 << 20) == 0)
            try await app.submit(
                try WorkerTests.job(app, "too-much-data", script: "true", extra: #","volume_size":1,"inputs":{"train":"s3://datasets/huge"}"#))
            // then staging fails it, naming the channel and the volume
            let failed = try await app.waitForStatus("too-much-data", "Failed", timeout: .seconds(120))
            #expect(
                failed["failure_reason"] as? String
                    == "ClientError: the job's volume (1 GiB) is full: input channel train did not fit while it was downloaded; ask for a larger "
                    + "volume_size or stage less data.")
            try await eventually("the worker directory removed", timeout: .seconds(30)) { Self.workerDirectories(app).isEmpty }
        }
    }

    @Test func noHostStartsWhileTheDataDiskIsDownToItsReserve() async throws {
        var workers = LiveApp.fastWorkers
        workers.diskReserveGiB = 1_000_000
        try await LiveApp.run(workers: workers) { app in
            try await app.submit(try WorkerTests.job(app, "no-room", script: "true"))
            let failed = try await app.waitForStatus("no-room", "Failed")
            let reason = failed["failure_reason"] as? String ?? ""
            #expect(reason.hasPrefix("InternalServerError: no host starts while the disk of \(app.dataDirectory)/workers has "), "\(reason)")
            #expect(
                reason.hasSuffix(
                    " free, down to the 976.6 TiB kept for the service's database (TRAINYARD_DISK_RESERVE_GIB); the operator must free space there"),
                "\(reason)")
            #expect(Self.workerDirectories(app).isEmpty)
        }
    }

    @Test func aCompletedJobsDirectoryIsRemovedAndTheSettingKeepsIt() async throws {
        // given a completed job: its directory (and volume) is gone
        try await LiveApp.run { app in
            try await app.submit(try WorkerTests.job(app, "tidy", count: 2, script: #"echo done > "$SM_MODEL_DIR/done.txt""#))
            try await app.waitForStatus("tidy", "Completed")
            try await eventually("the worker directories removed", timeout: .seconds(30)) { Self.workerDirectories(app).isEmpty }
            #expect(Self.mounts(under: app.dataDirectory).isEmpty)
            #expect(try app.unpack("s3://models/tidy/output/model.tar.gz").values.contains("done\n"))
        }
        // given the setting: it stays, with what the job left, marked with when it ended
        var workers = LiveApp.fastWorkers
        workers.keepWorkerDirectoriesHours = 1
        try await LiveApp.run(workers: workers) { app in
            try await app.submit(try WorkerTests.job(app, "kept", script: #"echo done > "$SM_MODEL_DIR/done.txt""#))
            try await app.waitForStatus("kept", "Completed")
            try await eventually("the agent ended", timeout: .seconds(30)) { LiveApp.agentPIDs(under: app.dataDirectory).isEmpty }
            let directories = Self.workerDirectories(app)
            #expect(directories.count == 1 && directories.first?.hasPrefix("kept-1-algo-1-j") == true, "\(directories)")
            let directory = app.dataDirectory + "/workers/" + (directories.first ?? "")
            try await eventually("the end marked", timeout: .seconds(10)) { FileManager.default.fileExists(atPath: directory + "/.trainyard-ended") }
            #expect(try String(contentsOfFile: directory + "/model/done.txt", encoding: .utf8) == "done\n")
        }
    }

    @Test func reconcileRemovesWhatAnAgentLeftOnceItsAttemptHasEnded() async throws {
        let directory = try LiveApp.dataDirectory()
        defer {
            LocalProcessProvisioner.releaseWorkerDirectories(under: directory + "/workers")
            try? FileManager.default.removeItem(atPath: directory)
        }
        for keepHours in [0.0, 1.0] {
            // given an agent that exits 1 at once (one killed, or whose server was gone, ends the same way)
            let provisioner = LocalProcessProvisioner(
                workersDirectory: directory + "/workers", agentExecutable: "/bin/false",
                disks: .init(keepDirectoriesHours: keepHours, agentHeadroomBytes: 16 << 20), logger: Logger(label: "trainyard.tests.disk"))
            let attemptID = Int64.random(in: 1_000_000...9_000_000)
            let host = HostLaunchRequest(id: "left-\(attemptID)-algo-1-j1", name: "algo-1", token: "t")
            let references = try await provisioner.launch(
                PoolLaunchRequest(
                    jobName: "left", attemptNumber: 1, instanceType: "ml.m5.large", spot: false, hosts: [host], serverURL: "http://127.0.0.1:9",
                    attemptID: attemptID, volumeSizeGiB: 1))
            try await eventually("the agent exited", timeout: .seconds(30)) { try await !provisioner.observe(hosts: references).isEmpty }
            let left = directory + "/workers/" + host.id
            #expect(FileManager.default.fileExists(atPath: left + "/agent.log"))
            // when reconcile runs while the attempt is live, the directory stays
            _ = try await provisioner.reconcile(live: { ids in ids })
            #expect(FileManager.default.fileExists(atPath: left + "/agent.log"))
            // and once it has ended, it goes (after the hours kept, with the setting), and no mount is left
            _ = try await provisioner.reconcile(live: { _ in [] })
            if keepHours > 0 {
                #expect(FileManager.default.fileExists(atPath: left + "/.trainyard-ended"))
                #expect(FileManager.default.fileExists(atPath: left + "/agent.log"))
            } else {
                #expect(!FileManager.default.fileExists(atPath: left))
                #expect(Self.mounts(under: directory).isEmpty)
            }
        }
    }

    @Test func linesDroppedWhileTheServerTakesNoLogsAreToldInTheJobsEvents() async throws {
        var workers = LiveApp.fastWorkers
        workers.logSpoolLimitMiB = 1.0 / 64
        let count = 20_000
        try await LiveApp.restartable { database, directory, port in
            // given a job printing 20,000 numbered lines over some 10 s, with a 16 KiB spool
            try await LiveApp.run(database: database, dataDirectory: directory, port: port, workers: workers) { app in
                let script = """
                    import time
                    for i in range(1, \(count + 1)):
                        print(f'line {i}', flush=True)
                        if i % 200 == 0: time.sleep(0.1)
                    """
                try await app.submit(try Self.pythonJob(app, "chatty-outage", script))
                try await eventually("the first lines stored") { try await app.allLogLines("chatty-outage").count >= 100 }
            }
            // when the server is away long enough for the spool to fill
            try await eventually("the spool dropping lines", timeout: .seconds(60)) {
                let workers = directory + "/workers"
                return ((try? FileManager.default.contentsOfDirectory(atPath: workers)) ?? []).contains { entry in
                    ((try? String(contentsOfFile: "\(workers)/\(entry)/agent.log", encoding: .utf8)) ?? "").contains("the log spool is full")
                }
            }
            // then once it is back the job completes, and its events say how many lines were dropped, and why
            try await LiveApp.run(database: database, dataDirectory: directory, port: port, workers: workers) { app in
                try await app.waitForStatus("chatty-outage", "Completed", timeout: .seconds(120))
                let drops = try await Self.events(app, "chatty-outage").filter { $0["type"] as? String == "log_lines_dropped" }
                #expect(!drops.isEmpty, "no log_lines_dropped event")
                let pattern = try Regex(
                    #"^host algo-1 dropped (\d+) log lines \([0-9.]+ (bytes|KiB|MiB)\): its log spool reached its 16 KiB cap "#
                        + #"while the server was not taking its logs \(unreachable or slow\)$"#)
                var dropped = 0
                for event in drops {
                    let message = event["message"] as? String ?? ""
                    let match = try #require(try pattern.wholeMatch(in: message), "\(message)")
                    dropped += match.output[1].substring.flatMap { Int($0) } ?? 0
                }
                // and every line is either stored, once and in order, or counted as dropped
                let lines = try await app.allLogLines("chatty-outage").compactMap { $0["message"] as? String }
                let numbers = lines.compactMap { Int($0.dropFirst("line ".count)) }
                #expect(numbers == numbers.sorted() && Set(numbers).count == numbers.count)
                #expect(lines.count + dropped == count, "\(lines.count) stored + \(dropped) dropped, events \(drops)")
            }
        }
    }

    @Test func theDiskSettingsAreReadAndABadOneNamesItsVariable() throws {
        let configuration = try ServerConfiguration(environment: [
            "TRAINYARD_KEEP_WORKER_DIRS_HOURS": "12", "TRAINYARD_LOG_SPOOL_MIB": "64", "TRAINYARD_DEFAULT_VOLUME_SIZE": "50",
            "TRAINYARD_DISK_RESERVE_GIB": "5", "TRAINYARD_WORKER_VOLUMES": "watch",
        ])
        #expect(configuration.workers.keepWorkerDirectoriesHours == 12)
        #expect(configuration.workers.logSpoolLimitMiB == 64)
        #expect(configuration.workers.defaultVolumeSizeGiB == 50)
        #expect(configuration.workers.diskReserveGiB == 5)
        #expect(configuration.workers.workerVolumes == .watch)
        let defaults = try ServerConfiguration(environment: [:]).workers
        #expect(defaults.keepWorkerDirectoriesHours == 0 && defaults.logSpoolLimitMiB == 256 && defaults.defaultVolumeSizeGiB == 30)
        #expect(defaults.diskReserveGiB == 2 && defaults.workerVolumes == .auto)
        for (key, value) in [
            ("TRAINYARD_KEEP_WORKER_DIRS_HOURS", "-1"), ("TRAINYARD_LOG_SPOOL_MIB", "0"), ("TRAINYARD_DEFAULT_VOLUME_SIZE", "1.5"),
            ("TRAINYARD_DISK_RESERVE_GIB", "lots"), ("TRAINYARD_WORKER_VOLUMES", "zfs"),
        ] {
            #expect(throws: (any Error).self, "\(key)=\(value)") { try ServerConfiguration(environment: [key: value]) }
            do {
                _ = try ServerConfiguration(environment: [key: value])
            } catch {
                #expect("\(error)".hasPrefix("\(key)=\(value) is not valid"), "\(error)")
            }
        }
    }
}

/// Whether this process gives hosts volumes of their own (root and loop devices), as the provisioner finds out.
enum WorkerVolumesProbe {
    static let onHere: Bool = {
        let provisioner = LocalProcessProvisioner(
            workersDirectory: FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-probe-\(UUID().uuidString)").path,
            agentExecutable: "/bin/true", logger: Logger(label: "trainyard.tests.probe"))
        defer { try? FileManager.default.removeItem(atPath: provisioner.workersDirectory) }
        return provisioner.hasWorkerVolumes
    }()
}
