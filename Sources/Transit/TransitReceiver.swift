import Crypto
import Foundation
public import Keyring
public import Sealing

/// The stream's hello, authenticated.
public struct TransitHello: Sendable {
    public let streamID: [UInt8]
    public let frameSize: Int
    public let frameCount: Int
    public let totalRecords: UInt64
    public let metadata: SealedMetadata
}

/// One authenticated frame of plaintext. The plaintext is zeroed when the frame goes away;
/// reach it through ``withPlaintext(_:)``.
public final class TransitFrame {
    /// The frame's sequence number (0-based).
    public let index: Int
    /// Records `first ..< first + count` of the stream.
    public let records: Range<UInt64>
    private var plaintext: [UInt8]

    init(index: Int, records: Range<UInt64>, plaintext: [UInt8]) {
        self.index = index
        self.records = records
        self.plaintext = plaintext
    }

    public var count: Int { plaintext.count }

    /// Calls `body` with the plaintext (valid only inside `body`).
    public func withPlaintext<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try plaintext.withUnsafeBytes(body)
    }

    deinit { plaintext.withUnsafeMutableBytes { Crypto.zeroize($0) } }
}

/// Totals of the authenticated end message (equal to what arrived).
public struct TransitTotals: Sendable, Equatable {
    public let frames: Int
    public let records: UInt64
    public let bytes: Int

    public init(frames: Int, records: UInt64, bytes: Int) {
        self.frames = frames
        self.records = records
        self.bytes = bytes
    }
}

/// What ``TransitReceiver/consume(_:)`` found in the bytes it was given.
public enum TransitEvent {
    /// The hello arrived and authenticated: the output can be opened.
    case hello(TransitHello)
    /// The next frame, authenticated and in sequence.
    case frame(TransitFrame)
    /// The end message, authenticated, with totals matching what arrived: the stream is complete.
    case end(TransitTotals)
}

/// The receiving side of an in-transit stream as a byte-fed state machine: feed it the bytes
/// as they arrive (any split), it buffers partial messages and emits the hello, each
/// authenticated plaintext frame in order, and the end. Nothing unauthenticated is ever emitted;
/// a frame that is tampered, replayed, reordered, dropped or from another stream, a wrong key,
/// or a malformed message is an error, after which the receiver refuses further input. Bytes
/// after the end message are not part of the stream and are ignored.
///
/// The stream is complete only after ``TransitEvent/end(_:)``; call ``finish()`` when the input
/// ends to turn an incomplete stream into an error. Wire format: docs/sealed-format.md,
/// "In transit".
public struct TransitReceiver {
    private enum Stage {
        case helloFixed
        case helloRest(HelloFixed)
        case messageType
        case frameHeader
        case frameBody(FrameHeader)
        case endBody
        case done
        case failed
    }

    private struct HelloFixed {
        let bytes: [UInt8]
        let streamID: [UInt8]
        let frameSize: Int
        let frameCount: Int
        let records: UInt64
        let envLength: Int
        let metaLength: Int
    }

    private struct FrameHeader {
        let sequence: UInt64
        let first: UInt64
        let count: UInt64
        let length: Int
    }

    private struct Session {
        let gcm: AESGCM
        let helloHash: [UInt8]
        let streamID: [UInt8]
        let frameSize: Int
        let frameCount: Int
    }

    private let keyring: Keyring
    private var stage = Stage.helloFixed
    private var needed = TransitFormat.helloFixedSize
    private var pending: [UInt8] = []
    private var session: Session?
    private var next = 0
    private var records: UInt64 = 0
    private var bytes = 0

    /// A receiver that unwraps the stream's session key with `keyring`'s in-transit key.
    public init(keyring: Keyring) {
        self.keyring = keyring
        pending.reserveCapacity(needed)
    }

    /// Whether the authenticated end message has arrived.
    public var isComplete: Bool {
        if case .done = stage { return true }
        return false
    }

