public import Keyring
import SystemIO

extension Sealing {
    /// Seals a whole file (or stdin, `-`) into `output`, written to a temporary name in the same
    /// folder and renamed only after `finish()` (index and trailer written, fsync'd).
    /// - Returns: frames and bytes sealed.
    @discardableResult
    public static func sealFile(
        input: String, output: String, keyring: Keyring, keyName: String,
        metadata: SealedMetadata = SealedMetadata(), frameSize: Int = SealedFormat.defaultFrameSize
    ) throws -> (frames: Int, bytes: Int) {
        let source: FileDescriptor
        do { source = input == "-" ? .standardInput : try FileDescriptor.open(input, .readOnly) } catch {
            throw SealingError(.io, "\(error)")
        }
        let out = try temporaryOutput(output)
        var done = false
        defer { if !done { out.discard() } }
        let writer = try SealedWriter(fileDescriptor: out.fd, keyring: keyring, keyName: keyName, metadata: metadata, frameSize: frameSize)
        var buffer = [UInt8](repeating: 0, count: max(frameSize, 1 << 16))
        var total = 0
        while true {
            let n: Int
            do { n = try buffer.withUnsafeMutableBytes { try source.read(into: $0) } } catch {
                throw SealingError(.io, "\(error)")
            }
            if n == 0 { break }
            try buffer.withUnsafeBytes { try writer.write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            total += n
        }
        let frames = try writer.finish().frames
        done = true
        try commit(out)
        return (frames, total)
    }

    /// Opens a sealed file: every frame is authenticated before its plaintext is released.
    /// - `output == "-"`: plaintext streams to stdout frame by frame (a tampered later frame stops
    ///   the stream with an error and a non-zero exit).
    /// - a file: written to a temporary name and renamed only after every selected frame, the
    ///   index and the trailer verified.
    /// - Parameter frames: frame indexes to release (random access), nil = all, in order.
    @discardableResult
    public static func openFile(path: String, output: String, keyring: Keyring, frames: [Int]? = nil) throws -> (frames: Int, bytes: Int) {
        let reader = try SealedReader(path: path, keyring: keyring)
        let selected = frames ?? Array(0..<reader.frameCount)
        for f in selected where f < 0 || f >= reader.frameCount {
            throw SealingError(.frameOutOfRange, "\(path) has \(reader.frameCount) frames; frame \(f) does not exist")
        }
        let out: TemporaryOutput? = output == "-" ? nil : try temporaryOutput(output)
        var done = false
        defer { if !done { out?.discard() } }
        let sink = out?.descriptor ?? .standardOutput
        var bytes = 0
        for f in selected {
            let frame = try reader.frame(at: f)
            do { try sink.write(frame.plaintext) } catch { throw SealingError(.io, "\(error)") }
            bytes += frame.plaintext.count
        }
        done = true
        if let out { try commit(out) }
        return (selected.count, bytes)
    }

    /// A ``TemporaryOutput`` for `path`, its failure a ``SealingError`` `.io`.
    static func temporaryOutput(_ path: String) throws -> TemporaryOutput {
        do { return try TemporaryOutput(path: path) } catch { throw SealingError(.io, "\(error)") }
    }

    /// Commits `out` (which removes its temporary file on failure), the failure a ``SealingError`` `.io`.
    static func commit(_ out: TemporaryOutput) throws {
        do { try out.commit() } catch { throw SealingError(.io, "\(error)") }
    }
}
