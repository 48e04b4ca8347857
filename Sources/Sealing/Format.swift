import Crypto
import Foundation
public import Keyring

/// Constants of the sealed file format, version 1 (docs/sealed-format.md).
public enum SealedFormat {
    public static let version: UInt8 = 1
    public static let magic: [UInt8] = Array("TGSF".utf8)
    public static let trailerMagic: [UInt8] = Array("TGSFEND1".utf8)
    /// Bytes 0 ..< 80: magic, version, reserved, frame size, file id, commitment, metadata length.
    public static let fixedHeaderSize = 80
    /// Offset and size of the rewritable key envelope slot.
    public static let envelopeSlotOffset = 80
    public static let envelopeSlotSize = 256
    public static let metadataOffset = 336
    public static let trailerSize = 32
    public static let indexEntrySize = 28
    public static let tagSize = 16
    public static let fileIDSize = 32
    public static let defaultFrameSize = 1 << 20
    public static let maxFrameSize = 1 << 30
    public static let maxMetadataSize = 16 << 20

    static let headerHashDomain = Array("tokengate/sealed/v1/header".utf8)
    static let fileKeyInfo = Array("tokengate/sealed/v1/file-key".utf8)
    static let commitmentInfo = Array("tokengate/sealed/v1/commitment".utf8)
    static let lastFrameFlag: UInt32 = 1
    static let indexFrameFlag: UInt32 = 2
}

/// Schema and provenance recorded in the (authenticated) header.
public struct SealedMetadata: Codable, Sendable, Equatable {
    public struct Column: Codable, Sendable, Equatable {
        public var name: String
        /// The tagger's tag (e.g. "pan"), if any.
        public var tag: String?
        /// The in-use key that tokenized the column (e.g. "in-use/pan"), if any.
        public var key: String?
        /// Its version.
        public var keyVersion: Int?
        /// Its CKA_ID in hex.
        public var keyID: String?

        public init(name: String, tag: String? = nil, key: String? = nil, keyVersion: Int? = nil, keyID: String? = nil) {
            self.name = name
            self.tag = tag
            self.key = key
            self.keyVersion = keyVersion
            self.keyID = keyID
        }
    }

    public var columns: [Column]
    /// Free-form attributes (format of the payload, source, …).
    public var attributes: [String: String]

    public init(columns: [Column] = [], attributes: [String: String] = [:]) {
        self.columns = columns
        self.attributes = attributes
    }

    package func encoded() throws -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        do { return Array(try e.encode(self)) } catch {
            throw SealingError(.metadataInvalid, "cannot encode metadata: \(error)")
        }
    }
}

/// The header of a sealed file, readable without any key.
public struct SealedHeader: Sendable {
    public let formatVersion: UInt8
    /// Maximum plaintext bytes per data frame.
    public let frameSize: Int
    public let fileID: [UInt8]
    public let keyCommitment: [UInt8]
    public let metadata: SealedMetadata
    /// The key envelope currently in the slot (key name, version, CKA_ID).
    public let envelope: WrappedDataKey
    /// Offset of data frame 0.
    public let dataOffset: Int
    /// SHA-256 of the immutable header (everything but the envelope slot).
    public let hash: [UInt8]

    /// Serializes the fixed part and metadata for a new file; returns the bytes up to `dataOffset`.
    static func build(
        frameSize: Int, fileID: [UInt8], commitment: [UInt8], metadata: [UInt8],
        envelope: WrappedDataKey
    ) throws -> (bytes: [UInt8], hash: [UInt8]) {
        var b = SealedFormat.magic + [SealedFormat.version, 0, 0, 0]
        b.appendBE32(UInt32(frameSize))
        b += fileID
        b += commitment
        b.appendBE32(UInt32(metadata.count))
        b += try envelopeSlot(envelope)
        b += metadata
        return (b, try headerHash(fixed: b[0..<SealedFormat.fixedHeaderSize], metadata: metadata[...]))
    }

