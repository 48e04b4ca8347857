public import Keyring
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension SealingError.Code {
    /// A socket could not be created, bound, connected or accepted on.
    public static let network = SealingError.Code("network")
    /// The peer closed the connection (or reset it) before the stream was complete.
    public static let connectionLost = SealingError.Code("connectionLost")
    /// A wait (accept, connect, receive, send) ran past its timeout.
    public static let timedOut = SealingError.Code("timedOut")
    /// A stream message is malformed (bad magic, version, type or out-of-range field).
    public static let streamProtocol = SealingError.Code("streamProtocol")
    /// The hello or the end message failed authentication (tampered, other stream, other key).
    public static let streamAuthenticationFailed = SealingError.Code("streamAuthenticationFailed")
    /// A frame arrived with an unexpected sequence number (replayed, duplicated, reordered or
    /// dropped frame), or the end message arrived before every frame.
    public static let streamOutOfOrder = SealingError.Code("streamOutOfOrder")
}

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
    public static func send(path: String, to host: String, port: UInt16, keyring: Keyring, transitKey: String,
                            timeout: Double = defaultTimeout) throws -> (frames: Int, bytes: Int) {
        let stream = try OutgoingStream(path: path, keyring: keyring, transitKey: transitKey)
        let socket = try TransitSocket.connect(host: host, port: port, timeout: timeout)
        try socket.send(stream.hello)
        for i in 0..<stream.frameCount { try socket.send(try stream.frame(i)) }
        try socket.send(try stream.end())
        let ack = try socket.receive(TransitFormat.ack.count, what: "the receiver's acknowledgement")
        guard ack == TransitFormat.ack else {
            throw SealingError(.streamProtocol, "the receiver answered with something other than an acknowledgement")
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
    public static func receive(listenPort: UInt16, host: String = "127.0.0.1", keyring: Keyring, output: String,
                               seal: String?, timeout: Double = defaultTimeout,
                               ready: (UInt16) -> Void = { _ in }) throws -> (frames: Int, bytes: Int) {
        let listener = try TransitSocket.listen(host: host, port: listenPort)
        ready(listener.localPort)
        let socket = try listener.accept(timeout: timeout)
        try socket.setTimeout(timeout)
        return try receiveStream(socket, keyring: keyring, output: output, seal: seal)
    }

    static func receiveStream(_ socket: TransitSocket, keyring: Keyring, output: String, seal: String?) throws -> (frames: Int, bytes: Int) {
        // Hello.
        let fixed = try socket.receive(TransitFormat.helloFixedSize, what: "the hello")
        guard Array(fixed[0..<4]) == TransitFormat.magic else {
            throw SealingError(.streamProtocol, "not a tokengate stream (bad magic)")
        }
        guard fixed[4] == TransitFormat.version else {
            throw SealingError(.unsupportedVersion, "stream version \(fixed[4]) is not supported (this build speaks version \(TransitFormat.version))")
        }
        guard fixed[5] == TransitFormat.typeHello, fixed[6] == 0, fixed[7] == 0 else {
            throw SealingError(.streamProtocol, "the stream does not start with a hello")
        }
        let streamID = Array(fixed[8..<40])
        let frameSize = Int(fixed.be32(at: 40))
        let frameCount64 = fixed.be64(at: 44), records64 = fixed.be64(at: 52)
        let envLength = Int(fixed[60]) << 8 | Int(fixed[61])
        let metaLength = Int(fixed.be32(at: 62))
        guard frameSize >= 1, frameSize <= SealedFormat.maxFrameSize, frameCount64 >= 1, frameCount64 <= UInt64(Int32.max),
              records64 <= UInt64(Int.max), envLength >= 1, envLength <= 254, metaLength <= SealedFormat.maxMetadataSize else {
            throw SealingError(.streamProtocol, "hello field out of range")
        }
        let rest = try socket.receive(envLength + metaLength + SealedFormat.tagSize, what: "the hello")
        let helloBody = fixed + rest[0..<(envLength + metaLength)]
        let helloTag = Array(rest[(envLength + metaLength)...])
        let envelope: WrappedDataKey
        do { envelope = try WrappedDataKey(serialized: Array(rest[0..<envLength])) } catch {
            throw SealingError(.envelopeInvalid, "stream hello: \(error)")
        }
        guard envelope.purpose == .inTransit else {
            throw SealingError(.envelopeInvalid, "stream session key is wrapped by a \(envelope.purpose) key, expected in-transit")
        }
        let sessionKey: SecretBytes
        do { sessionKey = try keyring.unwrapDataKey(envelope, purpose: .inTransit, context: streamID) } catch {
            throw sealingError(unwrapping: error, path: "stream session key")
        }
        let gcm = try AESGCM(key: try StreamKeys.streamKey(sessionKey, streamID: streamID))
        let helloHash = try SHA256.hash(TransitFormat.helloHashDomain + helloBody)
        do {
            try StreamKeys.openEmpty(gcm, nonce: FileKeys.nonce(frame: 0, flags: TransitFormat.helloFlag), aad: helloHash + streamID, tag: helloTag)
        } catch {
            throw SealingError(.streamAuthenticationFailed, "the stream hello failed authentication (tampered, or another key)")
        }
        let metadata: SealedMetadata
        do { metadata = try JSONDecoder().decode(SealedMetadata.self, from: Data(rest[envLength..<(envLength + metaLength)])) } catch {
            throw SealingError(.metadataInvalid, "stream hello metadata is not valid JSON for the schema")
        }
        let frameCount = Int(frameCount64)

        // Output: temporary until the end message is authenticated.
        let out = try TemporaryOutput(path: output)
        var done = false
        defer { if !done { out.discard() } }
        let writer = try seal.map {
            try SealedWriter(fileDescriptor: out.fd, keyring: keyring, keyName: $0, metadata: metadata, frameSize: frameSize)
        }
        var bytes = 0, records: UInt64 = 0, next = 0
        var cipher: [UInt8] = [], plain: [UInt8] = []
        while true {
            let type = try socket.receive(1, what: next < frameCount ? "frame \(next) of \(frameCount)" : "the end message")[0]
            if type == TransitFormat.typeEnd {
                guard next == frameCount else {
                    throw SealingError(.streamOutOfOrder, "end message after \(next) of \(frameCount) frames")
                }
                let end = try socket.receive(TransitFormat.endSize - 1, what: "the end message")
                let n = end.be64(at: 0), r = end.be64(at: 8), b = end.be64(at: 16)
                let aad = StreamKeys.aad(helloHash: helloHash, streamID: streamID, sequence: n, a: r, b: b)
                do {
                    try StreamKeys.openEmpty(gcm, nonce: FileKeys.nonce(frame: n, flags: TransitFormat.endFlag), aad: aad, tag: Array(end[24...]))
                } catch {
                    throw SealingError(.streamAuthenticationFailed, "the end message failed authentication")
                }
                guard n == UInt64(frameCount), r == records, b == UInt64(bytes) else {
                    throw SealingError(.streamOutOfOrder, "end message totals (\(n) frames, \(r) records, \(b) bytes) differ from what arrived (\(frameCount), \(records), \(bytes))")
                }
                break
            }
            guard type == TransitFormat.typeFrame else {
                throw SealingError(.streamProtocol, "unknown stream message type \(type)")
            }
            let h = [type] + (try socket.receive(TransitFormat.frameHeaderSize - 1, what: "frame \(next)"))
            let seq = h.be64(at: 1), first = h.be64(at: 9), count = h.be64(at: 17), length = Int(h.be32(at: 25))
            guard seq == UInt64(next), next < frameCount else {
                throw SealingError(.streamOutOfOrder, "frame with sequence number \(seq) where \(next < frameCount ? "frame \(next)" : "the end message") was expected (replayed, duplicated or reordered frame)")
            }
            guard length <= frameSize, first == records, count <= UInt64(Int32.max) else {
                throw SealingError(.streamProtocol, "frame \(seq): length or record range out of range")
            }
            cipher = try socket.receive(length + SealedFormat.tagSize, what: "frame \(seq)")
            if plain.count != length { plain = [UInt8](repeating: 0, count: length) }
            let nonce = FileKeys.nonce(frame: seq, flags: next == frameCount - 1 ? TransitFormat.lastFrameFlag : 0)
            let aad = StreamKeys.aad(helloHash: helloHash, streamID: streamID, sequence: seq, a: first, b: count)
            do {
                try cipher.withUnsafeBytes { cb in
                    try plain.withUnsafeMutableBytes { ob in
                        try gcm.open(nonce: nonce, aad: aad, ciphertext: UnsafeRawBufferPointer(rebasing: cb[0..<length]),
                                     tag: Array(cipher[length...]), into: ob)
                    }
                }
            } catch let e as CryptoError where e.code == .authenticationFailed {
                throw SealingError(.frameAuthenticationFailed, "stream frame \(seq) failed authentication (tampered, reordered or from another stream)")
            }
            if let writer {
                try writer.write(plain, records: Int(count))
            } else {
                try plain.withUnsafeBytes { try Sealing.writeAll(out.fd, $0) }
            }
            plain.withUnsafeMutableBytes { Crypto.zeroize($0) }
            bytes += length
            records += count
            next += 1
        }
        try writer?.finish()
        try out.commit()
        done = true
        // Best effort: the output is committed whether or not the sender is still there to hear it.
        try? socket.send(TransitFormat.ack)
        return (frameCount, bytes)
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
            throw sealingError(unwrapping: error, path: "in-transit/\(transitKey)")
        }
        gcm = try AESGCM(key: try StreamKeys.streamKey(dk.secret, streamID: streamID))
        let envelope = dk.wrapped.serialized
        guard envelope.count <= 254 else {
            throw SealingError(.envelopeInvalid, "session key envelope of \(envelope.count) bytes exceeds 254")
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
        let aad = StreamKeys.aad(helloHash: helloHash, streamID: streamID, sequence: UInt64(i),
                                 a: UInt64(f.records.lowerBound), b: UInt64(f.records.count))
        let tag = try f.plaintext.withUnsafeBytes { pb in
            try m.withUnsafeMutableBytes { ob in
                try gcm.seal(nonce: nonce, aad: aad, plaintext: pb,
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
        m += try StreamKeys.sealEmpty(gcm, nonce: FileKeys.nonce(frame: n, flags: TransitFormat.endFlag),
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
            try gcm.seal(nonce: nonce, aad: aad, plaintext: UnsafeRawBufferPointer(rebasing: ob[0..<0]),
                         into: UnsafeMutableRawBufferPointer(rebasing: ob[0..<0]))
        }
    }

    static func openEmpty(_ gcm: AESGCM, nonce: [UInt8], aad: [UInt8], tag: [UInt8]) throws {
        var empty: [UInt8] = [0]
        try empty.withUnsafeMutableBytes { ob in
            try gcm.open(nonce: nonce, aad: aad, ciphertext: UnsafeRawBufferPointer(rebasing: ob[0..<0]), tag: tag,
                         into: UnsafeMutableRawBufferPointer(rebasing: ob[0..<0]))
        }
    }
}
