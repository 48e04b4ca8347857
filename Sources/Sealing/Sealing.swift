import Crypto
import Foundation
public import Keyring
import SystemIO

/// What `inspect` shows: header fields and trailer counts, read without any key. The counts come
/// from the trailer and are authenticated only when the file is opened with the key.
public struct SealedFileInfo: Sendable {
    public let header: SealedHeader
    public let frameCount: Int?
    public let totalRecords: Int?
    public let fileSize: Int
}

/// The outcome of a rewrap.
public struct RewrapResult: Sendable, Equatable {
    public let path: String
    public let keyName: String
    public let fromVersion: Int
    public let toVersion: Int
    /// False when the envelope already named the primary version (nothing was written).
    public let changed: Bool
}

public enum Sealing {
    /// Header fields of a sealed file, no key needed. The trailer counts are nil when there is no trailer.
    public static func inspect(path: String) throws -> SealedFileInfo {
        let file = try FileIO.open(path, .readOnly)
        let header = try SealedHeader.read(file, path: path)
        let size = try file.size()
        var frames: Int?, records: Int?
        if size >= header.dataOffset + SealedFormat.trailerSize {
            let t = try file.read(at: size - SealedFormat.trailerSize, count: SealedFormat.trailerSize)
            if Array(t[24..<32]) == SealedFormat.trailerMagic, t.be64(at: 8) <= UInt64(size), t.be64(at: 16) <= UInt64(Int.max) {
                frames = Int(t.be64(at: 8))
                records = Int(t.be64(at: 16))
            }
        }
        return SealedFileInfo(header: header, frameCount: frames, totalRecords: records, fileSize: size)
    }

    /// Moves the key envelope to the primary version of its at-rest key: unwraps the data key with
    /// the version it names, checks the key commitment, wraps the same key under the primary version
    /// and rewrites only the envelope slot (bytes 80 ..< 336) in place. Idempotent.
    @discardableResult
    public static func rewrap(path: String, keyring: Keyring) throws -> RewrapResult {
        let file = try FileIO.open(path, .readWrite)
        let header = try SealedHeader.read(file, path: path)
        let old = header.envelope
        do {
            let dk = try keyring.unwrapDataKey(old, purpose: .atRest, context: header.fileID)
            let c = try FileKeys.commitment(dk, fileID: header.fileID)
            guard c.withUnsafeBytes({ x in header.keyCommitment.withUnsafeBytes { y in constantTimeEqual(x, y) } }) else {
                throw SealingError(.keyCommitmentMismatch, "\(path): the unwrapped data key does not match the file's key commitment")
            }
        } catch let e as SealingError { throw e } catch { throw sealingError(unwrapping: error, path: path) }
        let new: WrappedDataKey?
        do { new = try keyring.rewrapDataKey(old, purpose: .atRest, context: header.fileID) } catch {
            throw sealingError(unwrapping: error, path: path)
        }
        guard let new else {
            return RewrapResult(path: path, keyName: old.keyName, fromVersion: old.keyVersion, toVersion: old.keyVersion, changed: false)
        }
        let slot = try SealedHeader.envelopeSlot(new)
        try slot.withUnsafeBytes { try file.write($0, at: SealedFormat.envelopeSlotOffset) }
        try file.sync()
        return RewrapResult(path: path, keyName: old.keyName, fromVersion: old.keyVersion, toVersion: new.keyVersion, changed: true)
    }
}
