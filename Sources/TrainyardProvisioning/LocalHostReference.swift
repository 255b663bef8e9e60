/// What the local provisioner records of a host it started (the host's `provider_ref`): its agent's process id, its
/// worker directory, and whether it is a spot host (which the simulated market reclaims, after a restart too).
///
/// Written `pid:<pid> spot:1 dir:<directory>`: the directory comes last and runs to the end, so that a data directory
/// with spaces in its path is read back whole. References written before (`pid:<pid> dir:<directory>[ spot:1]`) read
/// the same.
struct LocalHostReference: Sendable, Equatable {
    var pid: Int32
    var directory: String?
    var spot: Bool

    var text: String {
        "pid:\(pid)" + (spot ? " spot:1" : "") + (directory.map { " dir:\($0)" } ?? "")
    }

    init(pid: Int32, directory: String?, spot: Bool) {
        self.pid = pid
        self.directory = directory
        self.spot = spot
    }

    init?(_ text: String) {
        var head = Substring(text)
        var directory: String?
        if let range = text.range(of: "dir:") {
            head = text[..<range.lowerBound]
            var rest = text[range.upperBound...]
            var spotAfter = false
            // The earlier form put the spot field after the directory; the current one before it.
            if !head.split(separator: " ").contains("spot:1"), rest.hasSuffix(" spot:1") {
                rest = rest.dropLast(" spot:1".count)
                spotAfter = true
            }
            directory = String(rest)
            if spotAfter { head += " spot:1" }
        }
        var pid: Int32?
        var spot = false
        for field in head.split(separator: " ") {
            if field.hasPrefix("pid:") { pid = Int32(field.dropFirst(4)) }
            if field == "spot:1" { spot = true }
        }
        guard let pid else { return nil }
        self.init(pid: pid, directory: directory, spot: spot)
    }
}