    /// What the receiver waits for ("the hello", "frame 3 of 10", "the end message"), for messages.
    public var awaiting: String {
        let total = session?.frameCount ?? 0
        switch stage {
        case .helloFixed, .helloRest: return "the hello"
        case .messageType: return next < total ? "frame \(next) of \(total)" : "the end message"
        case .frameHeader, .frameBody: return "frame \(next)"
        case .endBody: return "the end message"
        case .done: return "nothing (the stream is complete)"
        case .failed: return "nothing (the stream failed)"
        }
    }

    /// The input ended: an error unless the stream is complete.
    /// - Throws: ``TransitError`` `.connectionLost` when the stream is incomplete.
    public func finish() throws(TransitError) {
        switch stage {
        case .done: return
        case .failed: throw TransitError(.streamProtocol, "the stream already failed")
        default:
            throw TransitError(
                .connectionLost, "the connection closed before \(awaiting) (\(pending.count) of \(needed) bytes arrived): the stream is incomplete")
        }
    }

    /// Feeds the next bytes of the stream.
    /// - Returns: what they completed, in order (often nothing, when a message is still partial).
    /// - Throws: ``TransitError`` for a malformed, unauthentic or out-of-order stream.
    public mutating func consume(_ input: some Collection<UInt8>) throws(TransitError) -> [TransitEvent] {
        let contiguous: Result<[TransitEvent], TransitError>? = input.withContiguousStorageIfAvailable { buffer in
            Result { () throws(TransitError) in try consume(bytes: UnsafeRawBufferPointer(buffer)) }
        }
        if let contiguous { return try contiguous.get() }
        let copy = Array(input)
        return try copy.withUnsafeBytes { b in Result { () throws(TransitError) in try consume(bytes: b) } }.get()
    }

