// bench/objects' driver: one upload or download of a file through our object store, timed, with this process's
// peak RSS. `trainyard-bench-objects put|get s3|file BUCKET KEY PATH`; the S3 store reads TRAINYARD_S3_ENDPOINT,
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION; the filesystem store's root is TRAINYARD_OBJECTS_ROOT.
import AsyncHTTPClient
import Foundation
import Logging
import TrainyardCore
import TrainyardObjectStore

let arguments = CommandLine.arguments
guard arguments.count == 6, ["put", "get"].contains(arguments[1]), ["s3", "file"].contains(arguments[2]) else {
    FileHandle.standardError.write(Data("usage: trainyard-bench-objects put|get s3|file BUCKET KEY PATH\n".utf8))
    exit(2)
}
let (operation, kind, bucket, key, path) = (arguments[1], arguments[2], arguments[3], arguments[4], arguments[5])
let environment = ProcessInfo.processInfo.environment
let store: any ObjectStore
if kind == "s3" {
    let configuration = S3Configuration(
        endpoint: environment["TRAINYARD_S3_ENDPOINT"] ?? "http://127.0.0.1:8333", region: environment["AWS_REGION"] ?? "us-east-1",
        credentials: SigV4Credentials(accessKeyID: environment["AWS_ACCESS_KEY_ID"] ?? "", secretAccessKey: environment["AWS_SECRET_ACCESS_KEY"] ?? ""))
    let s3 = try S3ObjectStore(configuration: configuration, httpClient: .shared, logger: Logger(label: "bench.objects"))
    try await s3.createBucket(bucket)
    store = s3
} else {
    store = FileSystemObjectStore(root: environment["TRAINYARD_OBJECTS_ROOT"] ?? "/tmp/trainyard-bench-objects")
}
let start = ContinuousClock.now
var bytes: Int64 = 0
if operation == "put" {
    bytes = try await store.put(bucket: bucket, key: key, fromFile: path).size
} else {
    try await store.get(bucket: bucket, key: key, toFile: path)
    bytes = ((try FileManager.default.attributesOfItem(atPath: path))[.size] as? NSNumber)?.int64Value ?? 0
}
let elapsed = ContinuousClock.now - start
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
let peak = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }.map { $0.split(separator: " ")[1] } ?? "0"
print(#"{"op":"\#(operation)","store":"\#(kind)","bytes":\#(bytes),"seconds":\#(seconds),"peak_rss_kb":\#(peak)}"#)
