import Crypto
import Foundation
public import Keyring
import SystemIO

/// One authenticated data frame.
public struct SealedFrame: Sendable {
    public let index: Int
    /// Record numbers held by the frame (records whose last byte is in it).
    public let records: Range<Int>
    public let plaintext: [UInt8]
}

/// Opens a sealed file: checks the header, unwraps the data key in the HSM, checks the key
/// commitment, the trailer and the encrypted index, then serves frames by index, each
/// authenticated before its plaintext is returned. Not thread-safe (one reader per thread).
public final class SealedReader {
    public let path: String
    public let header: SealedHeader
    public let frameCount: Int
    public let totalRecords: Int
    private let file: FileIO
    private let gcm: AESGCM
    private let entries: [(offset: Int, length: Int, first: Int, count: Int)]
    private var scratch: [UInt8] = []
    /// The file's bytes before data frame 0 (header), as read and checked by `init`.
    let headerBytes: [UInt8]
    /// The file's bytes after the last data frame (sealed index and trailer), as read and checked
    /// by `init`: with the data frames in order between them, the whole file.
    let tailBytes: [UInt8]

    public init(path: String, keyring: Keyring) throws {
        let file = try FileIO.open(path, .readOnly)
        let (header, headerBytes) = try SealedHeader.readWithBytes(file, path: path)
        let size = try file.size()
        // Data key, then the commitment, before anything is decrypted.
        let dataKey: SecretBytes
        do { dataKey = try keyring.unwrapDataKey(header.envelope, purpose: .atRest, context: header.fileID) } catch {
            throw sealingError(unwrapping: error, path: path)
        }
        let commitment = try FileKeys.commitment(dataKey, fileID: header.fileID)
        guard commitment.withUnsafeBytes({ c in header.keyCommitment.withUnsafeBytes { h in constantTimeEqual(c, h) } }) else {
            throw SealingError(.keyCommitmentMismatch, "\(path): the unwrapped data key does not match the file's key commitment")
        }
        let gcm = try AESGCM(key: try FileKeys.fileKey(dataKey, fileID: header.fileID))

        // Trailer.
        guard size >= header.dataOffset + SealedFormat.tagSize * 2 + SealedFormat.trailerSize else {
            throw SealingError(.truncated, "\(path): \(size) bytes is too short for frames, index and trailer")
        }
        let trailer = try file.read(at: size - SealedFormat.trailerSize, count: SealedFormat.trailerSize)
        guard Array(trailer[24..<32]) == SealedFormat.trailerMagic else {
            throw SealingError(.truncated, "\(path): no trailer at the end of the file (truncated?)")
        }
        let indexOffset = trailer.be64(at: 0), n64 = trailer.be64(at: 8), r64 = trailer.be64(at: 16)
        let maxFrames = UInt64((size - header.dataOffset) / SealedFormat.tagSize)
        guard n64 >= 1, n64 <= maxFrames, r64 <= UInt64(Int.max) else {
            throw SealingError(.truncated, "\(path): trailer frame count \(n64) is inconsistent with the file size")
        }
        let n = Int(n64)
        // Checked arithmetic: the trailer is not authenticated yet (a changed frame count made
        // this subtraction negative and trapped; found by fuzzing).
        let (indexLength, o1) = n.multipliedReportingOverflow(by: SealedFormat.indexEntrySize)
        let expectedIndexOffset = size - SealedFormat.trailerSize - SealedFormat.tagSize - (o1 ? 0 : indexLength)
        guard !o1, expectedIndexOffset >= header.dataOffset, indexOffset == UInt64(expectedIndexOffset) else {
            throw SealingError(.truncated, "\(path): trailer index offset is inconsistent with the file size (truncated or appended?)")
        }
        // Index frame.
        let sealedIndex = try file.read(at: Int(indexOffset), count: indexLength + SealedFormat.tagSize)
        var plainIndex = [UInt8](repeating: 0, count: indexLength)
        let nonce = FileKeys.nonce(frame: n64, flags: SealedFormat.indexFrameFlag)
        let aad = FileKeys.aad(headerHash: header.hash, frame: n64, firstRecord: 0, recordCount: r64)
        do {
            try sealedIndex.withUnsafeBytes { sb in
                try plainIndex.withUnsafeMutableBytes { ob in
                    try gcm.open(
                        nonce: nonce, aad: aad, ciphertext: UnsafeRawBufferPointer(rebasing: sb[0..<indexLength]),
                        tag: Array(sealedIndex[indexLength...]), into: ob)
                }
            }
        } catch let e as CryptoError where e.code == .authenticationFailed {
            throw SealingError(.indexInvalid, "\(path): the index frame failed authentication (tampered, truncated or spliced file)")
        }
        var entries: [(offset: Int, length: Int, first: Int, count: Int)] = []
        entries.reserveCapacity(n)
        var expectedOffset = header.dataOffset, expectedFirst = 0
        for i in 0..<n {
            let o = i * SealedFormat.indexEntrySize
            let off = plainIndex.be64(at: o), len = UInt64(plainIndex.be32(at: o + 8))
            let first = plainIndex.be64(at: o + 12), count = plainIndex.be64(at: o + 20)
            guard off == UInt64(expectedOffset), len <= UInt64(header.frameSize), first == UInt64(expectedFirst),
                count <= r64 - first
            else {
                throw SealingError(.indexInvalid, "\(path): index entry \(i) is inconsistent")
            }
            entries.append((Int(off), Int(len), Int(first), Int(count)))
            expectedOffset += Int(len) + SealedFormat.tagSize
            expectedFirst += Int(count)
        }
        guard expectedOffset == Int(indexOffset), expectedFirst == Int(r64) else {
            throw SealingError(.indexInvalid, "\(path): index does not cover the data frames exactly")
        }
        self.path = path
        self.header = header
        self.file = file
        self.gcm = gcm
        self.entries = entries
        self.frameCount = n
        self.totalRecords = Int(r64)
        self.headerBytes = headerBytes
        self.tailBytes = sealedIndex + trailer
    }

