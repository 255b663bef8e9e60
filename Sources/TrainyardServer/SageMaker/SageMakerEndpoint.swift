import Crypto
import Foundation
import Hummingbird
import Logging
import TrainyardCore
import TrainyardSageMaker
import TrainyardStore

/// `POST /` with `X-Amz-Target: SageMaker.<Op>` or `Logs_20140328.<Op>`: the SageMaker-compatible endpoint that boto3,
/// the aws CLI and the sagemaker SDK talk to unchanged (AWS JSON 1.1, Signature V4 with a Trainyard key).
///
/// The key's project is the tenant: every operation reaches exactly what a `/v1` request with the same key reaches,
/// through the same submission path and repositories. Every answer, refusals included, is AWS's JSON error shape, never
/// problem+json: the clients read `__type`.
struct SageMakerEndpoint: Sendable {
    let api: APIImplementation
    let secrets: SigV4Secrets

    static let sageMakerPrefix = "SageMaker."
    static let logsPrefix = "Logs_20140328."
    static let contentType = "application/x-amz-json-1.1"

    /// The models' validators, built once.
    static let sageMakerValidator = ModelValidator(model: .sageMaker)
    static let logsValidator = ModelValidator(model: .logs)

    /// Answers one request; never throws (a failure is an AWS error body).
    func respond(to request: Request, context: some RequestContext) async -> Response {
        let requestID = UUID().uuidString.lowercased()
        var logger = context.logger
        logger[metadataKey: "aws.request_id"] = "\(requestID)"
        do {
            let body = try await handle(request, logger: &logger)
            return Self.response(status: .ok, body: body, requestID: requestID)
        } catch let error as AWSError {
            logger.debug("SageMaker endpoint refused a request", metadata: ["error": "\(error)"])
            return Self.response(status: .init(code: error.status), body: error.body, requestID: requestID)
        } catch {
            logger.error("SageMaker endpoint failed", metadata: ["error": "\(error)"])
            return Self.response(
                status: .internalServerError, body: AWSError.internalFailure("the request failed on the server; retry it").body, requestID: requestID)
        }
    }

    private func handle(_ request: Request, logger: inout Logger) async throws -> JSONValue {
        guard let target = request.headers[.init("X-Amz-Target")!], !target.isEmpty else {
            throw AWSError(type: "UnknownOperationException", message: "POST / needs an X-Amz-Target header naming the operation (SageMaker.<Operation>)")
        }
        let service: String
        let operation: String
        if target.hasPrefix(Self.sageMakerPrefix) {
            service = "sagemaker"
            operation = String(target.dropFirst(Self.sageMakerPrefix.count))
        } else if target.hasPrefix(Self.logsPrefix) {
            service = "logs"
            operation = String(target.dropFirst(Self.logsPrefix.count))
        } else {
            throw AWSError.unknownOperation(target)
        }
        logger[metadataKey: "aws.operation"] = "\(target)"
        var request = request
        let buffer = try await request.body.collect(upTo: RequestLimits.maximumBodyBytes(method: "POST", path: "/"))
        let bytes = Data(buffer: buffer)
        let (principal, region) = try await authenticate(request, body: bytes, service: service)
        logger[metadataKey: "project"] = "\(principal.projectName)"
        let input: JSONValue
        do {
            input = bytes.isEmpty ? .object([:]) : try JSONValue.parse(Array(bytes), maximumDepth: RequestLimits.maximumJSONDepth)
        } catch {
            throw AWSError.serialization("the request body is not JSON: \(error)")
        }
        guard input.objectValue != nil else { throw AWSError.serialization("the request body must be a JSON object") }
        let context = SageMakerCall(principal: principal, region: region, input: input)
        if service == "logs" {
            return try await LogsOperations(api: api).perform(operation, target: target, context)
        }
        return try await TrainingJobOperations(api: api).perform(operation, target: target, context)
    }

    /// The key that signed the request, and the region it signed for: the key's secret is the admin key's or the one
    /// the master key derives for its id; the key store says whether such a key exists with that secret.
    private func authenticate(_ request: Request, body: Data, service: String) async throws -> (Principal, String) {
        var headers = request.headers.map { (name: $0.name.rawName, value: $0.value) }
        // HTTP/1's Host header arrives as the request's authority, not among its fields; clients sign it as `host`.
        if let authority = request.head.authority, !headers.contains(where: { $0.name.lowercased() == "host" }) {
            headers.append((name: "host", value: authority))
        }
        let signed = SigV4Request(
            method: request.method.rawValue, path: request.uri.path,
            query: request.uri.queryParameters.map { (name: String($0.key), value: String($0.value)) }, headers: headers,
            payloadHash: Hex.lowercase(SHA256.hash(data: body)))
        // The key first (the verifier is pure): its secret, and whether a key of that id exists with it.
        var principal: Principal?
        var token: APIKeyToken?
        if let keyID = request.headers[.authorization].flatMap(SigV4Verifier.accessKeyID(authorization:)),
            let candidate = APIKeyToken(id: keyID, secret: secrets.secret(forID: keyID))
        {
            token = candidate
            principal = try await api.projects.authenticate(candidate)
        }
        let verdict = SigV4Verifier(service: service).verify(signed, now: Date()) { id in
            principal != nil && token?.id == id ? token?.secret : nil
        }
        switch verdict {
        case .success(let identity):
            guard let principal else { throw AWSError(type: SigV4Refusal.unknownKey.errorType, message: SigV4Refusal.unknownKey.message, status: 403) }
            return (principal, identity.region)
        case .failure(let refusal):
            throw AWSError(type: refusal.errorType, message: refusal.message, status: refusal.status)
        }
    }

    static func response(status: HTTPResponse.Status, body: JSONValue, requestID: String) -> Response {
        let data = body.serialized()
        var headers = HTTPFields()
        headers[.contentType] = contentType
        headers[.init("x-amzn-RequestId")!] = requestID
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// One authenticated call: who, for which region, with what input.
struct SageMakerCall: Sendable {
    let principal: Principal
    /// The region of the request's credential scope; ARNs echo it.
    let region: String
    let input: JSONValue

    /// The ARN a job of this name has in the caller's project and region.
    func arn(ofJob name: String) -> String {
        JobARNs.arn(region: region, projectID: principal.projectID, name: name)
    }
}
