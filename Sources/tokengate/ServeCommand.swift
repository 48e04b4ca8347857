import ArgumentParser
import Dispatch
import Foundation
import Server

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the online encode/decode API (Vault Transform compatible) — the trust boundary for detokenize.",
        discussion: """
            The server holds the HSM PINs (from the keyring config's sources) and, when a role may decode, \
            the detokenize PIN (decode-pin in the server config: an environment variable or a file, never \
            an argument); clients authenticate with mutual TLS or bearer tokens and never see a PIN. \
            SIGTERM or SIGINT drains the requests in flight, then closes the audit record. Schema: keys-config/README.md.

            Examples:
              tokengate serve --config keys-config/serve.example.yaml
              curl -s -H "X-Vault-Token: $TOKEN" -d '{"value":"4111111111111111"}' https://gw:8200/v1/transform/encode/payments
            """)
    @Option(help: ArgumentHelp("Server config (YAML or JSON).", valueName: "path")) var config: String
    @Option(help: "Event-loop and worker threads (default: one per core).") var threads: Int?

    func run() throws {
        let server = try TokengateServer.start(configPath: config, threads: threads)
        // Unbuffered: scripts wait for this line.
        FileHandle.standardOutput.write(Data("tokengate serve: listening on \(server.usesTLS ? "https" : "http")://\(server.address) (pid \(getpid()))\n".utf8))
        var sources: [any DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler { DispatchQueue.global().async { server.shutdown() } }
            s.resume()
            sources.append(s)
        }
        server.waitUntilStopped()
        withExtendedLifetime(sources) {}
        FileHandle.standardOutput.write(Data("tokengate serve: stopped\n".utf8))
    }
}
