import Audit
import Foundation
import Transit

/// What `send` or `receive` moved.
public struct TransitResult: Sendable {
    public let frames: Int
    public let bytes: Int
    /// The peer: `tcp://host:port`.
    public let peer: String
}

extension Gateway {
    /// Seconds any single wait of a transfer (connect, accept, send, each receive) may take.
    public static let defaultTransitTimeout = Transit.defaultTimeout

    /// Streams a sealed file to a `receive` over TCP under a per-stream session key wrapped by
    /// the in-transit key `transitKey`; succeeds only when the receiver acknowledges a committed
    /// output. Audited as `send`.
    public func send(
        path: String, host: String, port: UInt16, transitKey: String = "streams",
        timeout: Double = Gateway.defaultTransitTimeout
    ) throws -> TransitResult {
        try audited("send", inputs: [AuditFile(path: absolute(path, stream: "stdin"))]) { record in
            record.inputs = [auditFile(path, stream: "stdin")]
            let r = try Transit.send(path: path, to: host, port: port, keyring: keyring, transitKey: transitKey, timeout: timeout)
            let peer = "tcp://\(host.contains(":") ? "[\(host)]" : host):\(port)"
            record.outputs = [AuditFile(path: peer, bytes: Int64(r.bytes))]
            record.details = ["frames": "\(r.frames)", "transitKey": "in-transit/\(transitKey)"]
            return TransitResult(frames: r.frames, bytes: r.bytes, peer: peer)
        }
    }

    /// Accepts one `send` stream on `host:port` (0: an ephemeral port, passed to `listening`) and
    /// writes it to `output`: re-sealed under the at-rest key `seal`, or plaintext when nil. The
    /// output appears only after the authenticated end message. Audited as `receive`.
    public func receive(
        port: UInt16, host: String = "127.0.0.1", output: String, seal: String? = nil,
        timeout: Double = Gateway.defaultTransitTimeout, mode: UInt32 = 0o600,
        listening: (UInt16) -> Void = { _ in }
    ) throws -> TransitResult {
        try audited("receive") { record in
            var bound = port
            let r = try Transit.receive(
                listenPort: port, host: host, keyring: keyring, output: output,
                seal: seal, timeout: timeout, mode: mode
            ) { p in
                bound = p
                listening(p)
            }
            let peer = "tcp://\(host):\(bound)"
            record.inputs = [AuditFile(path: peer, bytes: Int64(r.bytes))]
            record.outputs = [auditFile(output, stream: "stdout")]
            record.details = ["frames": "\(r.frames)", "sealed": "\(seal != nil)"]
            return TransitResult(frames: r.frames, bytes: r.bytes, peer: peer)
        }
    }
}
