import Foundation
import TrainyardCore
import TrainyardSageMaker
import TrainyardStore

/// The CloudWatch Logs subset the SDKs' `logs=True` and `aws logs` use, over the jobs' log lines.
struct LogsOperations: Sendable {
    let api: APIImplementation

    func perform(_ operation: String, target: String, _ call: SageMakerCall) async throws -> JSONValue {
        guard ServiceModel.logs.operations[operation] != nil else { throw AWSError.unknownOperation(target) }
        throw AWSError.unknownOperation(target)
    }
}
