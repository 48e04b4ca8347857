import Crypto
import Foundation
public import Keyring
import SystemIO

/// Writes a sealed file front to back (streaming: the output may be a pipe).
///
/// Plaintext is buffered into frames of at most `frameSize` bytes; each frame is sealed with
/// AES-256-GCM in process under the per-file key. Call ``finish()`` to write the index frame and
/// the trailer; a file without them does not open. Not thread-safe: use one writer from one thread.
///
/// Every byte written (header, frames, index, trailer) is SHA-256-hashed on the way, on a helper
/// queue beside the encryption, so ``finish()`` returns the sealed output's size and digest with
/// no second read of it.
public final class SealedWriter {
    public let header: SealedHeader
    public let frameSize: Int
    /// Seconds spent in AES-GCM (frames and index) so far: the encryption share of sealing,
    /// without the file writes a plaintext output would make too.
    public private(set) var encryptionSeconds = 0.0
    private let file: FileIO
    private let gcm: AESGCM
    private var buffer: [UInt8]
    /// Sealed frames are encrypted into its slots, written from there and hashed there.
    private let outRing: DigestRing
    /// The frame with the last-frame flag is written (by ``writeFrame(_:last:)``).
    private var lastSealed = false
    private var pendingRecords = 0
    private var recordsFlushed = 0
    private var offset: Int
    /// Bytes written to the file so far.
    public var bytesWritten: Int { offset }
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
        self.outRing = try DigestRing(slotSize: frameSize + SealedFormat.tagSize)
        self.offset = bytes.count
        try emit(bytes)
    }

    /// Appends a chunk of `records` records (0 for a plain byte stream).
    ///
    /// A chunk with records that fits in one frame is never split across frames (the current frame
    /// is closed early instead); byte streams and larger chunks fill frames to `frameSize`. The
    /// chunk's records count in the frame holding its last byte.
    public func write(_ bytes: UnsafeRawBufferPointer, records: Int = 0) throws {
        guard !closed, !lastSealed else { throw SealingError(.writerClosed, "the sealed writer is finished or failed") }
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

    /// Seals one whole frame straight from the caller's memory (no copy into the writer's frame
    /// buffer): for a caller that reads a byte stream in frames and looks one frame ahead, so it
    /// knows which frame is the last. Holds no records.
    /// - Parameters:
    ///   - plaintext: exactly `frameSize` bytes, or at most that for the last frame.
    ///   - last: no data follows; ``finish()`` then writes only the index and the trailer.
    /// - Throws: ``SealingError`` `.invalidArgument` if bytes given to ``write(_:records:)`` are
    ///   still buffered or the size is wrong; `.writerClosed` after the last frame or a failure.
    public func writeFrame(_ plaintext: UnsafeRawBufferPointer, last: Bool) throws {
        guard !closed, !lastSealed else { throw SealingError(.writerClosed, "the sealed writer is finished or failed") }
        guard buffer.isEmpty, pendingRecords == 0 else {
            throw SealingError(.invalidArgument, "writeFrame with \(buffer.count) bytes buffered by write")
        }
        guard plaintext.count == frameSize || (last && plaintext.count < frameSize) else {
            throw SealingError(.invalidArgument, "a frame of \(plaintext.count) bytes (frame size \(frameSize), last: \(last))")
        }
        do {
            try seal(plaintext, last: last)
            lastSealed = last
        } catch {
            closed = true
            zeroize()
            throw error
        }
    }

    /// Seals the last frame, writes the index frame and the trailer (and fsyncs a file opened by path).
    /// - Returns: frames and records written, and the size and SHA-256 of every byte written.
    @discardableResult
    public func finish() throws -> SealedWriteSummary {
        guard !closed else { throw SealingError(.writerClosed, "the sealed writer is finished or failed") }
        closed = true
        defer { zeroize() }
        if !lastSealed { try flush(last: true) }
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
        try emit(sealed + trailer)
        if syncOnFinish { try file.sync() }
        let digest = try outRing.finish()
        return SealedWriteSummary(frames: frameCount, records: recordsFlushed, bytes: digest.bytes, sha256: digest.sha256)
    }

    /// Writes `bytes` and adds them to the output digest.
    private func emit(_ bytes: [UInt8]) throws {
        outRing.submit(bytes: bytes)
        try bytes.withUnsafeBytes { try file.write($0) }
    }

    /// Seals the buffered bytes as the next frame.
    private func flush(last: Bool) throws {
        try buffer.withUnsafeBytes { try seal($0, last: last) }
        buffer.withUnsafeMutableBytes { Crypto.zeroize($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Encrypts `plaintext` as the next frame (with the pending records) into a slot of the output
    /// ring, hands the slot to the digest queue and writes it.
    private func seal(_ plaintext: UnsafeRawBufferPointer, last: Bool) throws {
        let i = UInt64(frameCount)
        let count = plaintext.count
        let nonce = FileKeys.nonce(frame: i, flags: last ? SealedFormat.lastFrameFlag : 0)
        let aad = FileKeys.aad(headerHash: header.hash, frame: i, firstRecord: UInt64(recordsFlushed), recordCount: UInt64(pendingRecords))
        let slot = outRing.acquire()
        let total = count + SealedFormat.tagSize
        do {
            let t0 = sealingClock()
            let tag = try gcm.seal(nonce: nonce, aad: aad, plaintext: plaintext, into: slot.buffer)
            encryptionSeconds += sealingClock() - t0
            guard tag.count == SealedFormat.tagSize else { throw SealingError(.internalError, "AES-GCM tag of \(tag.count) bytes") }
            tag.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: slot.buffer[count..<total]).copyMemory(from: $0) }
        } catch {
            outRing.submit(slot, count: 0)
            throw error
        }
        outRing.submit(slot, count: total)
        try file.write(UnsafeRawBufferPointer(rebasing: slot.buffer[0..<total]))
        index.appendBE64(UInt64(offset))
        index.appendBE32(UInt32(count))
        index.appendBE64(UInt64(recordsFlushed))
        index.appendBE64(UInt64(pendingRecords))
        offset += count + SealedFormat.tagSize
        recordsFlushed += pendingRecords
        pendingRecords = 0
        frameCount += 1
    }

    private func zeroize() {
        buffer.withUnsafeMutableBytes { Crypto.zeroize($0) }
        buffer.removeAll()
    }

    deinit { zeroize() }
}

/// What ``SealedWriter/finish()`` wrote.
public struct SealedWriteSummary: Sendable, Equatable {
    public let frames: Int
    public let records: Int
    /// Bytes written in all (header, frames, index, trailer): the sealed file's size.
    public let bytes: Int
    /// SHA-256 of those bytes, computed as they were written.
    public let sha256: [UInt8]
}

/// Monotonic seconds.
func sealingClock() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
