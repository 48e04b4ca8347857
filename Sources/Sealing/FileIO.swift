import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A POSIX file descriptor with positioned, complete reads and writes.
final class FileIO {
    let fd: Int32
    let path: String
    private let owned: Bool

    init(fd: Int32, path: String, owned: Bool) {
        self.fd = fd
        self.path = path
        self.owned = owned
    }

    static func open(_ path: String, flags: Int32, mode: mode_t = 0o600) throws -> FileIO {
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
        guard fd >= 0 else { throw SealingError(.io, "cannot open \(path): \(String(cString: strerror(errno)))") }
        return FileIO(fd: fd, path: path, owned: true)
    }

    func size() throws -> Int {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SealingError(.io, "cannot stat \(path): \(String(cString: strerror(errno)))") }
        return Int(st.st_size)
    }

    func read(at offset: Int, into buf: UnsafeMutableRawBufferPointer) throws {
        var done = 0
        while done < buf.count {
            let n = pread(fd, buf.baseAddress! + done, buf.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw SealingError(.io, "cannot read \(path): \(String(cString: strerror(errno)))")
            }
            guard n > 0 else { throw SealingError(.truncated, "\(path) ends at \(offset + done), expected \(offset + buf.count) bytes") }
            done += n
        }
    }

    func read(at offset: Int, count: Int) throws -> [UInt8] {
        var b = [UInt8](repeating: 0, count: count)
        if count > 0 { try b.withUnsafeMutableBytes { try read(at: offset, into: $0) } }
        return b
    }

    /// Positioned write (`offset`) or a sequential write (`offset == nil`: pipes work).
    func write(_ buf: UnsafeRawBufferPointer, at offset: Int? = nil) throws {
        var done = 0
        while done < buf.count {
            let n: Int
            if let offset {
                n = pwrite(fd, buf.baseAddress! + done, buf.count - done, off_t(offset + done))
            } else {
                n = Glibc.write(fd, buf.baseAddress! + done, buf.count - done)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw SealingError(.io, "cannot write \(path): \(String(cString: strerror(errno)))")
            }
            done += n
        }
    }

    func sync() throws {
        guard fsync(fd) == 0 || errno == EINVAL || errno == EROFS else {
            throw SealingError(.io, "cannot fsync \(path): \(String(cString: strerror(errno)))")
        }
    }

    deinit { if owned { close(fd) } }
}
