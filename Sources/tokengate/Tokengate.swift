import ArgumentParser
import SystemIO

@main
struct Tokengate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokengate",
        abstract: "Tokenization and encryption gateway with HSM-backed key custody.",
        discussion: """
            Keys live in an HSM reached through PKCS#11, one token per purpose (at-rest, in-transit, in-use, audit). PINs come from environment variables or files named in the keyring config, never from the command line.

            Examples:
              cat feed.csv | tokengate tokenize > safe.csv
              tokengate tokenize --in feed.csv --out feed.tgs --seal --rejects rejects.jsonl
              tokengate open feed.tgs --frames 3,7,11
              tokengate keys list
              tokengate keys rotate in-use/pan
              tokengate serve --config keys-config/serve.example.yaml
            """,
        subcommands: [
            TokenizeCommand.self, DetokenizeCommand.self, RetokenizeCommand.self, ScanCommand.self, SealCommand.self, OpenCommand.self, InspectCommand.self,
            RewrapCommand.self, SendCommand.self, ReceiveCommand.self, AuditCommand.self, KeysCommand.self, PolicyCommand.self, FPECommand.self,
            ServeCommand.self,
        ]
    )

    /// Installs the temporary-output cleanup on SIGINT/SIGTERM (not for `serve`, which drains
    /// on those signals itself and writes no temporary output), then runs the command.
    static func main() async {
        if CommandLine.arguments.dropFirst().first != "serve" { TemporaryOutput.removeOnSignals() }
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
