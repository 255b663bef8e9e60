import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A TCP proxy on 127.0.0.1 in front of a server that breaks one connection on purpose: the first connection whose
/// answers pass `cutAfter` bytes is closed in the middle, as a proxy that cuts long transfers or a dropped link
/// does. It records what clients sent (their request heads) and how many bytes the server sent through it.
final class CuttingProxy: Sendable {
    let port: Int
    private let listener: Int32
    private let upstreamPort: Int
    private let cutAfter: Int
    private struct State {
        var cuts = 0
        var sent = ""
        var answered = 0
        var sockets: [Int32] = []
        var closed = false
    }
    private let state = Mutex(State())

    /// Bytes the server sent to clients, over every connection.
    var answeredBytes: Int { state.withLock { $0.answered } }
    /// Connections broken on purpose.
    var cuts: Int { state.withLock { $0.cuts } }
    /// What clients sent, as text (request heads and small bodies).
    var sent: String { state.withLock { $0.sent } }

    init(upstreamPort: Int, cutAfter: Int) throws {
        self.upstreamPort = upstreamPort
        self.cutAfter = cutAfter
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = Self.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard listener >= 0, bound == 0, listen(listener, 16) == 0 else { throw TestFailure("the proxy cannot listen: \(String(cString: strerror(errno)))") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        self.listener = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    func close() {
        let sockets = state.withLock { state in
            state.closed = true
            return state.sockets
        }
        shutdown(listener, Int32(SHUT_RDWR))
        Glibc.close(listener)
        for socket in sockets { shutdown(socket, Int32(SHUT_RDWR)) }
        for socket in sockets { Glibc.close(socket) }
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.loopback(port: upstreamPort)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            let open = state.withLock { state in
                state.sockets += [client, upstream]
                return !state.closed
            }
            guard connected == 0, open else {
                Glibc.close(client)
                Glibc.close(upstream)
                continue
            }
            Thread { [self] in pump(from: client, to: upstream, answers: false) }.start()
            Thread { [self] in pump(from: upstream, to: client, answers: true) }.start()
        }
    }

    /// Copies one direction until it ends; the answers' direction of the first connection past `cutAfter` bytes is
    /// broken there, both ways.
    private func pump(from source: Int32, to target: Int32, answers: Bool) {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        var total = 0
        var mayCut = true
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(source, $0.baseAddress!, $0.count, 0) }
            if count <= 0 { break }
            var allowed = count
            if answers {
                let cut = state.withLock { state -> Bool in
                    guard mayCut, state.cuts == 0, total + count > cutAfter else { return false }
                    state.cuts += 1
                    return true
                }
                if cut { allowed = max(0, cutAfter - total) }
                mayCut = !cut
                state.withLock { $0.answered += allowed }
                if cut {
                    _ = buffer.withUnsafeBytes { send(target, $0.baseAddress!, allowed, Int32(MSG_NOSIGNAL)) }
                    break
                }
            } else {
                let text = String(decoding: buffer[0..<min(count, 4096)], as: UTF8.self)
                state.withLock { $0.sent += text }
            }
            var done = 0
            while done < allowed {
                let written = buffer.withUnsafeBytes { send(target, $0.baseAddress! + done, allowed - done, Int32(MSG_NOSIGNAL)) }
                if written <= 0 { break }
                done += written
            }
            if done < allowed { break }
            total += allowed
        }
        shutdown(source, Int32(SHUT_RDWR))
        shutdown(target, Int32(SHUT_RDWR))
    }
}
