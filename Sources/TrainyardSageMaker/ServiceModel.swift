import Foundation
import TrainyardCore

/// The part of an AWS service model the endpoint serves (`Models/<service>.json`, written by `scripts/aws-models` from
/// botocore's own): each operation's input shape and the shapes it reaches, with the constraints AWS checks.
public struct ServiceModel: Sendable, Decodable {
    /// `targetPrefix` and `apiVersion`.
    public struct Metadata: Sendable, Decodable {
        public var targetPrefix: String
        public var apiVersion: String
    }

    public struct Operation: Sendable, Decodable {
        /// The input shape's name.
        public var input: String
    }

    /// A member's or element's shape, by name.
    public struct ShapeReference: Sendable, Decodable {
        public var shape: String
    }

    /// One shape: its type and constraints.
    public struct Shape: Sendable, Decodable {
        public var type: String
        public var members: [String: ShapeReference]?
        public var required: [String]?
        public var min: Double?
        public var max: Double?
        public var pattern: String?
        public var `enum`: [String]?
        public var member: ShapeReference?
        public var key: ShapeReference?
        public var value: ShapeReference?
    }

    public var metadata: Metadata
    public var operations: [String: Operation]
    public var shapes: [String: Shape]

    /// The model of `service` (`sagemaker`, `logs`) bundled with this module.
    public static func bundled(_ service: String) throws -> ServiceModel {
        guard let url = Bundle.module.url(forResource: service, withExtension: "json", subdirectory: "Models")
            ?? Bundle.module.url(forResource: service, withExtension: "json")
        else {
            throw ServiceModelError(message: "the \(service) service model is missing from the bundle")
        }
        return try JSONDecoder().decode(ServiceModel.self, from: Data(contentsOf: url))
    }

    /// SageMaker's model, loaded once.
    public static let sageMaker: ServiceModel = {
        do { return try bundled("sagemaker") } catch { preconditionFailure("\(error)") }
    }()

    /// CloudWatch Logs' model, loaded once.
    public static let logs: ServiceModel = {
        do { return try bundled("logs") } catch { preconditionFailure("\(error)") }
    }()
}

/// The bundled model could not be read.
public struct ServiceModelError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
