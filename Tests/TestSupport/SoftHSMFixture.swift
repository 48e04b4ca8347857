import Foundation

/// Throwaway SoftHSM2 tokens for one test process: a private token directory, a `softhsm2.conf`
/// pointing at it (exported as `SOFTHSM2_CONF` before the module is loaded), and tokens initialized
/// with `softhsm2-util`. Created once per process, on first use.
public struct SoftHSMFixture: Sendable {
    public let directory: String
    public let configPath: String
    public let modulePath: String
    /// User PIN of every token (test only).
    public let userPIN = "4711-test-user"
    public let soPIN = "0815-test-so"

    /// Token labels created for the tests.
    public static let tokenLabels = [
        "tg-test-at-rest", "tg-test-in-transit", "tg-test-in-use", "tg-test-audit",
        "tg-test-hsm", "tg-test-wrongpin",
        // Used only by tests that run the tokengate executable (another process: SoftHSM2 must
        // not see two processes create objects in one token at once).
        "tg-cli-at-rest", "tg-cli-in-transit", "tg-cli-in-use", "tg-cli-audit",
    ]

    public static let shared: SoftHSMFixture = {
        do { return try SoftHSMFixture() } catch { fatalError("cannot set up SoftHSM2 test tokens: \(error)") }
    }()

    /// The SoftHSM2 module path on this machine.
    public static func findModule() -> String? {
        let candidates = [
            ProcessInfo.processInfo.environment["TOKENGATE_TEST_PKCS11_MODULE"],
            "/usr/lib/softhsm/libsofthsm2.so",
            "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
            "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
            "/usr/local/lib/softhsm/libsofthsm2.so",
        ].compactMap { $0 }
        return candidates.first { FileManager.default.fileExists(atPath: $0) }
    }

    private init() throws {
        guard let module = SoftHSMFixture.findModule() else {
            throw FixtureError("libsofthsm2.so not found: run scripts/setup.sh (installs softhsm2)")
        }
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("tokengate-tests-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        let tokens = dir + "/tokens"
        try FileManager.default.createDirectory(atPath: tokens, withIntermediateDirectories: true)
        let conf = dir + "/softhsm2.conf"
        try "directories.tokendir = \(tokens)\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n"
            .write(toFile: conf, atomically: true, encoding: .utf8)
        setenv("SOFTHSM2_CONF", conf, 1)
        for label in SoftHSMFixture.tokenLabels {
            try SoftHSMFixture.run("softhsm2-util", ["--init-token", "--free", "--label", label, "--pin", userPIN, "--so-pin", soPIN], conf: conf)
        }
        directory = dir
        configPath = conf
        modulePath = module
    }

    /// Runs a tool with `SOFTHSM2_CONF` set; throws with its output on failure.
    @discardableResult
    public static func run(_ tool: String, _ args: [String], conf: String? = nil, environment: [String: String] = [:]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [tool] + args
        var env = ProcessInfo.processInfo.environment
        if let conf { env["SOFTHSM2_CONF"] = conf }
        env.merge(environment) { $1 }
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard p.terminationStatus == 0 else {
            throw FixtureError("\(tool) \(args.joined(separator: " ")) exited \(p.terminationStatus): \(text)")
        }
        return text
    }

    /// Writes a PIN file with mode 0600 and returns its path.
    public func writePINFile(name: String, pin: String? = nil, mode: UInt32 = 0o600) throws -> String {
        let path = directory + "/" + name
        FileManager.default.createFile(atPath: path, contents: Data((pin ?? userPIN).utf8), attributes: [.posixPermissions: Int(mode)])
        chmod(path, mode_t(mode))
        return path
    }
}

public struct FixtureError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
