import ArgumentParser
import Foundation
import Operations

struct SendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Stream a sealed file to a `tokengate receive` over TCP under an in-transit session key.",
        discussion: """
            The file is opened with its at-rest key here; each frame is re-encrypted under a per-stream \
            session key wrapped by the in-transit key, so the at-rest data key never leaves this side. \
            Succeeds only when the receiver acknowledges a committed output. Wire format: \
            docs/sealed-format.md ("In transit").
            Example: tokengate send safe.csv.tgs --to 10.0.0.7:7070 --transit-key streams
            """)
    @Argument(help: "Sealed file to send.") var path: String
    @Option(name: .customLong("to"), help: "Receiver address, HOST:PORT ([v6]:PORT for IPv6).") var destination: String
    @Option(help: "In-transit key name that wraps the session key.") var transitKey = "streams"
    @Option(help: "Seconds any single wait (connect, send, acknowledgement) may take.") var timeout = Gateway.defaultTransitTimeout
    @OptionGroup var keys: KeyringOptions

    func run() throws {
        let (host, port) = try parseHostPort(destination)
        let r = try keys.open().send(path: path, host: host, port: port, transitKey: transitKey, timeout: timeout)
        FileHandle.standardError.write(Data("sent \(r.bytes) bytes in \(r.frames) frames to \(destination) (acknowledged)\n".utf8))
    }
}

struct ReceiveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "receive",
        abstract: "Accept one `tokengate send` stream and write it sealed (at rest again) or as plaintext.",
        discussion: """
            Unwraps the stream's session key with the in-transit key. The output is written to a \
            temporary name and renamed only after the authenticated end message: a dropped \
            connection, a tampered, replayed or reordered frame, or a wrong key is an error and \
            leaves no output file.
            Examples:
              tokengate receive --listen 7070 --out safe.csv.tgs --seal --seal-key datasets
              tokengate receive --listen 7070 --out safe.csv
            """)
    @Option(help: "Port to listen on (0: an ephemeral port, printed on stderr).") var listen: UInt16
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(name: .customLong("out"), help: "Output file.") var output: String
    @Flag(help: "Write a new sealed file under the at-rest key --seal-key instead of plaintext.") var seal = false
    @Option(help: "At-rest key for --seal.") var sealKey = "datasets"
    @Option(help: "Seconds any single wait (accept, each receive) may take.") var timeout = Gateway.defaultTransitTimeout
    @Option(help: "Permission bits of the output file, octal, set when it is complete (default 600).") var mode = "600"
    @OptionGroup var keys: KeyringOptions

    func validate() throws { _ = try fileMode(mode) }

    func run() throws {
        let host = self.host
        let r = try keys.open().receive(port: listen, host: host, output: output, seal: seal ? sealKey : nil, timeout: timeout, mode: try fileMode(mode)) {
            port in
            FileHandle.standardError.write(Data("listening on \(host):\(port)\n".utf8))
        }
        FileHandle.standardError.write(Data("received \(r.bytes) bytes in \(r.frames) frames: \(output)\(seal ? " (sealed)" : "")\n".utf8))
    }
}

/// `HOST:PORT` or `[V6]:PORT`.
func parseHostPort(_ s: String) throws -> (String, UInt16) {
    guard let colon = s.lastIndex(of: ":"), let port = UInt16(s[s.index(after: colon)...]), port > 0 else {
        throw ValidationError("--to: '\(s)' is not HOST:PORT")
    }
    var host = String(s[..<colon])
    if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    guard !host.isEmpty else { throw ValidationError("--to: '\(s)' has no host") }
    return (host, port)
}
