import Crypto
import Foundation
public import Keyring
import Sealing
import SystemIO

/// Constants of the in-transit stream format, version 1 (docs/sealed-format.md, "In transit").
public enum TransitFormat {
    public static let version: UInt8 = 1
    public static let magic: [UInt8] = Array("TGST".utf8)
    public static let ack: [UInt8] = Array("TGSTACK1".utf8)
    public static let streamIDSize = 32
    /// Fixed part of the hello, before the envelope and the metadata.
    public static let helloFixedSize = 66
    public static let frameHeaderSize = 29
    public static let endSize = 1 + 24 + 16
    static let typeHello: UInt8 = 1
    static let typeFrame: UInt8 = 2
    static let typeEnd: UInt8 = 3
    static let lastFrameFlag: UInt32 = 1
    static let endFlag: UInt32 = 2
    static let helloFlag: UInt32 = 4
    static let helloHashDomain = Array("tokengate/transit/v1/hello".utf8)
    static let streamKeyInfo = Array("tokengate/transit/v1/stream-key".utf8)
}

/// Streams a sealed file between two processes over TCP, re-encrypted under a per-stream session
/// key wrapped by an in-transit key: the at-rest data key never leaves the sending side.
/// Wire format: docs/sealed-format.md, "In transit".
public enum Transit {
    /// Default bound on every wait (accept, connect, each receive and send), in seconds.
    public static let defaultTimeout: Double = 30

    /// Sends the sealed file at `path` to a receiver at `host:port`.
    ///
    /// Opens the file with its at-rest key, draws a session key wrapped by `in-transit/<transitKey>`
    /// (context = a random stream id), sends the hello, every frame re-encrypted under the stream
    /// key, and the authenticated end message, then waits for the receiver's acknowledgement
    /// (sent only after its output file was committed).
    /// - Returns: frames and plaintext bytes sent.
    @discardableResult
    public static func send(
        path: String, to host: String, port: UInt16, keyring: Keyring, transitKey: String,
        timeout: Double = defaultTimeout
    ) throws -> (frames: Int, bytes: Int) {
        let stream = try OutgoingStream(path: path, keyring: keyring, transitKey: transitKey)
        let socket = try TransitSocket.connect(host: host, port: port, timeout: timeout)
        try socket.send(stream.hello)
        for i in 0..<stream.frameCount { try socket.send(try stream.frame(i)) }
        try socket.send(try stream.end())
        let ack = try socket.receive(TransitFormat.ack.count, what: "the receiver's acknowledgement")
        guard ack == TransitFormat.ack else {
            throw TransitError(.streamProtocol, "the receiver answered with something other than an acknowledgement")
        }
        return (stream.frameCount, stream.bytes)
    }

    /// The messages `send` would put on the wire for `path` (hello, each frame, end), under a fresh
    /// stream id and session key. All ciphertext; for tests and for tools that relay streams.
    public static func record(path: String, keyring: Keyring, transitKey: String) throws -> [[UInt8]] {
        let stream = try OutgoingStream(path: path, keyring: keyring, transitKey: transitKey)
        var messages = [stream.hello]
        for i in 0..<stream.frameCount { messages.append(try stream.frame(i)) }
        messages.append(try stream.end())
        return messages
    }

    /// Accepts ONE connection on `host:listenPort` (0 = an ephemeral port, passed to `ready` once
    /// listening), receives one stream and writes it to `output`: a new sealed file under the
    /// at-rest key `seal` (same metadata, frame size and record ranges) or, when `seal` is nil, the
    /// plaintext. The output is written to a temporary name and renamed only after the
    /// authenticated end message; on any error nothing is left at `output`.
    /// - Returns: frames and plaintext bytes received.
    @discardableResult
    public static func receive(
        listenPort: UInt16, host: String = "127.0.0.1", keyring: Keyring, output: String,
        seal: String?, timeout: Double = defaultTimeout, mode: UInt32 = 0o600,
        ready: (UInt16) -> Void = { _ in }
    ) throws -> (frames: Int, bytes: Int) {
        let listener = try TransitSocket.listen(host: host, port: listenPort)
        ready(listener.localPort)
        let socket = try listener.accept(timeout: timeout)
        try socket.setTimeout(timeout)
        return try receiveStream(socket, keyring: keyring, output: output, seal: seal, mode: mode)
    }