    static func envelopeSlot(_ envelope: WrappedDataKey) throws -> [UInt8] {
        let e = envelope.serialized
        guard e.count <= SealedFormat.envelopeSlotSize - 2 else {
            throw SealingError(.envelopeInvalid, "key envelope of \(e.count) bytes does not fit the \(SealedFormat.envelopeSlotSize)-byte slot")
        }
        var slot: [UInt8] = []
        slot.reserveCapacity(SealedFormat.envelopeSlotSize)
        slot.append(UInt8(e.count >> 8))
        slot.append(UInt8(e.count & 0xFF))
        slot += e
        slot += [UInt8](repeating: 0, count: SealedFormat.envelopeSlotSize - slot.count)
        return slot
    }

    static func headerHash(fixed: ArraySlice<UInt8>, metadata: ArraySlice<UInt8>) throws -> [UInt8] {
        let h = try SHA256Hasher()
        try SealedFormat.headerHashDomain.withUnsafeBytes { try h.update($0) }
        try fixed.withUnsafeBytes { try h.update($0) }
        try metadata.withUnsafeBytes { try h.update($0) }
        return try h.finalize()
    }

    /// Parses and validates the header (no key needed).
    static func read(_ file: FileIO, path: String) throws -> SealedHeader {
        try readWithBytes(file, path: path).header
    }

    /// Parses and validates the header; also returns its bytes as read (the file's first
    /// `dataOffset` bytes), for the digest of a sealed file read front to back.
    static func readWithBytes(_ file: FileIO, path: String) throws -> (header: SealedHeader, bytes: [UInt8]) {
        let size = try file.size()
        guard size >= SealedFormat.metadataOffset else {
            if size >= 4, try file.read(at: 0, count: 4) != SealedFormat.magic {
                throw SealingError(.notSealed, "\(path) is not a sealed file (bad magic)")
            }
            throw SealingError(.truncated, "\(path) is too short (\(size) bytes) for a sealed file header")
        }
        let fixed = try file.read(at: 0, count: SealedFormat.metadataOffset)
        guard Array(fixed[0..<4]) == SealedFormat.magic else {
            throw SealingError(.notSealed, "\(path) is not a sealed file (bad magic)")
        }
        guard fixed[4] == SealedFormat.version else {
            throw SealingError(
                .unsupportedVersion, "\(path): sealed format version \(fixed[4]) is not supported (this build reads version \(SealedFormat.version))")
        }
        guard fixed[5] == 0, fixed[6] == 0, fixed[7] == 0 else {
            throw SealingError(.malformedHeader, "\(path): reserved header bytes are not zero")
        }
        let frameSize = Int(fixed.be32(at: 8))
        guard frameSize >= 1, frameSize <= SealedFormat.maxFrameSize else {
            throw SealingError(.malformedHeader, "\(path): frame size \(frameSize) out of range")
        }
        let m = Int(fixed.be32(at: 76))
        guard m <= SealedFormat.maxMetadataSize else {
            throw SealingError(.malformedHeader, "\(path): metadata length \(m) exceeds \(SealedFormat.maxMetadataSize)")
        }
        guard SealedFormat.metadataOffset + m <= size else {
            throw SealingError(.truncated, "\(path): file ends inside the header metadata")
        }
        // Envelope slot.
        let slot = fixed[SealedFormat.envelopeSlotOffset..<SealedFormat.metadataOffset]
        let l = Int(slot[slot.startIndex]) << 8 | Int(slot[slot.startIndex + 1])
        guard l >= 1, l <= SealedFormat.envelopeSlotSize - 2 else {
            throw SealingError(.envelopeInvalid, "\(path): key envelope length \(l) out of range")
        }
        let envStart = slot.startIndex + 2
        guard slot[(envStart + l)...].allSatisfy({ $0 == 0 }) else {
            throw SealingError(.envelopeInvalid, "\(path): key envelope slot padding is not zero")
        }
        let envelope: WrappedDataKey
        do { envelope = try WrappedDataKey(serialized: Array(slot[envStart..<(envStart + l)])) } catch {
            throw SealingError(.envelopeInvalid, "\(path): \(error)")
        }
        guard envelope.purpose == .atRest else {
            throw SealingError(.envelopeInvalid, "\(path): data key is wrapped by a \(envelope.purpose) key, expected at-rest")
        }
        let metaBytes = try file.read(at: SealedFormat.metadataOffset, count: m)
        let metadata: SealedMetadata
        do { metadata = try JSONDecoder().decode(SealedMetadata.self, from: Data(metaBytes)) } catch {
            throw SealingError(.metadataInvalid, "\(path): header metadata is not valid JSON for the schema")
        }
        let header = SealedHeader(
            formatVersion: fixed[4], frameSize: frameSize, fileID: Array(fixed[12..<44]), keyCommitment: Array(fixed[44..<76]),
            metadata: metadata, envelope: envelope, dataOffset: SealedFormat.metadataOffset + m,
            hash: try headerHash(fixed: fixed[0..<SealedFormat.fixedHeaderSize], metadata: metaBytes[...]))
        return (header, fixed + metaBytes)
    }
}