    private mutating func consume(bytes input: UnsafeRawBufferPointer) throws(TransitError) -> [TransitEvent] {
        if case .failed = stage { throw TransitError(.streamProtocol, "the stream already failed") }
        var events: [TransitEvent] = []
        var offset = 0
        while offset < input.count {
            if case .done = stage { break }
            let take = min(needed - pending.count, input.count - offset)
            pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[offset..<(offset + take)]))
            offset += take
            guard pending.count == needed else { break }
            let message = pending
            pending = []
            do throws(TransitError) {
                if let event = try step(message) { events.append(event) }
            } catch {
                stage = .failed
                throw error
            }
            pending.reserveCapacity(needed)
        }
        return events
    }

    /// Handles one complete message (`needed` bytes for the current stage) and sets the next stage.
    private mutating func step(_ m: [UInt8]) throws(TransitError) -> TransitEvent? {
        switch stage {
        case .helloFixed:
            let fixed = try Self.parseHelloFixed(m)
            stage = .helloRest(fixed)
            needed = fixed.envLength + fixed.metaLength + SealedFormat.tagSize
            return nil
        case .helloRest(let fixed):
            let hello = try openHello(fixed, rest: m)
            stage = .messageType
            needed = 1
            return .hello(hello)
        case .messageType:
            guard let s = session else { throw TransitError(.streamProtocol, "no hello") }
            if m[0] == TransitFormat.typeEnd {
                guard next == s.frameCount else {
                    throw TransitError(.streamOutOfOrder, "end message after \(next) of \(s.frameCount) frames")
                }
                stage = .endBody
                needed = TransitFormat.endSize - 1
                return nil
            }
            guard m[0] == TransitFormat.typeFrame else {
                throw TransitError(.streamProtocol, "unknown stream message type \(m[0])")
            }
            stage = .frameHeader
            needed = TransitFormat.frameHeaderSize - 1
            return nil
        case .frameHeader:
            guard let s = session else { throw TransitError(.streamProtocol, "no hello") }
            let h = [TransitFormat.typeFrame] + m
            let seq = h.be64(at: 1), first = h.be64(at: 9), count = h.be64(at: 17), length = Int(h.be32(at: 25))
            guard seq == UInt64(next), next < s.frameCount else {
                throw TransitError(
                    .streamOutOfOrder,
                    "frame with sequence number \(seq) where \(next < s.frameCount ? "frame \(next)" : "the end message") was expected (replayed, duplicated or reordered frame)"
                )
            }
            guard length <= s.frameSize, first == records, count <= UInt64(Int32.max) else {
                throw TransitError(.streamProtocol, "frame \(seq): length or record range out of range")
            }
            stage = .frameBody(FrameHeader(sequence: seq, first: first, count: count, length: length))
            needed = length + SealedFormat.tagSize
            return nil
        case .frameBody(let h):
            guard let s = session else { throw TransitError(.streamProtocol, "no hello") }
            let frame = try openFrame(h, body: m, session: s)
            bytes += h.length
            records += h.count
            next += 1
            stage = .messageType
            needed = 1
            return .frame(frame)
        case .endBody:
            guard let s = session else { throw TransitError(.streamProtocol, "no hello") }
            let n = m.be64(at: 0), r = m.be64(at: 8), b = m.be64(at: 16)
            let aad = StreamKeys.aad(helloHash: s.helloHash, streamID: s.streamID, sequence: n, a: r, b: b)
            do {
                try StreamKeys.openEmpty(s.gcm, nonce: FileKeys.nonce(frame: n, flags: TransitFormat.endFlag), aad: aad, tag: Array(m[24...]))
            } catch {
                throw TransitError(.streamAuthenticationFailed, "the end message failed authentication")
            }
            guard n == UInt64(s.frameCount), r == records, b == UInt64(bytes) else {
                throw TransitError(
                    .streamOutOfOrder,
                    "end message totals (\(n) frames, \(r) records, \(b) bytes) differ from what arrived (\(s.frameCount), \(records), \(bytes))")
            }
            stage = .done
            needed = 0
            return .end(TransitTotals(frames: s.frameCount, records: records, bytes: bytes))
        case .done, .failed:
            throw TransitError(.streamProtocol, "no message expected")
        }
    }

    private static func parseHelloFixed(_ fixed: [UInt8]) throws(TransitError) -> HelloFixed {
        guard Array(fixed[0..<4]) == TransitFormat.magic else {
            throw TransitError(.streamProtocol, "not a tokengate stream (bad magic)")
        }
        guard fixed[4] == TransitFormat.version else {
            throw TransitError(.unsupportedVersion, "stream version \(fixed[4]) is not supported (this build speaks version \(TransitFormat.version))")
        }
        guard fixed[5] == TransitFormat.typeHello, fixed[6] == 0, fixed[7] == 0 else {
            throw TransitError(.streamProtocol, "the stream does not start with a hello")
        }
        let frameSize = Int(fixed.be32(at: 40))
        let frameCount64 = fixed.be64(at: 44), records64 = fixed.be64(at: 52)
        let envLength = Int(fixed[60]) << 8 | Int(fixed[61])
        let metaLength = Int(fixed.be32(at: 62))
        guard frameSize >= 1, frameSize <= SealedFormat.maxFrameSize, frameCount64 >= 1, frameCount64 <= UInt64(Int32.max),
            records64 <= UInt64(Int.max), envLength >= 1, envLength <= 254, metaLength <= SealedFormat.maxMetadataSize
        else {
            throw TransitError(.streamProtocol, "hello field out of range")
        }
        return HelloFixed(
            bytes: fixed, streamID: Array(fixed[8..<40]), frameSize: frameSize, frameCount: Int(frameCount64),
            records: records64, envLength: envLength, metaLength: metaLength)
    }

    private mutating func openHello(_ fixed: HelloFixed, rest: [UInt8]) throws(TransitError) -> TransitHello {
        let envLength = fixed.envLength, metaLength = fixed.metaLength
        let helloBody = fixed.bytes + rest[0..<(envLength + metaLength)]
        let helloTag = Array(rest[(envLength + metaLength)...])
        let envelope: WrappedDataKey
        do { envelope = try WrappedDataKey(serialized: Array(rest[0..<envLength])) } catch {
            throw TransitError(.envelopeInvalid, "stream hello: \(error)")
        }
        guard envelope.purpose == .inTransit else {
            throw TransitError(.envelopeInvalid, "stream session key is wrapped by a \(envelope.purpose) key, expected in-transit")
        }
        let sessionKey: SecretBytes
        do { sessionKey = try keyring.unwrapDataKey(envelope, purpose: .inTransit, context: fixed.streamID) } catch {
            throw transitError(unwrapping: error, what: "stream session key")
        }
        let gcm: AESGCM, helloHash: [UInt8]
        do {
            gcm = try AESGCM(key: try StreamKeys.streamKey(sessionKey, streamID: fixed.streamID))
            helloHash = try SHA256.hash(TransitFormat.helloHashDomain + helloBody)
        } catch {
            throw TransitError(.unwrapFailed, "cannot derive the stream key: \(error)")
        }
        do {
            try StreamKeys.openEmpty(
                gcm, nonce: FileKeys.nonce(frame: 0, flags: TransitFormat.helloFlag),
                aad: helloHash + fixed.streamID, tag: helloTag)
        } catch {
            throw TransitError(.streamAuthenticationFailed, "the stream hello failed authentication (tampered, or another key)")
        }
        let metadata: SealedMetadata
        do { metadata = try JSONDecoder().decode(SealedMetadata.self, from: Data(rest[envLength..<(envLength + metaLength)])) } catch {
            throw TransitError(.metadataInvalid, "stream hello metadata is not valid JSON for the schema")
        }
        session = Session(gcm: gcm, helloHash: helloHash, streamID: fixed.streamID, frameSize: fixed.frameSize, frameCount: fixed.frameCount)
        return TransitHello(
            streamID: fixed.streamID, frameSize: fixed.frameSize, frameCount: fixed.frameCount,
            totalRecords: fixed.records, metadata: metadata)
    }

    private func openFrame(_ h: FrameHeader, body: [UInt8], session s: Session) throws(TransitError) -> TransitFrame {
        let nonce = FileKeys.nonce(frame: h.sequence, flags: next == s.frameCount - 1 ? TransitFormat.lastFrameFlag : 0)
        let aad = StreamKeys.aad(helloHash: s.helloHash, streamID: s.streamID, sequence: h.sequence, a: h.first, b: h.count)
        var plain = [UInt8](repeating: 0, count: h.length)
        let length = h.length
        do {
            try body.withUnsafeBytes { cb in
                try plain.withUnsafeMutableBytes { ob in
                    try s.gcm.open(
                        nonce: nonce, aad: aad, ciphertext: UnsafeRawBufferPointer(rebasing: cb[0..<length]),
                        tag: Array(body[length...]), into: ob)
                }
            }
        } catch let e as CryptoError where e.code == .authenticationFailed {
            plain.withUnsafeMutableBytes { Crypto.zeroize($0) }
            throw TransitError(.frameAuthenticationFailed, "stream frame \(h.sequence) failed authentication (tampered, reordered or from another stream)")
        } catch {
            plain.withUnsafeMutableBytes { Crypto.zeroize($0) }
            throw TransitError(.frameAuthenticationFailed, "stream frame \(h.sequence) cannot be opened: \(error)")
        }
        return TransitFrame(index: next, records: h.first..<(h.first + h.count), plaintext: plain)
    }
}

/// A keyring failure while wrapping or unwrapping a session key, as a ``TransitError``.
func transitError(unwrapping e: any Error, what: String) -> TransitError {
    if let k = e as? KeyringError {
        switch k.code {
        case .versionNotFound: return TransitError(.keyVersionUnavailable, "\(what): \(k.reason)")
        case .unknownKey, .keyNotInitialized: return TransitError(.keyUnavailable, "\(what): \(k.reason)")
        case .wrongPurpose, .envelopeInvalid: return TransitError(.envelopeInvalid, "\(what): \(k.reason)")
        default: return TransitError(.unwrapFailed, "\(what): \(k.reason)")
        }
    }
    return TransitError(.unwrapFailed, "\(what): cannot unwrap the data key: \(e)")
}
