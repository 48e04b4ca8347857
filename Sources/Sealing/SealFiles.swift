public import Keyring
import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension Sealing {
    /// Seals a whole file (or stdin, `-`) into `output`, written to a temporary name in the same
    /// folder and renamed only after `finish()` (index and trailer written, fsync'd).
    /// - Returns: frames and bytes sealed.
    @discardableResult
    public static func sealFile(input: String, output: String, keyring: Keyring, keyName: String,
                                metadata: SealedMetadata = SealedMetadata(), frameSize: Int = SealedFormat.defaultFrameSize) throws -> (frames: Int, bytes: Int) {
        let inFD: Int32 = input == "-" ? 0 : Glibc.open(input, O_RDONLY | O_CLOEXEC)
        guard inFD >= 0 else { throw SealingError(.io, "cannot open '\(input)': \(String(cString: strerror(errno)))") }
        defer { if input != "-" { close(inFD) } }
        let out = try TemporaryOutput(path: output)
        var done = false
        defer { if !done { out.discard() } }
        let writer = try SealedWriter(fileDescriptor: out.fd, keyring: keyring, keyName: keyName, metadata: metadata, frameSize: frameSize)
        var buffer = [UInt8](repeating: 0, count: max(frameSize, 1 << 16))
        var total = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { read(inFD, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SealingError(.io, "read '\(input)': \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            try buffer.withUnsafeBytes { try writer.write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            total += n
        }
        let frames = try writer.finish().frames
        try out.commit()
        done = true
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
        let out: TemporaryOutput? = output == "-" ? nil : try TemporaryOutput(path: output)
        var done = false
        defer { if !done { out?.discard() } }
        let fd = out?.fd ?? 1
        var bytes = 0
        for f in selected {
            let frame = try reader.frame(at: f)
            try frame.plaintext.withUnsafeBytes { try writeAll(fd, $0) }
            bytes += frame.plaintext.count
        }
        try out?.commit()
        done = true
        return (selected.count, bytes)
    }

    static func writeAll(_ fd: Int32, _ b: UnsafeRawBufferPointer) throws {
        var off = 0
        while off < b.count {
            let n = write(fd, b.baseAddress! + off, b.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                throw SealingError(.io, "write failed: \(String(cString: strerror(errno)))")
            }
            off += n
        }
    }
}

/// A file written under a temporary name in the target's folder (mode 640) and renamed over the
/// target only on commit (after fsync), so an interrupted run never leaves a file that looks whole.
public final class TemporaryOutput {
    public let fd: Int32
    public let path: String
    public let temp: String

    public init(path: String) throws {
        let url = URL(fileURLWithPath: path)
        temp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tokengate-\(getpid()).tmp").path
        let f = Glibc.open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
        guard f >= 0 else { throw SealingError(.io, "cannot create '\(temp)': \(String(cString: strerror(errno)))") }
        fd = f
        self.path = path
    }

    public func commit() throws {
        guard fsync(fd) == 0 else { throw SealingError(.io, "fsync '\(temp)': \(String(cString: strerror(errno)))") }
        close(fd)
        guard rename(temp, path) == 0 else { throw SealingError(.io, "rename '\(temp)' → '\(path)': \(String(cString: strerror(errno)))") }
    }

    public func discard() {
        close(fd)
        unlink(temp)
    }
}
