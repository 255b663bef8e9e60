import Foundation
import Testing
import TrainyardCore

/// Jobs on local workers do not share a network: each job's hosts have addresses of their own, `algo-N` resolve
/// inside the job only, and two distributed jobs both rendezvous on `MASTER_ADDR:MASTER_PORT` without hearing each
/// other. As root (CI, the quick start on a fresh machine); elsewhere jobs share the machine's network (README:
/// Security model), and the test says so instead of passing.
@Suite(.serialized) struct JobNetworkIsolationTests {
    /// Rank 0 listens on MASTER_PORT and records who says hello until every other rank has; the others connect to
    /// MASTER_ADDR (retrying until rank 0 listens) and say hello with their job's name.
    static let rendezvous = """
        import os, socket, time
        job, host = os.environ["TRAINING_JOB_NAME"], os.environ["SM_CURRENT_HOST"]
        addr, port, world = os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), int(os.environ["WORLD_SIZE"])
        print("resolved %s to %s" % (addr, socket.gethostbyname(addr)), flush=True)
        if int(os.environ["NODE_RANK"]) == 0:
            server = socket.socket()
            server.bind(("0.0.0.0", port))
            server.listen(16)
            server.settimeout(90)
            heard = []
            while len([h for h in heard if h.startswith(job + " ")]) < world - 1:
                connection, _ = server.accept()
                heard.append(connection.recv(200).decode())
                connection.close()
            time.sleep(0.5)
            print("heard " + "|".join(sorted(heard)), flush=True)
        else:
            deadline = time.time() + 90
            while True:
                try:
                    connection = socket.create_connection((addr, port), timeout=2)
                    connection.sendall(("%s %s" % (job, host)).encode())
                    connection.close()
                    break
                except OSError:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.1)
        """

    @Test func twoDistributedJobsRendezvousOnTheSamePortAndHearOnlyThemselves() async throws {
        // A 15 s lease: four hosts in namespaces of their own start at once, and on a loaded machine (the whole suite, a
        // browser beside it) a stall of several seconds lost a host to the tests' 6 s lease twice in nine runs.
        var workers = LiveApp.fastWorkers
        workers.hostLease = 15
        try await LiveApp.run(workers: workers) { app in
            let code = app.dataDirectory + "/rendezvous"
            try FileManager.default.createDirectory(atPath: code, withIntermediateDirectories: true)
            try Self.rendezvous.write(toFile: code + "/rendezvous.py", atomically: true, encoding: .utf8)
            // Given two two-host jobs with torch_distributed (MASTER_ADDR=algo-1, MASTER_PORT=7777 in both), at once.
            for name in ["ring-a", "ring-b"] {
                try await app.submit(
                    #"{"name":"\#(name)","instance_type":"ml.m5.large","instance_count":2,"output_path":"s3://models/","distribution":{"torch_distributed":{"enabled":true}},"inputs":{"code":"file://\#(code)"},"command":["python3","/opt/ml/input/data/code/rendezvous.py"]}"#)
            }
            // Then both complete, and each rank 0 heard its own job's rank 1 only.
            for name in ["ring-a", "ring-b"] {
                let job = try await app.waitForStatus(name, "Completed", timeout: .seconds(120))
                #expect(job["failure_reason"] == nil)
                let lines = try await app.allLogLines(name).compactMap { $0["message"] as? String }
                #expect(lines.contains("heard \(name) algo-2"), "\(lines)")
                guard geteuid() == 0 else { continue }
                // As root each host has its job's own address: algo-1 is not this machine's loopback.
                #expect(lines.contains("resolved algo-1 to 10.200.0.2"), "\(lines)")
            }
            if geteuid() != 0 { Issue.record("not root: jobs share this machine's network here, so only the rendezvous was checked") }
        }
    }

    @Test func aJobCannotReachTheServiceOrAnotherJobsPorts() async throws {
        guard geteuid() == 0 else { return }
        try await LiveApp.run { app in
            // Given a job listening on a port, on the machine's loopback it would share with every other job.
            let port = 7700
            let code = app.dataDirectory + "/probe"
            try FileManager.default.createDirectory(atPath: code, withIntermediateDirectories: true)
            try """
                import os, socket, sys, time, urllib.request
                if sys.argv[1] == "listen":
                    server = socket.socket()
                    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    server.bind(("0.0.0.0", \(port)))
                    server.listen(1)
                    print("listening", flush=True)
                    server.settimeout(60)
                    try:
                        server.accept()
                        print("someone connected", flush=True)
                    except socket.timeout:
                        pass
                else:
                    for target in [("127.0.0.1", \(port)), ("10.200.0.2", \(port)), ("127.0.0.1", int(os.environ["SERVER_PORT"]))]:
                        try:
                            socket.create_connection(target, timeout=2).close()
                            print("reached %s:%d" % target, flush=True)
                        except OSError as error:
                            print("refused %s:%d %s" % (target[0], target[1], type(error).__name__), flush=True)
                """.write(toFile: code + "/probe.py", atomically: true, encoding: .utf8)
            try await app.submit(
                #"{"name":"listener","instance_type":"ml.m5.large","output_path":"s3://models/","inputs":{"code":"file://\#(code)"},"command":["python3","/opt/ml/input/data/code/probe.py","listen"]}"#)
            try await eventually("the listener listens") { try await app.allLogLines("listener").contains { $0["message"] as? String == "listening" } }
            let serverPort = URL(string: app.baseURL)?.port ?? 0
            // When another job tries its loopback, the address the listener has in its own job, and the service's port.
            try await app.submit(
                #"{"name":"prober","instance_type":"ml.m5.large","output_path":"s3://models/","environment":{"SERVER_PORT":"\#(serverPort)"},"inputs":{"code":"file://\#(code)"},"command":["python3","/opt/ml/input/data/code/probe.py","probe"]}"#)
            _ = try await app.waitForStatus("prober", "Completed")
            // Then it reached nothing (the address of algo-1 in its own job is its own, where nothing listens).
            let lines = try await app.allLogLines("prober").compactMap { $0["message"] as? String }
            #expect(lines.count == 3 && lines.allSatisfy { $0.hasPrefix("refused") }, "\(lines)")
            #expect(!(try await app.allLogLines("listener").contains { $0["message"] as? String == "someone connected" }))
        }
    }
}