    /// Feeds the connection's bytes into a ``TransitReceiver`` and writes what it releases.
    static func receiveStream(
        _ socket: TransitSocket, keyring: Keyring, output: String, seal: String?, mode: UInt32 = 0o600
    ) throws -> (frames: Int, bytes: Int) {
        var receiver = TransitReceiver(keyring: keyring)
        // Output: created once the hello is authenticated, temporary until the end message is.
        var out: TemporaryOutput?
        var writer: SealedWriter?
        var done = false
        defer { if !done { out?.discard() } }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var totals: TransitTotals?
        while totals == nil {
            let n = try socket.receive(into: &buffer, what: receiver.awaiting)
            if n == 0 { try receiver.finish() }
            for event in try receiver.consume(buffer[0..<n]) {
                switch event {
                case .hello(let hello):
                    let file: TemporaryOutput
                    do { file = try TemporaryOutput(path: output, mode: mode) } catch { throw TransitError(.io, "\(error)") }
                    out = file
                    writer = try seal.map {
                        try SealedWriter(fileDescriptor: file.fd, keyring: keyring, keyName: $0, metadata: hello.metadata, frameSize: hello.frameSize)
                    }
                case .frame(let frame):
                    guard let out else { throw TransitError(.streamProtocol, "a frame before the hello") }
                    if let writer {
                        try frame.withPlaintext { try writer.write($0, records: frame.records.count) }
                    } else {
                        do { try frame.withPlaintext { try out.descriptor.write($0) } } catch { throw TransitError(.io, "\(error)") }
                    }
                case .end(let t):
                    totals = t
                }
            }
        }
        guard let out, let totals else { throw TransitError(.streamProtocol, "the stream ended without a hello") }
        try writer?.finish()
        done = true
        do { try out.commit() } catch { throw TransitError(.io, "\(error)") }
        // Best effort: the output is committed whether or not the sender is still there to hear it.
        try? socket.send(TransitFormat.ack)
        return (totals.frames, totals.bytes)
    }
}

/// The sending side of one stream: the opened sealed file and the stream key.
final class OutgoingStream {
    let reader: SealedReader
    let streamID: [UInt8]
    let hello: [UInt8]
    let helloHash: [UInt8]
    let gcm: AESGCM
    var frameCount: Int { reader.frameCount }
    private(set) var bytes = 0
    private var records: UInt64 = 0

    init(path: String, keyring: Keyring, transitKey: String) throws {
        reader = try SealedReader(path: path, keyring: keyring)
        streamID = try SecureRandom.bytes(TransitFormat.streamIDSize)
        let dk: DataKey
        do { dk = try keyring.generateDataKey(KeyRef(.inTransit, transitKey), context: streamID) } catch {
            throw transitError(unwrapping: error, what: "in-transit/\(transitKey)")
        }
        gcm = try AESGCM(key: try StreamKeys.streamKey(dk.secret, streamID: streamID))
        let envelope = dk.wrapped.serialized
        guard envelope.count <= 254 else {
            throw TransitError(.envelopeInvalid, "session key envelope of \(envelope.count) bytes exceeds 254")
        }
        let meta = try reader.header.metadata.encoded()
        var h = TransitFormat.magic + [TransitFormat.version, TransitFormat.typeHello, 0, 0]
        h += streamID
        h.appendBE32(UInt32(reader.header.frameSize))
        h.appendBE64(UInt64(reader.frameCount))
        h.appendBE64(UInt64(reader.totalRecords))
        h += [UInt8(envelope.count >> 8), UInt8(envelope.count & 0xFF)]
        h.appendBE32(UInt32(meta.count))
        h += envelope
        h += meta
        helloHash = try SHA256.hash(TransitFormat.helloHashDomain + h)
        h += try StreamKeys.sealEmpty(gcm, nonce: FileKeys.nonce(frame: 0, flags: TransitFormat.helloFlag), aad: helloHash + streamID)
        hello = h
    }