/// Keys derived from the data key.
package enum FileKeys {
    static func fileKey(_ dataKey: borrowing SecretBytes, fileID: [UInt8]) throws -> SecretBytes {
        try HKDFSHA256.deriveKey(inputKey: dataKey, salt: fileID, info: SealedFormat.fileKeyInfo, outputCount: 32)
    }

    static func commitment(_ dataKey: borrowing SecretBytes, fileID: [UInt8]) throws -> [UInt8] {
        let c = try HKDFSHA256.deriveKey(inputKey: dataKey, salt: fileID, info: SealedFormat.commitmentInfo, outputCount: 32)
        return c.withUnsafeBytes { Array($0) }
    }

    package static func nonce(frame: UInt64, flags: UInt32) -> [UInt8] {
        var n: [UInt8] = []
        n.reserveCapacity(12)
        n.appendBE64(frame)
        n.appendBE32(flags)
        return n
    }

    static func aad(headerHash: [UInt8], frame: UInt64, firstRecord: UInt64, recordCount: UInt64) -> [UInt8] {
        var a = headerHash
        a.reserveCapacity(56)
        a.appendBE64(frame)
        a.appendBE64(firstRecord)
        a.appendBE64(recordCount)
        return a
    }
}

/// Maps keyring failures to sealing errors.
func sealingError(unwrapping e: any Error, path: String) -> SealingError {
    if let k = e as? KeyringError {
        switch k.code {
        case .versionNotFound: return SealingError(.keyVersionUnavailable, "\(path): \(k.reason)")
        case .unknownKey, .keyNotInitialized: return SealingError(.keyUnavailable, "\(path): \(k.reason)")
        case .wrongPurpose, .envelopeInvalid: return SealingError(.envelopeInvalid, "\(path): \(k.reason)")
        default: return SealingError(.unwrapFailed, "\(path): \(k.reason)")
        }
    }
    return SealingError(.unwrapFailed, "\(path): cannot unwrap the data key: \(e)")
}

extension Array where Element == UInt8 {
    package mutating func appendBE64(_ v: UInt64) {
        for s in stride(from: 56, through: 0, by: -8) { append(UInt8(truncatingIfNeeded: v >> UInt64(s))) }
    }

    package mutating func appendBE32(_ v: UInt32) {
        for s in stride(from: 24, through: 0, by: -8) { append(UInt8(truncatingIfNeeded: v >> UInt32(s))) }
    }

    package func be64(at o: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<8 { v = v << 8 | UInt64(self[o + i]) }
        return v
    }

    package func be32(at o: Int) -> UInt32 {
        var v: UInt32 = 0
        for i in 0..<4 { v = v << 8 | UInt32(self[o + i]) }
        return v
    }
}
