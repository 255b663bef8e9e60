import Crypto
public import Foundation
import NIOCore
import OpenAPIRuntime
import Synchronization
package import TrainyardAPI
import TrainyardCore
import TrainyardObjectStore
import TrainyardStore

/// Code archives in, model and output archives out, streamed through the server between the client and the object
/// store: a client needs neither the store's credentials nor to be on its machine.
extension APIImplementation {
    func uploadJobSource(_ input: Operations.UploadJobSource.Input) async throws -> Operations.UploadJobSource.Output {
        let principal = try principal(allowing: \.canWriteJobs, action: "upload code archives")
        let home = ProjectLocations(project: principal.projectName, defaultBucket: defaultOutputBucket, grants: [], unrestricted: false).home
        let upload: SourceArchiveUpload
        switch SourceArchiveUpload.parse(
            jobName: input.path.name, outputPath: input.query.outputPath,
            contentDigest: RawRequestHeaders.value(.contentDigest, decoded: input.headers.contentDigest), projectHome: home)
        {
        case .success(let parsed): upload = parsed
        case .failure(let failure):
            throw APIError.unprocessable(detail: "the upload has \(failure.violations.count) invalid field(s)", errors: failure.violations)
        }
        // Judged as a job spec with this output path would be: the archive lands inside it.
        let locations = try await locationViolations(JobSpec(instanceType: "", outputPath: upload.outputLocation.description), principal: principal)
        guard locations.isEmpty else {
            throw APIError.unprocessable(detail: "output_path is outside the project's locations", errors: locations)
        }
        if let existing = try await jobs.job(projectID: principal.projectID, name: upload.jobName) {
            throw APIError.conflict(
                detail: "a training job named \(existing.name) already exists in this project (\(existing.status.rawValue)); its code cannot "
                    + "change under it: upload for a new name")
        }
        let body: HTTPBody
        switch input.body {
        case .applicationGzip(let bytes), .binary(let bytes): body = bytes
        }
        let tally = UploadTally(expected: upload.expectedSHA256)
        do {
            try await objects.upload(body: TalliedBody(base: body, tally: tally), to: upload.destination)
        } catch let error as ObjectStoreError where tally.refusal == nil && error.isRefusalOfTheLocation {
            // The output path names a place no object can be created (a file where a directory should be, a name too
            // long for the file system): the request's value, not the server, is at fault.
            let message = "output_path: \(error.description)"
            throw APIError.unprocessable(detail: message, errors: [FieldViolation(field: "output_path", rule: "writable", message: message)])
        } catch {
            // The store reports a body's failure in its own words; the tally knows whether it was a refusal.
            guard let refusal = tally.refusal else { throw error }
            throw APIError.unprocessable(detail: refusal.violation.message, errors: [refusal.violation])
        }
        let (size, sha256) = tally.result
        return .created(.init(body: .json(.init(sourceDir: upload.destination, sizeBytes: size, sha256: sha256))))
    }