    /// Frame `i`, authenticated from the file, re-encrypted under the stream key.
    func frame(_ i: Int) throws -> [UInt8] {
        let f = try reader.frame(at: i)
        let n = f.plaintext.count
        var m: [UInt8] = [TransitFormat.typeFrame]
        m.reserveCapacity(TransitFormat.frameHeaderSize + n + SealedFormat.tagSize)
        m.appendBE64(UInt64(i))
        m.appendBE64(UInt64(f.records.lowerBound))
        m.appendBE64(UInt64(f.records.count))
        m.appendBE32(UInt32(n))
        m += [UInt8](repeating: 0, count: n)
        let nonce = FileKeys.nonce(frame: UInt64(i), flags: i == frameCount - 1 ? TransitFormat.lastFrameFlag : 0)
        let aad = StreamKeys.aad(
            helloHash: helloHash, streamID: streamID, sequence: UInt64(i),
            a: UInt64(f.records.lowerBound), b: UInt64(f.records.count))
        let tag = try f.plaintext.withUnsafeBytes { pb in
            try m.withUnsafeMutableBytes { ob in
                try gcm.seal(
                    nonce: nonce, aad: aad, plaintext: pb,
                    into: UnsafeMutableRawBufferPointer(rebasing: ob[TransitFormat.frameHeaderSize...]))
            }
        }
        m += tag
        bytes += n
        records += UInt64(f.records.count)
        return m
    }

    /// The end message: totals, authenticated.
    func end() throws -> [UInt8] {
        let n = UInt64(frameCount), b = UInt64(bytes)
        var m: [UInt8] = [TransitFormat.typeEnd]
        m.appendBE64(n)
        m.appendBE64(records)
        m.appendBE64(b)
        m += try StreamKeys.sealEmpty(
            gcm, nonce: FileKeys.nonce(frame: n, flags: TransitFormat.endFlag),
            aad: StreamKeys.aad(helloHash: helloHash, streamID: streamID, sequence: n, a: records, b: b))
        return m
    }
}

/// Keys and AAD of the stream format.
enum StreamKeys {
    static func streamKey(_ sessionKey: borrowing SecretBytes, streamID: [UInt8]) throws -> SecretBytes {
        try HKDFSHA256.deriveKey(inputKey: sessionKey, salt: streamID, info: TransitFormat.streamKeyInfo, outputCount: 32)
    }

    /// `hello hash ‖ stream id ‖ BE64(sequence) ‖ BE64(a) ‖ BE64(b)`.
    static func aad(helloHash: [UInt8], streamID: [UInt8], sequence: UInt64, a: UInt64, b: UInt64) -> [UInt8] {
        var x = helloHash + streamID
        x.appendBE64(sequence)
        x.appendBE64(a)
        x.appendBE64(b)
        return x
    }

    static func sealEmpty(_ gcm: AESGCM, nonce: [UInt8], aad: [UInt8]) throws -> [UInt8] {
        var empty: [UInt8] = [0]
        return try empty.withUnsafeMutableBytes { ob in
            try gcm.seal(
                nonce: nonce, aad: aad, plaintext: UnsafeRawBufferPointer(rebasing: ob[0..<0]),
                into: UnsafeMutableRawBufferPointer(rebasing: ob[0..<0]))
        }
    }

    static func openEmpty(_ gcm: AESGCM, nonce: [UInt8], aad: [UInt8], tag: [UInt8]) throws {
        var empty: [UInt8] = [0]
        try empty.withUnsafeMutableBytes { ob in
            try gcm.open(
                nonce: nonce, aad: aad, ciphertext: UnsafeRawBufferPointer(rebasing: ob[0..<0]), tag: tag,
                into: UnsafeMutableRawBufferPointer(rebasing: ob[0..<0]))
        }
    }
}
