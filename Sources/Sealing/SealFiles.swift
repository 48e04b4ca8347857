public import Keyring
import SystemIO

/// What ``Sealing/sealFile(input:output:keyring:keyName:metadata:frameSize:)`` did.
public struct SealFileResult: Sendable {
    public let frames: Int
    /// The sealed file's header (file id, key envelope, metadata).
    public let header: SealedHeader
    /// Size and SHA-256 of the plaintext read, hashed as it was read.
    public let input: StreamDigest
    /// Size and SHA-256 of the sealed file written, hashed as it was written.
    public let output: StreamDigest
}

/// What ``Sealing/openFile(path:output:keyring:frames:)`` released.
public struct OpenFileResult: Sendable {
    public let frames: Int
    /// The sealed file's header.
    public let header: SealedHeader
    /// Size and SHA-256 of the sealed file, hashed as its bytes were read to open every frame;
    /// nil when only some frames were opened (the rest of the file was not read).
    public let input: StreamDigest?
    /// Size and SHA-256 of the plaintext released (to the file or stdout), hashed as it was written.
    public let output: StreamDigest
}

extension Sealing {
    /// Seals a whole file (or stdin, `-`) into `output`, written to a temporary name in the same
    /// folder and renamed only after `finish()` (index and trailer written, fsync'd).
    ///
    /// The input is read a frame at a time into the slots of a ``DigestRing`` (one frame of
    /// look-ahead tells which frame is the last), each frame hashed there on a helper queue and
    /// sealed from there with no copy; the writer hashes what it writes the same way. Neither file
    /// is read again for its digest.
    /// - Returns: frames, header, and the size and SHA-256 of the input and of the sealed output.
    @discardableResult
    public static func sealFile(
        input: String, output: String, keyring: Keyring, keyName: String,
        metadata: SealedMetadata = SealedMetadata(), frameSize: Int = SealedFormat.defaultFrameSize
    ) throws -> SealFileResult {
        let source: FileDescriptor
        do { source = input == "-" ? .standardInput : try FileDescriptor.open(input, .readOnly) } catch {
            throw SealingError(.io, "\(error)")
        }
        let out = try temporaryOutput(output)
        var done = false
        defer { if !done { out.discard() } }
        let writer = try SealedWriter(fileDescriptor: out.fd, keyring: keyring, keyName: keyName, metadata: metadata, frameSize: frameSize)
        let ring = try DigestRing(slotSize: frameSize)
        var current = ring.acquire()
        var n = try fill(current.buffer, from: source)
        ring.submit(current, count: n)
        while true {
            let frame = UnsafeRawBufferPointer(rebasing: current.buffer[0..<n])
            if n < frameSize {
                try writer.writeFrame(frame, last: true)
                break
            }
            try pace(out, writer.bytesWritten)
            // A full frame: read the next one first, to know whether this one is the last.
            let next = ring.acquire()
            let m = try fill(next.buffer, from: source)
            ring.submit(next, count: m)
            try writer.writeFrame(frame, last: m == 0)
            if m == 0 { break }
            current = next
            n = m
        }
        let sealed = try writer.finish()
        let read = try ring.finish()
        done = true
        try commit(out)
        return SealFileResult(
            frames: sealed.frames, header: writer.header, input: read,
            output: StreamDigest(bytes: sealed.bytes, sha256: sealed.sha256))
    }

