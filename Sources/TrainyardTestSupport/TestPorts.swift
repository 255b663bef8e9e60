import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// TCP ports on 127.0.0.1 for servers a test must name the ports of before they start: SeaweedFS's `weed mini` (a
/// dozen listeners), Slurm's daemons, a server restarted on the port its agents know.
///
/// They come from outside the kernel's ephemeral range (`net.ipv4.ip_local_port_range`, 32768-60999 by default),
/// never from it: a port in that range that is free when checked can be taken, before the server binds it, as the
/// local port of any outgoing connection of a concurrent test. That is how a `weed mini` once failed to start in a
/// full-suite run (its S3 gRPC port "already in use"). Ports are also handed out once per process, so two servers
/// started at the same time never share one.
public enum TestPorts {
    private static let handedOut = Mutex<Set<Int>>([])

    /// The first of `count` consecutive ports that are free now and were not handed out before in this process.
    public static func block(count: Int) throws -> Int {
        precondition(count > 0)
        let (low, high) = ephemeralRange()
        let candidates: ClosedRange<Int>
        if low - count >= 10_000 {
            candidates = 10_000...(low - count)
        } else if high + count <= 65_535 {
            candidates = (high + 1)...(65_536 - count)
        } else {
            throw TestPortsError(message: "no room for \(count) ports outside the ephemeral range \(low)-\(high)")
        }
        for _ in 0..<500 {
            let base = Int.random(in: candidates)
            let ports = base..<(base + count)
            let claimed = handedOut.withLock { handedOut in
                guard !ports.contains(where: handedOut.contains), ports.allSatisfy(isFree) else { return false }
                handedOut.formUnion(ports)
                return true
            }
            if claimed { return base }
        }
        throw TestPortsError(message: "no block of \(count) free ports found in \(candidates)")
    }

    /// The kernel's range for ephemeral ports; Linux's default when it cannot be read.
    static func ephemeralRange() -> (Int, Int) {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        let bounds = text.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        return bounds.count == 2 ? (bounds[0], bounds[1]) : (32_768, 60_999)
    }

    /// Whether a listener could bind `port` on every address now (a wildcard bind conflicts with any bound socket).
    static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = socketAddress(INADDR_ANY, port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// An IPv4 socket address; `host` in network order (`INADDR_ANY`, `inet_addr("127.0.0.1")`).
    static func socketAddress(_ host: in_addr_t, port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = host
        address.sin_port = UInt16(port).bigEndian
        return address
    }
}

public struct TestPortsError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
