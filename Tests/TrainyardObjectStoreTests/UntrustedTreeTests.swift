import Foundation
import Testing
import TrainyardObjectStore

/// What a tenant's archive or directory may hold does not reach past it: tar members are unpacked as plain files,
/// links out of a granted root are not followed, a listing prefix stays inside the store.
@Suite struct UntrustedTreeTests {
    static func scratch() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-untrusted-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func tar(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/tar")
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    @Test func anArchiveUnpacksOnlyDirectoriesFilesAndLinksWithoutSpecialBits() throws {
        let work = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let tree = work + "/tree"
        try FileManager.default.createDirectory(atPath: tree + "/sub", withIntermediateDirectories: true)
        try "code".write(toFile: tree + "/sub/train.py", atomically: true, encoding: .utf8)
        try "suid".write(toFile: tree + "/suid", atomically: true, encoding: .utf8)
        #expect(chmod(tree + "/suid", 0o4755) == 0)
        #expect(mkfifo(tree + "/pipe", 0o644) == 0)
        try FileManager.default.createSymbolicLink(atPath: tree + "/link", withDestinationPath: "sub/train.py")
        if geteuid() == 0 { #expect(mknod(tree + "/disk", S_IFBLK | 0o600, dev_t(7 << 8)) == 0) }
        // --same-owner as root would keep the archive's owners: the member says uid 4242.
        try Self.tar(["-czf", work + "/a.tar.gz", "--owner=4242", "--group=4242", "-C", tree, "."])

        let out = work + "/out"
        try TarArchive.extract(work + "/a.tar.gz", into: out)
        #expect(try String(contentsOfFile: out + "/sub/train.py", encoding: .utf8) == "code")
        #expect(!FileManager.default.fileExists(atPath: out + "/pipe"))
        #expect(!FileManager.default.fileExists(atPath: out + "/disk"))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: out + "/link") == "sub/train.py")
        var info = stat()
        #expect(stat(out + "/suid", &info) == 0)
        #expect(info.st_mode & S_ISUID == 0, "setuid bit kept: \(String(info.st_mode, radix: 8))")
        #expect(info.st_uid == geteuid(), "the archive's owner was kept")
    }

    @Test func aDirectoryLocationDoesNotFollowLinksOutOfItself() async throws {
        let work = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let granted = work + "/granted"
        try FileManager.default.createDirectory(atPath: granted + "/data", withIntermediateDirectories: true)
        try "sample".write(toFile: granted + "/data/a.txt", atomically: true, encoding: .utf8)
        try "secret".write(toFile: work + "/secret.txt", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: granted + "/data/leak.txt", withDestinationPath: work + "/secret.txt")
        try FileManager.default.createSymbolicLink(atPath: granted + "/data/inside.txt", withDestinationPath: "a.txt")
        let location = ObjectLocation(store: FileSystemObjectStore(root: work + "/objects"))
        let listed = try await location.listTree("file://\(granted)").map(\.relativePath)
        #expect(listed == ["data/a.txt", "data/inside.txt"])
    }

    @Test func aListingPrefixCannotClimbOutOfTheStore() async throws {
        let work = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: work) }
        try FileManager.default.createDirectory(atPath: work + "/objects/bucket", withIntermediateDirectories: true)
        let store = FileSystemObjectStore(root: work + "/objects")
        await #expect(throws: ObjectStoreError.self) { try await store.list(bucket: "bucket", prefix: "../../") }
    }
}
