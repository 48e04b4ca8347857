import Synchronization

#if os(Linux)
    internal import CLinux
#endif

#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Musl)
    internal import Musl
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// How ``FileDescriptor/open(_:_:mode:)`` opens a file. Descriptors are always close-on-exec.
public struct OpenFlags: OptionSet, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let readOnly = OpenFlags(rawValue: O_RDONLY)
    public static let writeOnly = OpenFlags(rawValue: O_WRONLY)
    public static let readWrite = OpenFlags(rawValue: O_RDWR)
    /// Create the file if it does not exist (with the given mode).
    public static let create = OpenFlags(rawValue: O_CREAT)
    /// With ``create``: fail if the file exists.
    public static let exclusive = OpenFlags(rawValue: O_EXCL)
    public static let truncate = OpenFlags(rawValue: O_TRUNC)
    public static let append = OpenFlags(rawValue: O_APPEND)
}

/// A POSIX file descriptor: complete reads and writes (sequential or positioned), fsync, flock,
/// size. Every call retries on `EINTR` and fails with a ``SystemError`` that names the
/// operation and ``label`` (the path, or what the descriptor is).
///
/// An owned descriptor is closed by ``close()`` or when the value goes away; a borrowed one
/// (standard input, a descriptor the caller keeps) is never closed here.
public final class FileDescriptor: Sendable {
    /// The path or a description of the descriptor, for error messages.
    public let label: String
    public let isOwned: Bool
    /// The descriptor number, -1 once closed.
    private let fd: Atomic<Int32>

    private init(raw: Int32, label: String, owned: Bool) {
        self.fd = Atomic(raw)
        self.label = label
        self.isOwned = owned
    }

    /// Wraps a descriptor the caller owns and closes (0, 1, 2 or one it opened itself).
    public convenience init(borrowing raw: Int32, label: String) {
        self.init(raw: raw, label: label, owned: false)
    }

    /// Standard input, borrowed.
    public static var standardInput: FileDescriptor { FileDescriptor(borrowing: 0, label: "stdin") }
    /// Standard output, borrowed.
    public static var standardOutput: FileDescriptor { FileDescriptor(borrowing: 1, label: "stdout") }

    /// Opens `path` (close-on-exec); `mode` applies when ``OpenFlags/create`` makes the file.
    /// - Throws: ``SystemError`` `.open`.
    public static func open(_ path: String, _ flags: OpenFlags, mode: UInt32 = 0o600) throws(SystemError) -> FileDescriptor {
        let raw = try retryingInterrupts(.open, "cannot open '\(path)'") {
            systemOpen(path, flags.rawValue | O_CLOEXEC, mode_t(mode))
        }
        return FileDescriptor(raw: raw, label: path, owned: true)
    }

    /// An anonymous file in memory (`memfd_create`, close-on-exec): it has no path, is never on
    /// a file system, and is gone once the descriptor is closed. For decrypted data a run reads
    /// with positioned reads (a decrypted Parquet file), which must not touch the disk.
    /// - Throws: ``SystemError`` `.open` (also on systems without `memfd_create`).
    public static func anonymousMemory(label: String) throws(SystemError) -> FileDescriptor {
        #if os(Linux)
            let raw = try retryingInterrupts(.open, "cannot create the in-memory file for \(label)") {
                memfd_create("tokengate", TG_MFD_CLOEXEC)
            }
            return FileDescriptor(raw: raw, label: label, owned: true)
        #else
            throw SystemError(.open, "cannot create the in-memory file for \(label): memfd_create is Linux only")
        #endif
    }

    /// The descriptor number (-1 after ``close()``), for APIs that take a raw descriptor.
    public var rawValue: Int32 { fd.load(ordering: .acquiring) }

    deinit {
        let raw = fd.load(ordering: .acquiring)
        // Nothing can report a failure from deinit; an explicit close() reports it.
        if isOwned && raw >= 0 { _ = systemClose(raw) }
    }

