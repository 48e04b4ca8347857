import ArgumentParser
import Foundation
import Operations

/// `--keyring PATH`, shared by every command that touches keys.
struct KeyringOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Keyring config file (YAML or JSON).",
            discussion:
                "Default: $TOKENGATE_KEYRING, else keys-config/keyring.dev.yaml of the repository containing the current directory (the development setup made by scripts/setup.sh).",
            valueName: "path"))
    var keyring: String?

    /// The config path: flag, environment, or the development config found from the current directory.
    func configPath() throws -> String {
        if let keyring { return keyring }
        if let env = ProcessInfo.processInfo.environment["TOKENGATE_KEYRING"], !env.isEmpty { return env }
        var dir = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        while true {
            let candidate = dir.appendingPathComponent("keys-config/keyring.dev.yaml").path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
            let parent = dir.deletingLastPathComponent()
            if parent.path == dir.path { break }
            dir = parent
        }
        throw ValidationError("no keyring config: pass --keyring PATH or set TOKENGATE_KEYRING (development: run scripts/setup.sh inside the repository)")
    }

    /// The operations gateway over the configured keyring.
    func open() throws -> Gateway {
        try Gateway(keyringPath: configPath())
    }
}
