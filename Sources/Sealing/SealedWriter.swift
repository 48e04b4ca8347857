import Crypto
import Foundation
public import Keyring
import SystemIO

/// Writes a sealed file front to back (streaming: the output may be a pipe).
///
/// Plaintext is buffered into frames of at most `frameSize` bytes; each frame is sealed with
/// AES-256-GCM in process under the per-file key. Call ``finish()`` to write the index frame and
/// the trailer; a file without them does not open. Not thread-safe: use one writer from one thread.
public final class SealedWriter {
    public let header: SealedHeader
    public let frameSize: Int
    /// Seconds spent in AES-GCM (frames and index) so far: the encryption share of sealing,
    /// without the file writes a plaintext output would make too.
    public private(set) var encryptionSeconds = 0.0
    private let file: FileIO
    private let gcm: AESGCM
    private var buffer: [UInt8]
    private var out: [UInt8]
    private var pendingRecords = 0
    private var recordsFlushed = 0
    private var offset: Int
    private var index: [UInt8] = []
    private var frameCount = 0
    private var closed = false
    private let syncOnFinish: Bool

    /// Creates (or truncates) `path` with mode 0600 and writes the header.
    public convenience init(
        path: String, keyring: Keyring, keyName: String,
        metadata: SealedMetadata = SealedMetadata(), frameSize: Int = SealedFormat.defaultFrameSize
    ) throws {
        let file = try FileIO.open(path, [.writeOnly, .create, .truncate])
        try self.init(file: file, keyring: keyring, keyName: keyName, metadata: metadata, frameSize: frameSize, sync: true)
    }

    /// Writes to an open descriptor (a file or a pipe); the descriptor stays open after ``finish()``.
    public convenience init(
        fileDescriptor: Int32, keyring: Keyring, keyName: String,
        metadata: SealedMetadata = SealedMetadata(), frameSize: Int = SealedFormat.defaultFrameSize
    ) throws {
        let file = FileIO(borrowing: fileDescriptor, path: "fd \(fileDescriptor)")
        try self.init(file: file, keyring: keyring, keyName: keyName, metadata: metadata, frameSize: frameSize, sync: false)
    }

    private init(file: FileIO, keyring: Keyring, keyName: String, metadata: SealedMetadata, frameSize: Int, sync: Bool) throws {
        guard frameSize >= 1, frameSize <= SealedFormat.maxFrameSize else {
            throw SealingError(.invalidArgument, "frame size \(frameSize) out of range 1…\(SealedFormat.maxFrameSize)")
        }
        let meta = try metadata.encoded()
        guard meta.count <= SealedFormat.maxMetadataSize else {
            throw SealingError(.metadataInvalid, "metadata of \(meta.count) bytes exceeds \(SealedFormat.maxMetadataSize)")
        }
        let fileID = try SecureRandom.bytes(SealedFormat.fileIDSize)
        let dk: DataKey
        do { dk = try keyring.generateDataKey(KeyRef(.atRest, keyName), context: fileID) } catch {
            throw sealingError(unwrapping: error, path: file.path)
        }
        let fileKey = try FileKeys.fileKey(dk.secret, fileID: fileID)
        let commitment = try FileKeys.commitment(dk.secret, fileID: fileID)
        self.gcm = try AESGCM(key: fileKey)
        let (bytes, hash) = try SealedHeader.build(
            frameSize: frameSize, fileID: fileID, commitment: commitment,
            metadata: meta, envelope: dk.wrapped)
        self.header = SealedHeader(
            formatVersion: SealedFormat.version, frameSize: frameSize, fileID: fileID,
            keyCommitment: commitment, metadata: metadata, envelope: dk.wrapped,
            dataOffset: bytes.count, hash: hash)
        self.file = file
        self.frameSize = frameSize
        self.syncOnFinish = sync
        self.buffer = []
        self.buffer.reserveCapacity(frameSize)
        self.out = [UInt8](repeating: 0, count: frameSize + SealedFormat.tagSize)
        self.offset = bytes.count
        try bytes.withUnsafeBytes { try file.write($0) }
    }

