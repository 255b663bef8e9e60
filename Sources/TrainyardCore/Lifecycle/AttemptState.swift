/// Where one attempt of a job stands: its hosts run (`running`), they are all done and a finalizer merges their outputs
/// (`ending`), or it is over (`ended`).
public enum AttemptState: String, Sendable, Hashable, Codable, CaseIterable {
    case running
    case ending
    case ended
}
