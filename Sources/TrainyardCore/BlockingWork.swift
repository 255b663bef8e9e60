import Foundation

/// Work that blocks its thread (a child process waited for, a pipe read to its end, a large file read or written),
/// run on a thread of its own while the caller is suspended: the concurrency pool is sized by the cores, and its
/// threads are for work that does not wait.
public enum BlockingWork {
    public static func run<Result: Sendable>(_ work: @escaping @Sendable () throws -> Result) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            start { continuation.resume(with: Swift.Result { try work() }) }
        }
    }

    public static func run<Result: Sendable>(_ work: @escaping @Sendable () -> Result) async -> Result {
        await withCheckedContinuation { continuation in
            start { continuation.resume(returning: work()) }
        }
    }

    private static func start(_ body: @escaping @Sendable () -> Void) {
        Thread(block: body).start()
    }
}
