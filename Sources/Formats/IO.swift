internal import SystemIO

/// Where a reader pulls bytes from.
public protocol ByteSource {
    /// Reads up to `buffer.count` bytes into `buffer`; returns how many, 0 at the end of the input.
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// Where a writer pushes bytes to.
public protocol ByteSink {
    /// Writes all of `bytes`.
    mutating func write(_ bytes: UnsafeRawBufferPointer) throws
}

/// Reads a file descriptor with `read(2)` (a file, a pipe, stdin). Does not close it.
public struct FileDescriptorSource: ByteSource {
    public let fileDescriptor: Int32
    private let descriptor: FileDescriptor

    public init(fileDescriptor: Int32) {
        self.fileDescriptor = fileDescriptor
        descriptor = FileDescriptor(borrowing: fileDescriptor, label: "fd \(fileDescriptor)")
    }

    /// Standard input.
    public static var standardInput: FileDescriptorSource { FileDescriptorSource(fileDescriptor: 0) }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        do { return try descriptor.read(into: buffer) } catch { throw FormatError(.io, "\(error)") }
    }
}

/// Writes to a file descriptor with `write(2)`, handling short writes. Does not close it.
public struct FileDescriptorSink: ByteSink {
    public let fileDescriptor: Int32
    private let descriptor: FileDescriptor

    public init(fileDescriptor: Int32) {
        self.fileDescriptor = fileDescriptor
        descriptor = FileDescriptor(borrowing: fileDescriptor, label: "fd \(fileDescriptor)")
    }

    /// Standard output.
    public static var standardOutput: FileDescriptorSink { FileDescriptorSink(fileDescriptor: 1) }

    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        do { try descriptor.write(bytes) } catch { throw FormatError(.io, "\(error)") }
    }
}

/// Bytes in memory as a source, handed out at most `maxReadSize` bytes per read (a small
/// `maxReadSize` splits records at every possible offset).
public struct MemorySource: ByteSource {
    public let bytes: [UInt8]
    public let maxReadSize: Int
    private var position = 0

    public init(_ bytes: [UInt8], maxReadSize: Int = .max) {
        precondition(maxReadSize > 0, "MemorySource: maxReadSize must be positive")
        self.bytes = bytes
        self.maxReadSize = maxReadSize
    }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, maxReadSize, bytes.count - position)
        if n <= 0 { return 0 }
        bytes.withUnsafeBytes { src in
            buffer.baseAddress!.copyMemory(from: src.baseAddress! + position, byteCount: n)
        }
        position += n
        return n
    }
}

/// Collects written bytes in memory (a class, so the caller keeps a handle while a writer owns it).
public final class MemorySink: ByteSink {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        self.bytes.append(contentsOf: bytes)
    }
}
