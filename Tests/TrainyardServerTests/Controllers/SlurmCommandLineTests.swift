import Foundation
import Testing

@testable import TrainyardProvisioning

/// Slurm's tools as the provisioner runs them.
@Suite struct SlurmCommandLineTests {
    /// Slow tools (a busy slurmctld) leave the rest of the server running: their output is read off the concurrency
    /// pool. Read on it, four calls at once held every thread of a 2-core machine's pool until the tools ended, and
    /// nothing else ran meanwhile, the calls' own timeouts included.
    @Test func slowToolsLeaveTheConcurrencyPoolFree() async throws {
        let bin = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-slow-slurm-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: bin) }
        // A tool that answers once a file the test writes exists (or after 20 s).
        let release = bin + "/release"
        try "#!/bin/sh\nfor i in $(seq 200); do [ -e \(release) ] && break; sleep 0.1; done\necho done\n".write(
            toFile: bin + "/squeue", atomically: true, encoding: .utf8)
        chmod(bin + "/squeue", 0o755)
        let slurm = SlurmCommandLine(configurationFile: nil, binDirectory: bin, timeoutSeconds: 120)
        let calls = max(4, ProcessInfo.processInfo.activeProcessorCount * 2)
        try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<calls { group.addTask { try await slurm.run("squeue", []) } }
            // While every call waits on its tool, other work still runs: this task sleeps 0.3 s, wakes and answers,
            // long before the tools give up waiting (with the pool held, not before they did, 20 s on).
            let started = ContinuousClock.now
            let ran = await withTaskGroup(of: Bool.self) { probe in
                probe.addTask {
                    try? await Task.sleep(for: .milliseconds(300))
                    return true
                }
                return await probe.next() ?? false
            }
            #expect(ran && ContinuousClock.now - started < .seconds(10), "the pool was held for \(ContinuousClock.now - started)")
            try "".write(toFile: release, atomically: true, encoding: .utf8)
            var answers = 0
            for try await output in group {
                #expect(output == "done\n")
                answers += 1
            }
            #expect(answers == calls)
        }
    }
}
