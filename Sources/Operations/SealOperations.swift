import Audit
import Crypto
import Foundation
public import Sealing

/// What `seal` did.
public struct SealResult: Sendable {
    public let output: String
    public let frames: Int
    public let bytes: Int
    /// The sealed file's header (file id, key envelope, metadata).
    public let header: SealedHeader
}

/// What `open` released.
public struct OpenResult: Sendable {
    public let frames: Int
    public let bytes: Int
}

extension Gateway {
    /// Seals a file (or stdin, `-`) under a fresh data key wrapped by the at-rest key `keyName`.
    /// Audited as `seal`.
    public func seal(
        input: String, output: String, keyName: String = "datasets",
        frameSize: Int = SealedFormat.defaultFrameSize
    ) throws -> SealResult {
        try audited("seal", inputs: [AuditFile(path: absolute(input, stream: "stdin"))]) { record in
            // Both digests are computed while sealing (input as read, output as written): neither
            // file is read again, and the header comes from the writer.
            let r = try Sealing.sealFile(input: input, output: output, keyring: keyring, keyName: keyName, frameSize: frameSize)
            record.inputs = [AuditFile(absolute(input, stream: "stdin"), r.input)]
            record.outputs = [AuditFile(absolute(output, stream: "stdout"), r.output)]
            record.keys = [AuditKey(envelopeOf: r.header)]
            record.details = ["frames": "\(r.frames)", "sealedFileID": Hex.encode(r.header.fileID)]
            return SealResult(output: output, frames: r.frames, bytes: r.input.bytes, header: r.header)
        }
    }

    /// Authenticates and decrypts a sealed file to `output` (`-`: stdout): every frame, or the
    /// `frames` given, in that order. Audited as `open`.
    public func open(path: String, output: String, frames: [Int]? = nil, mode: UInt32 = 0o600) throws -> OpenResult {
        try audited("open", inputs: [AuditFile(path: absolute(path, stream: "stdin"))]) { record in
            // The header is read (no key, a few hundred bytes) before the work so that a failure
            // record, an unwrap refused by the HSM included, still names the key.
            let h = try Sealing.inspect(path: path).header
            record.inputs = [AuditFile(path: absolute(path, stream: "stdin"))]
            record.keys = [AuditKey(envelopeOf: h)]
            let r = try Sealing.openFile(path: path, output: output, keyring: keyring, frames: frames, mode: mode)
            // A full open hashed the sealed file as it read it; a frame subset read only those
            // frames, so the whole file is read once more for its digest (as every open did before).
            record.inputs = [r.input.map { AuditFile(absolute(path, stream: "stdin"), $0) } ?? auditFile(path, stream: "stdin")]
            record.outputs = [AuditFile(absolute(output, stream: "stdout"), r.output)]
            record.details = ["frames": frames.map { $0.map(String.init).joined(separator: ",") } ?? "all", "sealedFileID": Hex.encode(h.fileID)]
            return OpenResult(frames: r.frames, bytes: r.output.bytes)
        }
    }

    /// A sealed file's header, frame count and size. Needs no key and releases no data, so it is
    /// not recorded in the audit log.
    public static func inspect(path: String) throws -> SealedFileInfo {
        try Sealing.inspect(path: path)
    }

    /// Moves one sealed file's key envelope to the primary at-rest key version (frames
    /// untouched; idempotent). Audited as `rewrap`, one record per file.
    /// - Parameter aadPrefix: a PME file's AAD prefix, when the file does not store its own; a
    ///   sealed frame file has none and is refused with one.
    public func rewrap(path: String, aadPrefix: [UInt8]? = nil) throws -> RewrapResult {
        try audited("rewrap", inputs: [AuditFile(path: absolute(path, stream: "stdin"))]) { record in
            record.inputs = [auditFile(path, stream: "stdin")]
            let pme = Sealing.parquetMagic(path: path).encrypted
            if aadPrefix != nil && !pme {
                throw SealingError(.invalidArgument, "\(path) is a sealed frame file, which has no AAD prefix: rewrap it without --aad-prefix")
            }
            let r =
                try pme
                ? Sealing.rewrapParquet(path: path, keyring: keyring, aadPrefix: aadPrefix) : Sealing.rewrap(path: path, keyring: keyring)
            record.outputs = record.inputs
            record.details = ["keyName": "at-rest/\(r.keyName)", "fromVersion": "\(r.fromVersion)", "toVersion": "\(r.toVersion)", "changed": "\(r.changed)"]
            return r
        }
    }
}

extension AuditFile {
    /// A file (or stream, by name) with the size and digest computed while it was read or written.
    init(_ path: String, _ d: StreamDigest) {
        self.init(path: path, bytes: Int64(d.bytes), sha256: d.hex)
    }
}

extension AuditKey {
    /// The at-rest key version that wraps a sealed file's data key.
    init(envelopeOf h: SealedHeader) {
        self.init(label: h.envelope.ref.label(version: h.envelope.keyVersion), id: Hex.encode(h.envelope.keyID), version: h.envelope.keyVersion)
    }
}