    /// Reads from `source` until `buffer` is full or the input ends.
    /// - Returns: the bytes read (less than `buffer.count` only at the end of the input).
    private static func fill(_ buffer: UnsafeMutableRawBufferPointer, from source: FileDescriptor) throws -> Int {
        var n = 0
        while n < buffer.count {
            let r: Int
            do { r = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[n...])) } catch {
                throw SealingError(.io, "\(error)")
            }
            if r == 0 { break }
            n += r
        }
        return n
    }

    /// Opens a sealed file: every frame is authenticated before its plaintext is released.
    /// - `output == "-"`: plaintext streams to stdout frame by frame (a tampered later frame stops
    ///   the stream with an error and a non-zero exit).
    /// - a file: written to a temporary name and renamed only after every selected frame, the
    ///   index and the trailer verified.
    ///
    /// The plaintext is hashed as it is released. Opening every frame reads the whole file front
    /// to back (header and index were read and checked first; frames follow in order), so the
    /// sealed file's digest is computed from the very bytes that were authenticated, on a helper
    /// queue beside the decryption. A subset of frames reads only those frames: no input digest
    /// (``OpenFileResult/input`` is nil).
    /// - Parameter frames: frame indexes to release (random access), nil = all, in order.
    @discardableResult
    public static func openFile(
        path: String, output: String, keyring: Keyring, frames: [Int]? = nil, mode: UInt32 = 0o600
    ) throws -> OpenFileResult {
        let reader = try SealedReader(path: path, keyring: keyring)
        let selected = frames ?? Array(0..<reader.frameCount)
        for f in selected where f < 0 || f >= reader.frameCount {
            throw SealingError(.frameOutOfRange, "\(path) has \(reader.frameCount) frames; frame \(f) does not exist")
        }
        let out: TemporaryOutput? = output == "-" ? nil : try temporaryOutput(output, mode: mode)
        var done = false
        defer { if !done { out?.discard() } }
        let sink = out?.descriptor ?? .standardOutput
        let frameSize = reader.header.frameSize
        let whole = frames == nil
        // Sealed frames are read into `sealedRing` (hashed there when the whole file is read),
        // decrypted into `plainRing` and written and hashed from there.
        let sealedRing = try DigestRing(slotSize: frameSize + SealedFormat.tagSize)
        let plainRing = try DigestRing(slotSize: frameSize)
        if whole { sealedRing.submit(bytes: reader.headerBytes) }
        var written = 0
        for f in selected {
            let sealed = sealedRing.acquire()
            let n: Int
            do { n = try reader.readFrame(f, into: sealed.buffer) } catch {
                sealedRing.submit(sealed, count: 0)
                throw error
            }
            sealedRing.submit(sealed, count: whole ? n : 0)
            let plain = plainRing.acquire()
            let length: Int
            do { length = try reader.decryptFrame(f, sealed: UnsafeRawBufferPointer(sealed.buffer), into: plain.buffer) } catch {
                plainRing.submit(plain, count: 0)
                throw error
            }
            // Authenticated: released to the digest and the sink.
            plainRing.submit(plain, count: length)
            do {
                try sink.write(UnsafeRawBufferPointer(rebasing: plain.buffer[0..<length]))
                written += length
                try out?.wrote(upTo: written)
            } catch { throw SealingError(.io, "\(error)") }
        }
        if whole { sealedRing.submit(bytes: reader.tailBytes) }
        let input = try sealedRing.finish()
        let released = try plainRing.finish()
        done = true
        if let out { try commit(out) }
        return OpenFileResult(frames: selected.count, header: reader.header, input: whole ? input : nil, output: released)
    }

    /// Paces `out`'s write-back (``TemporaryOutput/wrote(upTo:)``), its failure a ``SealingError`` `.io`.
    static func pace(_ out: TemporaryOutput, _ size: Int) throws {
        do { try out.wrote(upTo: size) } catch { throw SealingError(.io, "\(error)") }
    }

    /// A ``TemporaryOutput`` for `path`, its failure a ``SealingError`` `.io`.
    static func temporaryOutput(_ path: String, mode: UInt32 = 0o600) throws -> TemporaryOutput {
        do { return try TemporaryOutput(path: path, mode: mode) } catch { throw SealingError(.io, "\(error)") }
    }

    /// Commits `out` (which removes its temporary file on failure), the failure a ``SealingError`` `.io`.
    static func commit(_ out: TemporaryOutput) throws {
        do { try out.commit() } catch { throw SealingError(.io, "\(error)") }
    }
}
