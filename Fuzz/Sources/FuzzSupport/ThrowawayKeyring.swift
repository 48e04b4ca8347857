import Foundation
public import Operations

/// A keyring on throwaway SoftHSM2 tokens, made once per process under ``workDirectory``: a
/// SoftHSM2 config, four tokens (at-rest, in-transit, in-use, audit) initialized with
/// `softhsm2-util`, PIN files (mode 600), a keyring config with its own audit log, and
/// `keys init`. Nothing of the development keyring (.dev/) is touched.
public enum ThrowawayKeyring {
    public static let directory = workDirectory + "/keyring"
    public static let auditLog = directory + "/audit.jsonl"

    /// The gateway over the throwaway keyring (keys initialized).
    public static let gateway: Gateway = {
        do { return try make() } catch {
            require(false, "throwaway keyring: \(error)")
            fatalError()
        }
    }()

    static func make() throws -> Gateway {
        let fm = FileManager.default
        try? fm.removeItem(atPath: directory)
        try fm.createDirectory(atPath: directory + "/tokens", withIntermediateDirectories: true)
        chmod(directory, 0o700)
        let conf = directory + "/softhsm2.conf"
        try "directories.tokendir = \(directory)/tokens\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n"
            .write(toFile: conf, atomically: true, encoding: .utf8)
        setenv("SOFTHSM2_CONF", conf, 1)
        var purposes = ""
        let keys = ["at-rest": "datasets", "in-transit": "streams", "in-use": "generic", "audit": "log"]
        for purpose in ["at-rest", "in-transit", "in-use", "audit"] {
            let pin = "fuzz-\(purpose)-\(UInt32.random(in: 0...UInt32.max))"
            let pinFile = directory + "/\(purpose).pin"
            writeFile(pinFile, Array(pin.utf8))
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/softhsm2-util")
            p.arguments = ["--init-token", "--free", "--label", "fuzz-\(purpose)", "--pin", pin, "--so-pin", pin + "-so"]
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            require(p.terminationStatus == 0, "softhsm2-util --init-token failed (is softhsm2 installed? scripts/setup.sh)")
            purposes += "  \(purpose):\n    token: fuzz-\(purpose)\n    pin: { file: \(pinFile) }\n    keys: [\(keys[purpose]!)]\n"
        }
        let config = """
            version: 1
            development: true
            module: /usr/lib/softhsm/libsofthsm2.so
            module-environment:
              SOFTHSM2_CONF: \(conf)
            audit-log: \(auditLog)
            purposes:
            \(purposes)
            """
        let configPath = directory + "/keyring.yaml"
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        let gateway = try Gateway(keyringPath: configPath)
        _ = try gateway.initializeKeys()
        return gateway
    }
}
