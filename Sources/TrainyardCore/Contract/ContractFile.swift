import Foundation

/// One file of the training-container contract the agent writes before starting the job,
/// such as `input/config/resourceconfig.json`.
public struct ContractFile: Sendable, Equatable {
    /// The file's absolute path.
    public var path: String
    /// The file's bytes.
    public var contents: Data

    /// Creates a file.
    public init(path: String, contents: Data) {
        self.path = path
        self.contents = contents
    }
}