    /// Appends a chunk of `records` records (0 for a plain byte stream).
    ///
    /// A chunk with records that fits in one frame is never split across frames (the current frame
    /// is closed early instead); byte streams and larger chunks fill frames to `frameSize`. The
    /// chunk's records count in the frame holding its last byte.
    public func write(_ bytes: UnsafeRawBufferPointer, records: Int = 0) throws {
        guard !closed else { throw SealingError(.writerClosed, "the sealed writer is finished or failed") }
        guard records >= 0 else { throw SealingError(.invalidArgument, "negative record count \(records)") }
        do {
            if records > 0, bytes.count <= frameSize, !buffer.isEmpty, buffer.count + bytes.count > frameSize {
                try flush(last: false)
            }
            var rest = bytes
            while buffer.count + rest.count > frameSize {
                let take = frameSize - buffer.count
                buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: rest[0..<take]))
                rest = UnsafeRawBufferPointer(rebasing: rest[take...])
                try flush(last: false)
            }
            buffer.append(contentsOf: rest)
            pendingRecords += records
        } catch {
            closed = true
            zeroize()
            throw error
        }
    }

    public func write(_ bytes: [UInt8], records: Int = 0) throws {
        try bytes.withUnsafeBytes { try write($0, records: records) }
    }

    /// Seals the last frame, writes the index frame and the trailer (and fsyncs a file opened by path).
    /// - Returns: frames and records written.
    @discardableResult
    public func finish() throws -> (frames: Int, records: Int) {
        guard !closed else { throw SealingError(.writerClosed, "the sealed writer is finished or failed") }
        closed = true
        defer { zeroize() }
        try flush(last: true)
        // Index frame.
        let n = UInt64(frameCount)
        var sealed = [UInt8](repeating: 0, count: index.count + SealedFormat.tagSize)
        let nonce = FileKeys.nonce(frame: n, flags: SealedFormat.indexFrameFlag)
        let aad = FileKeys.aad(headerHash: header.hash, frame: n, firstRecord: 0, recordCount: UInt64(recordsFlushed))
        let t0 = sealingClock()
        let tag = try index.withUnsafeBytes { ib in
            try sealed.withUnsafeMutableBytes { ob in try gcm.seal(nonce: nonce, aad: aad, plaintext: ib, into: ob) }
        }
        encryptionSeconds += sealingClock() - t0
        sealed.replaceSubrange(index.count..., with: tag)
        var trailer: [UInt8] = []
        trailer.appendBE64(UInt64(offset))
        trailer.appendBE64(n)
        trailer.appendBE64(UInt64(recordsFlushed))
        trailer += SealedFormat.trailerMagic
        try (sealed + trailer).withUnsafeBytes { try file.write($0) }
        if syncOnFinish { try file.sync() }
        return (frameCount, recordsFlushed)
    }

    private func flush(last: Bool) throws {
        let i = UInt64(frameCount)
        let count = buffer.count
        let nonce = FileKeys.nonce(frame: i, flags: last ? SealedFormat.lastFrameFlag : 0)
        let aad = FileKeys.aad(headerHash: header.hash, frame: i, firstRecord: UInt64(recordsFlushed), recordCount: UInt64(pendingRecords))
        let t0 = sealingClock()
        let tag = try buffer.withUnsafeBytes { pb in
            try out.withUnsafeMutableBytes { ob in try gcm.seal(nonce: nonce, aad: aad, plaintext: pb, into: ob) }
        }
        encryptionSeconds += sealingClock() - t0
        out.withUnsafeMutableBytes { ob in
            tag.withUnsafeBytes { tb in (ob.baseAddress! + count).copyMemory(from: tb.baseAddress!, byteCount: tb.count) }
        }
        try out.withUnsafeBytes { try file.write(UnsafeRawBufferPointer(rebasing: $0[0..<(count + SealedFormat.tagSize)])) }
        index.appendBE64(UInt64(offset))
        index.appendBE32(UInt32(count))
        index.appendBE64(UInt64(recordsFlushed))
        index.appendBE64(UInt64(pendingRecords))
        offset += count + SealedFormat.tagSize
        recordsFlushed += pendingRecords
        pendingRecords = 0
        frameCount += 1
        buffer.withUnsafeMutableBytes { Crypto.zeroize($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func zeroize() {
        buffer.withUnsafeMutableBytes { Crypto.zeroize($0) }
        buffer.removeAll()
    }

    deinit { zeroize() }
}

/// Monotonic seconds.
func sealingClock() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