    func downloadJobArtifact(_ input: Operations.DownloadJobArtifact.Input) async throws -> Operations.DownloadJobArtifact.Output {
        let principal = try RequestPrincipal.required()
        let job = try await requireJob(projectID: principal.projectID, name: input.path.name)
        let isModel = input.path.artifact == .model
        let file = isModel ? "model.tar.gz" : "output.tar.gz"
        guard let artifact = isModel ? job.model : job.output else {
            guard job.status.isTerminal else {
                throw APIError.conflict(
                    detail: "training job \(job.name) is \(job.status.rawValue) (\(job.secondaryStatus.rawValue)); its \(file) is uploaded when it ends")
            }
            let why =
                isModel
                ? "it ended \(job.status.rawValue) before uploading one" + (job.failureReason.map { ": \($0)" } ?? "")
                : "no host uploaded its /opt/ml/output/data"
            throw APIError.notFound(detail: "training job \(job.name) has no \(file): \(why)")
        }
        let entityTag = ByteRangeRequest.entityTag(sha256Hex: artifact.sha256)
        let digest = ContentDigest.field(sha256Hex: artifact.sha256)
        let range = ByteRangeRequest.resolve(
            range: RawRequestHeaders.value(.range, decoded: input.headers.range),
            ifRange: RawRequestHeaders.value(.ifRange, decoded: input.headers.ifRange), size: artifact.sizeBytes, entityTag: entityTag)
        switch range {
        case .whole:
            let body = try archiveBody(artifact.uri, from: 0, count: artifact.sizeBytes)
            return .ok(.init(headers: .init(reprDigest: digest, eTag: entityTag, acceptRanges: "bytes"), body: .applicationGzip(body)))
        case .part(let first, let last):
            let body = try archiveBody(artifact.uri, from: first, count: last - first + 1)
            return .partialContent(
                .init(
                    headers: .init(contentRange: range.contentRange(size: artifact.sizeBytes)!, reprDigest: digest, eTag: entityTag),
                    body: .applicationGzip(body)))
        case .unsatisfiable:
            throw APIError.rangeNotSatisfiable(
                detail: "training job \(job.name)'s \(file) has \(artifact.sizeBytes) bytes; the Range asks for none of them", size: artifact.sizeBytes)
        }
    }

    /// `count` bytes of the archive at `uri` from byte `first`, read from the store a chunk at a time as they are sent.
    private func archiveBody(_ uri: String, from first: Int64, count: Int64) throws -> HTTPBody {
        let chunks = try objects.chunks(of: uri, from: first, count: count)
        return HTTPBody(chunks.map { ArraySlice($0.readableBytesView) }, length: .known(count), iterationBehavior: .single)
    }
}

/// Counts and hashes an upload's bytes as they stream to the store; at the end it refuses an empty body and bytes
/// whose SHA-256 differs from the one the client sent, so that the store discards them.
final class UploadTally: Sendable {
    struct Refusal: Error {
        var violation: FieldViolation
    }

    private struct State {
        var hasher = SHA256()
        var size: Int64 = 0
        var digest: String = ""
        var refusal: Refusal?
    }

    let expected: [UInt8]?
    private let state = Mutex(State())

    init(expected: [UInt8]?) {
        self.expected = expected
    }

    func add(_ bytes: ArraySlice<UInt8>) {
        state.withLock { state in
            state.hasher.update(data: bytes)
            state.size += Int64(bytes.count)
        }
    }

    /// Called once the body ended: the bytes are good, or the refusal says why not.
    func finish() throws(Refusal) {
        let (size, digest) = state.withLock { state in
            let digest = Array(state.hasher.finalize())
            state.digest = Hex.lowercase(digest)
            return (state.size, digest)
        }
        var refusal: Refusal?
        if size == 0 {
            refusal = Refusal(violation: FieldViolation(field: "(body)", rule: "required", message: "the body is empty; send the gzipped tar of the job's code"))
        } else if let expected, expected != digest {
            refusal = Refusal(
                violation: FieldViolation(
                    field: "Content-Digest", rule: "mismatch",
                    message: "the \(size) bytes received have SHA-256 \(Hex.lowercase(digest)), not the \(Hex.lowercase(expected)) "
                        + "Content-Digest states; nothing was stored: upload again"))
        }
        guard let refusal else { return }
        state.withLock { $0.refusal = refusal }
        throw refusal
    }

    /// Why the body was refused, once it was.
    var refusal: Refusal? { state.withLock { $0.refusal } }

    /// Bytes and lowercase hex SHA-256 of the finished body.
    var result: (Int64, String) { state.withLock { ($0.size, $0.digest) } }
}

/// An upload's body as the store takes it, through its tally.
struct TalliedBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let base: HTTPBody
    let tally: UploadTally

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: HTTPBody.AsyncIterator
        let tally: UploadTally

        mutating func next() async throws -> ByteBuffer? {
            guard let bytes = try await base.next() else {
                try tally.finish()
                return nil
            }
            tally.add(bytes)
            return ByteBuffer(bytes: bytes)
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator(), tally: tally) }
}
