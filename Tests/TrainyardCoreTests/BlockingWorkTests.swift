import Foundation
import Testing
import TrainyardCore

#if canImport(Glibc)
import Glibc
#endif

/// Blocking work runs on a thread of its own, not the caller's, and its answer or error comes back.
@Suite struct BlockingWorkTests {
    @Test func eachCallRunsOnAThreadOfItsOwnAndAnswersTheCaller() async throws {
        let release = DispatchSemaphore(value: 0)
        let callers = 8
        try await withThrowingTaskGroup(of: (index: Int, caller: UInt, worker: UInt).self) { group in
            for index in 0..<callers {
                group.addTask {
                    let caller = UInt(pthread_self())
                    return try await BlockingWork.run {
                        release.wait()
                        return (index, caller, UInt(pthread_self()))
                    }
                }
            }
            for _ in 0..<callers { release.signal() }
            var answers: [(index: Int, caller: UInt, worker: UInt)] = []
            for try await answer in group { answers.append(answer) }
            #expect(answers.map(\.index).sorted() == Array(0..<callers))
            #expect(answers.allSatisfy { $0.caller != $0.worker }, "work ran on its caller's thread: \(answers)")
        }
        let caller = UInt(pthread_self())
        #expect(await BlockingWork.run { UInt(pthread_self()) } != caller)
        await #expect(throws: CocoaError.self) { try await BlockingWork.run { throw CocoaError(.fileNoSuchFile) } }
    }
}
