import SystemIO

/// A sealed file's descriptor: complete positioned reads and writes, with every failure a
/// ``SealingError`` (`.io` with the ``SystemError`` as reason, `.truncated` for a short file).
final class FileIO {
    let file: FileDescriptor
    var path: String { file.label }

    init(_ file: FileDescriptor) { self.file = file }

    /// Borrows a descriptor the caller keeps open.
    convenience init(borrowing fd: Int32, path: String) {
        self.init(FileDescriptor(borrowing: fd, label: path))
    }

    static func open(_ path: String, _ flags: OpenFlags, mode: UInt32 = 0o600) throws -> FileIO {
        do { return FileIO(try FileDescriptor.open(path, flags, mode: mode)) } catch { throw SealingError(.io, "\(error)") }
    }

    func size() throws -> Int {
        do { return try file.size() } catch { throw SealingError(.io, "\(error)") }
    }

    func read(at offset: Int, into buf: UnsafeMutableRawBufferPointer) throws {
        let n: Int
        do { n = try file.read(at: offset, into: buf) } catch { throw SealingError(.io, "\(error)") }
        guard n == buf.count else { throw SealingError(.truncated, "\(path) ends at \(offset + n), expected \(offset + buf.count) bytes") }
    }

    func read(at offset: Int, count: Int) throws -> [UInt8] {
        var b = [UInt8](repeating: 0, count: count)
        if count > 0 { try b.withUnsafeMutableBytes { try read(at: offset, into: $0) } }
        return b
    }

    /// Positioned write (`offset`) or a sequential write (`offset == nil`: pipes work).
    func write(_ buf: UnsafeRawBufferPointer, at offset: Int? = nil) throws {
        do {
            if let offset { try file.write(buf, at: offset) } else { try file.write(buf) }
        } catch {
            throw SealingError(.io, "\(error)")
        }
    }

    /// fsync; a descriptor that cannot be synced (a pipe) is not an error.
    func sync() throws {
        do { try file.sync(ignoringUnsupported: true) } catch { throw SealingError(.io, "\(error)") }
    }
}
