import Foundation

/// A real browser for the dashboard's tests: Debian's `chromium` and `chromium-driver`, driven by selenium (PyPI,
/// pinned) from a venv of its own under `${XDG_CACHE_HOME:-~/.cache}/trainyard`, as `scripts/bootstrap` installs them;
/// installed on first use when it has not (apt needs root). Nothing is downloaded at run time: selenium is given the
/// driver's path, so its manager never fetches one.
public enum TestBrowser {
    /// The selenium version the browser tests are written against.
    public static let seleniumVersion = "4.38.0"
    public static let chromium = "/usr/bin/chromium"
    public static let chromedriver = "/usr/bin/chromedriver"

    /// The venv's `python3` with selenium, after making sure Chromium and its driver are installed.
    public static func python() async throws -> String {
        let environment = ProcessInfo.processInfo.environment
        let cache = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.cache")
        try FileManager.default.createDirectory(atPath: cache + "/trainyard", withIntermediateDirectories: true)
        if !FileManager.default.isExecutableFile(atPath: chromium) || !FileManager.default.isExecutableFile(atPath: chromedriver) {
            guard getuid() == 0 else {
                throw TestSchemathesisError(message: "the dashboard's browser tests need chromium and chromium-driver: run scripts/bootstrap as root")
            }
            let (status, output) = try await TestSchemathesis.run(
                "/usr/bin/flock",
                [
                    cache + "/trainyard/apt.lock", "/bin/sh", "-c",
                    "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver",
                ])
            guard status == 0 else { throw TestSchemathesisError(message: "installing chromium failed (\(status)): \(output.suffix(2000))") }
        }
        let venv = "\(cache)/trainyard/selenium-\(seleniumVersion)"
        let python = venv + "/bin/python3"
        let marker = venv + "/.installed"
        if FileManager.default.fileExists(atPath: marker) { return python }
        let script = """
            [ -f '\(marker)' ] || { rm -rf '\(venv)' && python3 -m venv '\(venv)' && '\(venv)/bin/pip' install --quiet 'selenium==\(seleniumVersion)' && touch '\(marker)'; }
            """
        let (status, output) = try await TestSchemathesis.run("/usr/bin/flock", [cache + "/trainyard/selenium.lock", "/bin/sh", "-c", script])
        guard status == 0, FileManager.default.fileExists(atPath: marker) else {
            throw TestSchemathesisError(message: "installing selenium \(seleniumVersion) into \(venv) failed (\(status)): \(output.suffix(2000))")
        }
        return python
    }
}
