import Foundation
import Synchronization
import TrainyardCore

#if canImport(Glibc)
import Glibc
#endif

/// Resolves a host name to its addresses with the system resolver (getaddrinfo, which also reads `/etc/hosts` and
/// numeric forms), on a thread of its own since it blocks, and gives up waiting after a deadline.
enum HostResolver {
    /// The host's addresses in the resolver's order, each once; empty when it does not resolve or did not within
    /// `timeout` (the lookup itself runs on to its end on its thread).
    static func addresses(of host: String, timeout: Duration) async -> [IPAddress] {
        let name = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        return await withCheckedContinuation { (continuation: CheckedContinuation<[IPAddress], Never>) in
            let answer = OnceAnswer(continuation)
            Thread { answer.resume(lookUp(name)) }.start()
            Task {
                try? await Task.sleep(for: timeout)
                answer.resume([])
            }
        }
    }

    /// A continuation resumed by whichever comes first, the lookup or the deadline.
    private final class OnceAnswer: Sendable {
        private let continuation: Mutex<CheckedContinuation<[IPAddress], Never>?>

        init(_ continuation: CheckedContinuation<[IPAddress], Never>) {
            self.continuation = Mutex(continuation)
        }

        func resume(_ addresses: [IPAddress]) {
            continuation.withLock { $0.take() }?.resume(returning: addresses)
        }
    }

    private static func lookUp(_ name: String) -> [IPAddress] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, nil, &hints, &result) == 0 else { return [] }
        defer { freeaddrinfo(result) }
        var addresses: [IPAddress] = []
        var cursor = result
        while let info = cursor {
            cursor = info.pointee.ai_next
            guard let socketAddress = info.pointee.ai_addr else { continue }
            var address: IPAddress?
            switch Int32(socketAddress.pointee.sa_family) {
            case AF_INET:
                address = socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                    withUnsafeBytes(of: pointer.pointee.sin_addr) { IPAddress(bytes: $0) }
                }
            case AF_INET6:
                address = socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                    withUnsafeBytes(of: pointer.pointee.sin6_addr) { IPAddress(bytes: $0) }
                }
            default:
                break
            }
            if let address, !addresses.contains(address) { addresses.append(address) }
        }
        return addresses
    }
}
