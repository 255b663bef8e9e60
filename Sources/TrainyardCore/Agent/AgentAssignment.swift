/// What `GET /v1/agent/assignment` answers: the worker's assignment and how to reach the object store.
public struct AgentAssignment: Codable, Sendable, Equatable {
    public var worker: WorkerAssignment
    public var objectStore: ObjectStoreDescriptor

    public init(worker: WorkerAssignment, objectStore: ObjectStoreDescriptor) {
        self.worker = worker
        self.objectStore = objectStore
    }

    enum CodingKeys: String, CodingKey {
        case worker
        case objectStore = "object_store"
    }
}
