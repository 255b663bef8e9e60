/// A path below a directory, as object keys and manifests name files: the only shape in which a name from outside
/// (a listed key, a manifest entry) is joined to a local directory.
public enum RelativePath {
    /// `path` when it stays below its directory: not empty, not absolute, no `.` or `..` segment, no empty segment and
    /// no NUL; nil otherwise. S3 lets anyone who can write a key name it `train/../../../root/.ssh/authorized_keys`.
    public static func validated(_ path: String) -> String? {
        guard !path.isEmpty, path.unicodeScalars.first != "/", !path.unicodeScalars.contains("\u{0}") else { return nil }
        let segments = segments(of: path, omittingEmpty: false)
        // A trailing slash (a "directory" key) leaves an empty last segment: not a file to write either.
        guard segments.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }) else { return nil }
        return path
    }

    /// The `/`-separated segments of `path`, split at every U+002F as the file system and S3 do. Splitting the
    /// `Character`s would miss a slash that a combining mark joins to the next one (`"../\u{301}x"` is one
    /// `Character` segment but leaves its directory).
    public static func segments(of path: some StringProtocol, omittingEmpty: Bool) -> [Substring] {
        Substring(path).unicodeScalars.split(separator: "/", omittingEmptySubsequences: omittingEmpty).map(Substring.init)
    }

    /// `directory/path` when `path` is valid; nil otherwise.
    public static func join(_ directory: String, _ path: String) -> String? {
        guard let valid = validated(path) else { return nil }
        return directory.hasSuffix("/") ? directory + valid : directory + "/" + valid
    }

    /// Whether the resolved `path` is `root` or lies below it (both already free of symbolic links).
    public static func isInside(_ path: String, root: String) -> Bool {
        let trimmedRoot = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
        return path == trimmedRoot || path.hasPrefix(trimmedRoot == "/" ? "/" : trimmedRoot + "/")
    }
}
