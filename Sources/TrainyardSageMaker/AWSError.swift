import Foundation
import TrainyardCore

/// An error as AWS's JSON 1.1 services answer it: `{"__type": <code>, "message": …}` with an HTTP status (400 for
/// anything the client must change; botocore takes the code from `__type` and retries only throttling and 5xx).
public struct AWSError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The error code clients match on (`ValidationException`, `ResourceInUse`, …).
    public var type: String
    public var message: String
    public var status: Int

    public init(type: String, message: String, status: Int = 400) {
        self.type = type
        self.message = message
        self.status = status
    }

    public var description: String { "\(type): \(message)" }

    /// The body: `__type` and the message under both spellings botocore reads (`message`, SageMaker's `Message`).
    public var body: JSONValue {
        .object(["__type": .string(type), "message": .string(message), "Message": .string(message)])
    }

    public static func validation(_ message: String) -> AWSError { AWSError(type: "ValidationException", message: message) }

    /// Constraint violations in AWS's summary form (`N validation errors detected: …`).
    public static func validation(violations: [String]) -> AWSError { validation(ModelValidator.message(for: violations)) }

    /// What Describe answers for a name the caller has no job of; the waiters rely on this exact form.
    public static let notFound = validation("Requested resource not found.")

    /// A job the operation needs does not exist (Stop, Update, Delete: the modeled `ResourceNotFound`).
    public static func resourceNotFound(_ what: String) -> AWSError { AWSError(type: "ResourceNotFound", message: what) }

    public static func unknownOperation(_ target: String) -> AWSError {
        AWSError(type: "UnknownOperationException", message: "Trainyard does not implement \(target)")
    }

    public static func serialization(_ message: String) -> AWSError { AWSError(type: "SerializationException", message: message) }

    /// A failure of the server's own; clients retry it.
    public static func internalFailure(_ message: String) -> AWSError { AWSError(type: "InternalFailure", message: message, status: 500) }
}
