import Foundation

/// The part of `squeue --json` Trainyard reads (Slurm 22.05's shape).
struct SlurmJob: Sendable, Equatable, Decodable {
    var jobID: Int
    var name: String
    var comment: String
    var state: String
    var reason: String
    /// The allocated nodes in allocation order (the order of `SLURM_PROCID` with one task per node).
    var nodes: [String]
    var restarts: Int

    enum CodingKeys: String, CodingKey {
        case jobID = "job_id", name, comment, state = "job_state", reason = "state_reason", resources = "job_resources", restarts = "restart_cnt"
    }

    struct Resources: Decodable {
        struct Node: Decodable { var nodename: String }
        var allocated_nodes: [Node]?
    }

    init(jobID: Int, name: String, comment: String, state: String, reason: String, nodes: [String], restarts: Int) {
        self.jobID = jobID
        self.name = name
        self.comment = comment
        self.state = state
        self.reason = reason
        self.nodes = nodes
        self.restarts = restarts
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        jobID = try container.decode(Int.self, forKey: .jobID)
        name = (try? container.decode(String.self, forKey: .name)) ?? ""
        comment = (try? container.decode(String.self, forKey: .comment)) ?? ""
        state = (try? container.decode(String.self, forKey: .state)) ?? "UNKNOWN"
        reason = (try? container.decode(String.self, forKey: .reason)) ?? ""
        nodes = ((try? container.decodeIfPresent(Resources.self, forKey: .resources))??.allocated_nodes ?? []).map(\.nodename)
        restarts = (try? container.decode(Int.self, forKey: .restarts)) ?? 0
    }

    /// Whether Slurm ended (or is ending) the job because one of its nodes failed.
    var failedNode: Bool { state == "NODE_FAIL" || ["NodeDown", "NodeFail"].contains(reason) && state != "PENDING" }

    /// States in which the job holds or waits for nodes.
    var isActive: Bool {
        ["PENDING", "RUNNING", "SUSPENDED", "CONFIGURING", "COMPLETING", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD", "RESIZING", "SIGNALING",
         "STAGE_OUT", "STOPPED", "PREEMPTED"].contains(state)
    }
}

/// The part of `sinfo --json` Trainyard reads.
struct SlurmNode: Sendable, Equatable, Decodable {
    var name: String
    var state: String
    var flags: [String]
    var partitions: [String]
    var features: Set<String>
    var reason: String

    enum CodingKeys: String, CodingKey {
        case name, state, flags = "state_flags", partitions, features = "active_features", reason
    }

    init(name: String, state: String, flags: [String] = [], partitions: [String], features: Set<String> = [], reason: String = "") {
        self.name = name
        self.state = state
        self.flags = flags
        self.partitions = partitions
        self.features = features
        self.reason = reason
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        state = ((try? container.decode(String.self, forKey: .state)) ?? "unknown").lowercased()
        flags = ((try? container.decode([String].self, forKey: .flags)) ?? []).map { $0.uppercased() }
        partitions = (try? container.decode([String].self, forKey: .partitions)) ?? []
        let text = (try? container.decode(String.self, forKey: .features)) ?? ""
        features = Set(text.split(separator: ",").map(String.init))
        reason = (try? container.decode(String.self, forKey: .reason)) ?? ""
    }

    /// Whether the node can take work (not down, drained, failing or powered off).
    var isUsable: Bool {
        let bad: Set = ["down", "drain", "drained", "draining", "fail", "failing", "future", "unknown", "error", "power_down", "powered_down"]
        if bad.contains(state) { return false }
        return !flags.contains { ["DRAIN", "DRAINED", "DRAINING", "FAIL", "NOT_RESPONDING", "POWERED_DOWN", "POWER_DOWN", "MAINTENANCE"].contains($0) }
    }

    /// Whether the node has the features a `--constraint` of `&`-joined (or single) features asks for; other
    /// operators count every node (Slurm decides).
    func satisfies(_ constraint: String?) -> Bool {
        guard let constraint, !constraint.isEmpty else { return true }
        if constraint.contains(where: { "|[]*()!".contains($0) }) { return true }
        return constraint.split(separator: "&").allSatisfy { features.contains(String($0)) }
    }
}

enum SlurmJSON {
    static func jobs(_ text: String) throws -> [SlurmJob] {
        struct Document: Decodable { var jobs: [SlurmJob] }
        do {
            return try JSONDecoder().decode(Document.self, from: Data(text.utf8)).jobs
        } catch {
            throw SlurmError.unexpectedOutput(tool: "squeue --json", reason: "\(error)")
        }
    }

    static func nodes(_ text: String) throws -> [SlurmNode] {
        struct Document: Decodable { var nodes: [SlurmNode] }
        do {
            return try JSONDecoder().decode(Document.self, from: Data(text.utf8)).nodes
        } catch {
            throw SlurmError.unexpectedOutput(tool: "sinfo --json", reason: "\(error)")
        }
    }
}