    /// Reads and authenticates data frame `i` (0-based).
    public func frame(at i: Int) throws -> SealedFrame {
        let e = try entry(i)
        let total = e.length + SealedFormat.tagSize
        if scratch.count < total { scratch = [UInt8](repeating: 0, count: total) }
        var plain = [UInt8](repeating: 0, count: e.length)
        try scratch.withUnsafeMutableBytes { sb in
            let sealed = UnsafeMutableRawBufferPointer(rebasing: sb[0..<total])
            _ = try readFrame(i, into: sealed)
            _ = try plain.withUnsafeMutableBytes { try decryptFrame(i, sealed: UnsafeRawBufferPointer(sealed), into: $0) }
        }
        return SealedFrame(index: i, records: e.first..<(e.first + e.count), plaintext: plain)
    }

    /// The plaintext length of data frame `i`.
    func frameLength(_ i: Int) throws -> Int { try entry(i).length }

    /// Reads data frame `i` and its tag (still sealed) into the front of `sealed`.
    /// - Returns: the bytes read (the frame's length plus the tag).
    func readFrame(_ i: Int, into sealed: UnsafeMutableRawBufferPointer) throws -> Int {
        let e = try entry(i)
        let total = e.length + SealedFormat.tagSize
        guard sealed.count >= total else { throw SealingError(.internalError, "frame buffer of \(sealed.count) bytes for \(total)") }
        try file.read(at: e.offset, into: UnsafeMutableRawBufferPointer(rebasing: sealed[0..<total]))
        return total
    }

    /// Authenticates data frame `i` read by ``readFrame(_:into:)`` and decrypts it into the
    /// front of `plaintext`, which is written only if the frame authenticates (zeroed otherwise).
    /// - Returns: the plaintext length.
    /// - Throws: ``SealingError`` `.frameAuthenticationFailed`.
    func decryptFrame(_ i: Int, sealed: UnsafeRawBufferPointer, into plaintext: UnsafeMutableRawBufferPointer) throws -> Int {
        let e = try entry(i)
        guard sealed.count >= e.length + SealedFormat.tagSize, plaintext.count >= e.length else {
            throw SealingError(.internalError, "frame buffers too small for frame \(i)")
        }
        let nonce = FileKeys.nonce(frame: UInt64(i), flags: i == frameCount - 1 ? SealedFormat.lastFrameFlag : 0)
        let aad = FileKeys.aad(headerHash: header.hash, frame: UInt64(i), firstRecord: UInt64(e.first), recordCount: UInt64(e.count))
        let tag = Array(sealed[e.length..<(e.length + SealedFormat.tagSize)])
        do {
            try gcm.open(
                nonce: nonce, aad: aad, ciphertext: UnsafeRawBufferPointer(rebasing: sealed[0..<e.length]), tag: tag,
                into: UnsafeMutableRawBufferPointer(rebasing: plaintext[0..<e.length]))
        } catch let err as CryptoError where err.code == .authenticationFailed {
            throw SealingError(.frameAuthenticationFailed, "\(path): frame \(i) failed authentication (tampered, reordered, spliced or truncated)")
        }
        return e.length
    }

    private func entry(_ i: Int) throws -> (offset: Int, length: Int, first: Int, count: Int) {
        guard i >= 0, i < frameCount else {
            throw SealingError(.frameOutOfRange, "\(path): frame \(i) out of range 0..<\(frameCount)")
        }
        return entries[i]
    }

    /// Calls `body` with every frame in order, each authenticated first.
    public func forEachFrame(_ body: (SealedFrame) throws -> Void) throws {
        for i in 0..<frameCount { try body(try frame(at: i)) }
    }

    /// The whole plaintext (every frame authenticated).
    public func readAll() throws -> [UInt8] {
        var all: [UInt8] = []
        try forEachFrame { all += $0.plaintext }
        return all
    }
}
