import Foundation
import TrainyardCore
import Logging
import TrainyardObjectStore

/// `--source-dir ./src`: packs a local directory as `sourcedir.tar.gz` and uploads it as the SageMaker Python SDK
/// does, under the job's output location: `<output_path>/<job>/source/sourcedir.tar.gz`, where the output path is the
/// job's `output_path` or, without one, the project's own prefix of the default bucket (`s3://<bucket>/<project>`,
/// from `GET /v1/whoami`), so that two projects' jobs of the same name never share an archive. The upload uses the
/// object store settings `serve` reads (`TRAINYARD_OBJECT_STORE`, `TRAINYARD_S3_ENDPOINT`, `AWS_*`; by default the
/// filesystem store under `<data dir>/objects`, the data dir being the connection's ``TrainyardConnection/serverDataDirectory``:
/// TRAINYARD_DATA_DIR, else the one the profile of a local `trainyard serve` records, else ./.trainyard). The upload is
/// the client's, with its own credentials, as the SDK's is: the service has no upload endpoint.
struct SourceUpload {
    var environment: [String: String] = ProcessInfo.processInfo.environment
    /// The local server's data directory, as the connection in use knows it; nil: `./.trainyard`, as `serve` defaults it.
    var serverDataDirectory: String?

    /// Where the archive of job `job` goes: `<output location>/<job>/source/sourcedir.tar.gz`.
    static func destination(job: String, outputLocation: String) -> String {
        JobPaths(outputPath: outputLocation, jobName: job).sourceArchive
    }

    /// Packs `directory` and uploads it for job `job`; answers the archive's URI, for `source_dir`.
    func upload(directory: String, job: String, outputLocation: String) async throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CLIError.input("--source-dir \(directory) is not a directory")
        }
        let settings: ObjectStoreSettings
        do {
            settings = try ObjectStoreSettings.from(environment: environment)
        } catch {
            throw CLIError.input("cannot upload --source-dir: \(error)")
        }
        let dataDirectory = serverDataDirectory ?? "./.trainyard"
        let absoluteData = dataDirectory.hasPrefix("/") ? dataDirectory : FileManager.default.currentDirectoryPath + "/" + dataDirectory
        let store = try settings.clientStore(dataDirectory: absoluteData, logger: Logger(label: "trainyard.cli"))
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-source-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let archive = scratch + "/sourcedir.tar.gz"
        try TarArchive.create(archive, from: directory)
        let uri = Self.destination(job: job, outputLocation: outputLocation)
        do {
            try await ObjectLocation(store: store).upload(file: archive, to: uri)
        } catch {
            throw CLIError.input("cannot upload --source-dir to \(uri): \(error)")
        }
        return uri
    }

    /// A job name for a submission that names none, as the SDK makes one: a base (the entry point's stem) and the
    /// time to the millisecond, `train-2026-12-01-08-30-00-123`.
    static func jobName(entryPoint: String?, now: Date = Date()) -> String {
        let stem = ((entryPoint ?? "job") as NSString).lastPathComponent.split(separator: ".").first.map(String.init) ?? "job"
        var base = String(stem.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "-" })
        while base.hasPrefix("-") { base.removeFirst() }
        while base.hasSuffix("-") { base.removeLast() }
        if base.isEmpty { base = "job" }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? .current
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .nanosecond], from: now)
        let stamp = String(
            format: "%04d-%02d-%02d-%02d-%02d-%02d-%03d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0, parts.hour ?? 0, parts.minute ?? 0,
            parts.second ?? 0, (parts.nanosecond ?? 0) / 1_000_000)
        return String(base.prefix(63 - stamp.count - 1)) + "-" + stamp
    }
}