    /// Closes an owned descriptor now (idempotent; a borrowed one is left open).
    /// - Throws: ``SystemError`` `.close` (not retried on `EINTR`: the descriptor is gone either way on Linux).
    public func close() throws(SystemError) {
        guard isOwned else { return }
        let raw = fd.exchange(-1, ordering: .acquiringAndReleasing)
        guard raw >= 0 else { return }
        if systemClose(raw) != 0 {
            let e = SystemError.current(.close, "cannot close '\(label)'")
            if !e.interrupted { throw e }
        }
    }

    /// Gives an owned descriptor to the caller, who closes it from then on (for APIs that take
    /// ownership of a raw descriptor, like `FileHandle(fileDescriptor:closeOnDealloc:)`).
    public func release() -> Int32 {
        isOwned ? fd.exchange(-1, ordering: .acquiringAndReleasing) : rawValue
    }

    // MARK: - Reading

    /// One `read(2)` into `buffer`: how many bytes arrived, 0 at the end of the input.
    /// - Throws: ``SystemError`` `.read`.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        let raw = rawValue
        return try retryingInterrupts(.read, "cannot read '\(label)'") { systemRead(raw, base, buffer.count) }
    }

    /// Positioned reads (`pread(2)`) until `buffer` is full or the file ends.
    /// - Returns: the bytes read; less than `buffer.count` only at the end of the file.
    /// - Throws: ``SystemError`` `.read`.
    public func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        let raw = rawValue
        var done = 0
        while done < buffer.count {
            let n = try retryingInterrupts(.read, "cannot read '\(label)' at \(offset + done)") {
                pread(raw, base + done, buffer.count - done, off_t(offset + done))
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    // MARK: - Writing

    /// Writes all of `bytes` (`write(2)`, short writes continued): files and pipes.
    /// - Throws: ``SystemError`` `.write`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        guard let base = bytes.baseAddress else { return }
        let raw = rawValue
        var done = 0
        while done < bytes.count {
            let n = try retryingInterrupts(.write, "cannot write '\(label)'") { systemWrite(raw, base + done, bytes.count - done) }
            guard n > 0 else { throw SystemError(.write, "cannot write '\(label)': write returned 0") }
            done += n
        }
    }

    /// Writes all of `bytes` at `offset` (`pwrite(2)`).
    /// - Throws: ``SystemError`` `.write`.
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(SystemError) {
        guard let base = bytes.baseAddress else { return }
        let raw = rawValue
        var done = 0
        while done < bytes.count {
            let n = try retryingInterrupts(.write, "cannot write '\(label)' at \(offset + done)") {
                pwrite(raw, base + done, bytes.count - done, off_t(offset + done))
            }
            guard n > 0 else { throw SystemError(.write, "cannot write '\(label)': pwrite returned 0") }
            done += n
        }
    }

    /// Writes all of `bytes`.
    public func write(_ bytes: [UInt8]) throws(SystemError) {
        try withRawBytes(of: bytes) { (b) throws(SystemError) in try write(b) }
    }

    /// Appends `count` bytes of `source` from `offset` at this descriptor's position, inside the
    /// kernel where it can (`copy_file_range(2)`), else through a buffer (`pread` + `write`: a
    /// pipe, another file system, an older kernel).
    /// - Throws: ``SystemError`` `.read` or `.write`; `.read` when `source` ends first.
    public func append(from source: FileDescriptor, at offset: Int, count: Int) throws(SystemError) {
        var done = 0
        #if os(Linux)
            let inFD = source.rawValue
            let outFD = rawValue
            var off = Int64(offset)
            while done < count {
                let n = copy_file_range(inFD, &off, outFD, nil, UInt(count - done), 0)
                if n > 0 {
                    done += n
                    continue
                }
                if n == 0 { throw SystemError(.read, "cannot copy from '\(source.label)': it ends at \(offset + done)") }
                let e = errno
                if e == EINTR { continue }
                if e == EXDEV || e == EINVAL || e == ENOSYS || e == EOPNOTSUPP || e == EBADF { break }
                throw SystemError(.write, "cannot copy from '\(source.label)' to '\(label)': \(SystemError.message(for: e))", errorNumber: e)
            }
        #endif
        guard done < count else { return }
        var buffer = [UInt8](repeating: 0, count: min(1 << 20, count - done))
        while done < count {
            let want = min(buffer.count, count - done)
            let got: Int
            do {
                got = try buffer.withUnsafeMutableBytes { b in
                    try source.read(at: offset + done, into: UnsafeMutableRawBufferPointer(rebasing: b[0..<want]))
                }
            } catch let e as SystemError { throw e } catch { throw SystemError(.read, "\(error)") }
            guard got == want else { throw SystemError(.read, "cannot copy from '\(source.label)': it ends at \(offset + done + got)") }
            try withRawBytes(of: buffer) { (b) throws(SystemError) in try write(UnsafeRawBufferPointer(rebasing: b[0..<want])) }
            done += want
        }
    }

    // MARK: - Durability, locks, size

    /// `fsync(2)`. With `ignoringUnsupported`, a descriptor that cannot be synced (a pipe, a
    /// read-only file system: `EINVAL`, `EROFS`) is not an error.
    /// - Throws: ``SystemError`` `.sync`.
    public func sync(ignoringUnsupported: Bool = false) throws(SystemError) {
        let raw = rawValue
        do {
            _ = try retryingInterrupts(.sync, "cannot fsync '\(label)'") { fsync(raw) }
        } catch {
            if ignoringUnsupported && (error.errorNumber == EINVAL || error.errorNumber == EROFS) { return }
            throw error
        }
    }

    /// Takes an exclusive `flock(2)`, waiting for other holders.
    /// - Throws: ``SystemError`` `.lock`.
    public func lockExclusive() throws(SystemError) {
        let raw = rawValue
        _ = try retryingInterrupts(.lock, "cannot lock '\(label)'") { flock(raw, LOCK_EX) }
    }

    /// Starts write-back of `count` bytes at `offset` to the device, and first waits for any
    /// write-back already under way in that range (`sync_file_range(2)`, Linux; a no-op
    /// elsewhere). Not a durability guarantee — ``sync(ignoringUnsupported:)`` is — but it lets a
    /// long write overlap the disk with the work, so the final fsync has little left to do.
    /// File systems that do not support it (`EINVAL`, `ESPIPE`) are not an error.
    /// - Parameter wait: also wait until that range is written (bounds the dirty pages).
    public func writeBack(offset: Int, count: Int, wait: Bool = false) throws(SystemError) {
        #if os(Linux)
            let raw = rawValue
            var flags = TG_SYNC_FILE_RANGE_WRITE | TG_SYNC_FILE_RANGE_WAIT_BEFORE
            if wait { flags |= TG_SYNC_FILE_RANGE_WAIT_AFTER }
            do {
                _ = try retryingInterrupts(.sync, "cannot start write-back of '\(label)'") {
                    sync_file_range(raw, Int64(offset), Int64(count), flags)
                }
            } catch {
                if error.errorNumber == EINVAL || error.errorNumber == ESPIPE || error.errorNumber == ENOSYS { return }
                throw error
            }
        #endif
    }

    /// Releases the `flock(2)`.
    /// - Throws: ``SystemError`` `.lock`.
    public func unlock() throws(SystemError) {
        let raw = rawValue
        _ = try retryingInterrupts(.lock, "cannot unlock '\(label)'") { flock(raw, LOCK_UN) }
    }

    /// Sets the file's permission bits (`fchmod(2)`).
    public func setMode(_ mode: UInt32) throws(SystemError) {
        let raw = rawValue
        _ = try retryingInterrupts(.stat, "cannot set the mode of '\(label)'") { fchmod(raw, mode_t(mode)) }
    }

    /// The file's owner and permission bits (`fstat(2)`): what was opened, not what the path
    /// names now.
    /// - Throws: ``SystemError`` `.stat`.
    public func ownerAndMode() throws(SystemError) -> (owner: UInt32, mode: UInt32) {
        var st = stat()
        let raw = rawValue
        _ = try retryingInterrupts(.stat, "cannot stat '\(label)'") { fstat(raw, &st) }
        return (UInt32(st.st_uid), UInt32(st.st_mode & 0o7777))
    }

    /// The whole rest of the file, read in 64 KiB steps.
    /// - Throws: ``SystemError`` `.read`.
    public func readToEnd(limit: Int = 16 << 20) throws(SystemError) -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            var n = 0
            var failure: SystemError?
            chunk.withUnsafeMutableBytes { b in
                do throws(SystemError) { n = try read(into: b) } catch { failure = error }
            }
            if let failure { throw failure }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
            if out.count > limit { throw SystemError(.read, "'\(label)' is larger than \(limit) bytes", errorNumber: EFBIG) }
        }
    }

    /// The file size (`fstat(2)`).
    /// - Throws: ``SystemError`` `.stat`.
    public func size() throws(SystemError) -> Int {
        var st = stat()
        let raw = rawValue
        _ = try retryingInterrupts(.stat, "cannot stat '\(label)'") { fstat(raw, &st) }
        return Int(st.st_size)
    }

    /// The bytes the file system holds for the file (`st_blocks` × 512): for an in-memory file,
    /// the memory it uses (holes use none).
    public func allocatedBytes() throws(SystemError) -> Int {
        var st = stat()
        let raw = rawValue
        _ = try retryingInterrupts(.stat, "cannot stat '\(label)'") { fstat(raw, &st) }
        return Int(st.st_blocks) * 512
    }

    /// Frees `count` bytes at `offset` (`fallocate(2)` punching a hole, the size kept): they read
    /// as zeros afterwards, and an in-memory file gives their pages back.
    /// - Throws: ``SystemError`` `.write` (also where the file system cannot punch holes).
    public func discard(offset: Int, count: Int) throws(SystemError) {
        guard count > 0 else { return }
        #if os(Linux)
            let raw = rawValue
            _ = try retryingInterrupts(.write, "cannot free \(count) bytes of '\(label)' at \(offset)") {
                fallocate(raw, TG_FALLOC_FL_PUNCH_HOLE | TG_FALLOC_FL_KEEP_SIZE, Int64(offset), Int64(count))
            }
        #else
            throw SystemError(.write, "cannot free bytes of '\(label)': fallocate is Linux only")
        #endif
    }

    /// Moves the file offset (`lseek(2)`, from the start); returns the new offset.
    /// - Throws: ``SystemError`` `.seek`.
    @discardableResult
    public func seek(to offset: Int) throws(SystemError) -> Int {
        let raw = rawValue
        return Int(try retryingInterrupts(.seek, "cannot seek '\(label)' to \(offset)") { lseek(raw, off_t(offset), SEEK_SET) })
    }
}

/// Path operations.
public enum FileSystem {
    /// `rename(2)`: atomically replaces `destination` with `source`.
    /// - Throws: ``SystemError`` `.rename`.
    public static func rename(_ source: String, to destination: String) throws(SystemError) {
        _ = try retryingInterrupts(.rename, "cannot rename '\(source)' to '\(destination)'") { systemRename(source, destination) }
    }

    /// `unlink(2)`.
    /// - Throws: ``SystemError`` `.remove`.
    public static func remove(_ path: String) throws(SystemError) {
        _ = try retryingInterrupts(.remove, "cannot remove '\(path)'") { unlink(path) }
    }

    /// The process id (unique temporary names).
    public static var processID: Int32 { getpid() }
}
