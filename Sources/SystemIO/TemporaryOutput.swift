import Dispatch
import Synchronization

#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// A file written under a temporary name in the target's own folder (created mode 600, never
/// over an existing file) and renamed over the target only on ``commit()`` (after fsync), so an
/// interrupted run never leaves a file that looks whole. Unless committed, the temporary file is
/// removed by ``discard()`` or when the value goes away.
public final class TemporaryOutput: Sendable {
    /// The temporary file's descriptor (write to it; closed by commit or discard).
    public var fd: Int32 { descriptor.rawValue }
    public let descriptor: FileDescriptor
    /// The target.
    public let path: String
    /// The temporary name, in the target's folder.
    public let temp: String
    /// The permission bits the target gets at commit.
    public let mode: UInt32
    private let finished = Atomic<Bool>(false)
    /// Write-back pacing: where the range started last began, and where it ended.
    private let writeback = Mutex(WritebackPacer())

    /// Creates `.<name>.tokengate-<pid>.tmp` next to `path`, mode 600; the target gets `mode`
    /// at ``commit()`` (the temporary file, written while the run is unfinished, never has more).
    /// - Throws: ``SystemError`` `.open`.
    public init(path: String, mode: UInt32 = 0o600) throws(SystemError) {
        self.mode = mode & 0o777
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        for stale in TemporaryOutput.removeStale(in: folder.isEmpty ? "." : folder) {
            // Left by a run that was killed (kill -9, a crash): it may hold clear values.
            let line = "tokengate: removed \(stale), the temporary output of a process that is no longer running\n"
            _ = try? FileDescriptor(borrowing: 2, label: "stderr").write(Array(line.utf8))
        }
        temp = "\(folder).\(name).tokengate-\(FileSystem.processID).tmp"
        descriptor = try FileDescriptor.open(temp, [.readWrite, .create, .exclusive], mode: 0o600)
        self.path = path
        TemporaryOutput.live.withLock { $0.insert(temp) }
    }

    /// Temporary files of this process not yet committed or discarded (removed on SIGINT/SIGTERM).
    private static let live = Mutex<Set<String>>([])

    /// Removes `.<name>.tokengate-<pid>.tmp` files in `folder` whose process is gone; returns them.
    @discardableResult
    public static func removeStale(in folder: String) -> [String] {
        guard let dir = opendir(folder) else { return [] }
        defer { closedir(dir) }
        var removed: [String] = []
        while let entry = readdir(dir) {
            // d_name is read in place, up to its NUL: copying `entry.pointee` (or its 256-byte
            // d_name) reads past a short record at the end of readdir's buffer, which crashed
            // (SIGSEGV) when that record ended at a page boundary.
            let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name) ?? 19
            let name = String(cString: (UnsafeRawPointer(entry) + nameOffset).assumingMemoryBound(to: CChar.self))
            guard name.hasPrefix("."), name.hasSuffix(".tmp") else { continue }
            let parts = name.dropLast(4).split(separator: "-")
            guard parts.count >= 2, parts[parts.count - 2].hasSuffix(".tokengate"), let pid = Int32(parts[parts.count - 1]), pid > 0,
                pid != FileSystem.processID
            else { continue }
            // kill(pid, 0): ESRCH means no such process; EPERM means it runs under another user.
            if kill(pid, 0) == 0 || errno != ESRCH { continue }
            let path = folder == "." ? name : (folder.hasSuffix("/") ? folder + name : folder + "/" + name)
            if unlink(path) == 0 { removed.append(path) }
        }
        return removed.sorted()
    }

    /// On SIGINT or SIGTERM, removes this process's uncommitted temporary outputs, then exits
    /// with status 128 + the signal number. Call once at program start (the CLI does).
    public static func removeOnSignals() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                for t in live.withLock({ $0 }) { unlink(t) }
                // Exit as a shell reports a death by signal (128 + N): nothing else runs after
                // the temporary files are gone (no commit, no partial output).
                _exit(128 + sig)
            }
            source.resume()
            signalSources.append(source)
        }
    }

    /// The signal sources, kept alive for the life of the process. Written only by
    /// ``removeOnSignals()``, which the CLI calls once on its main thread before any other work.
    nonisolated(unsafe) private static var signalSources: [any DispatchSourceSignal] = []

    /// fsyncs, closes and renames the temporary file over the target. On failure the temporary
    /// file is removed.
    /// - Throws: ``SystemError`` `.sync`, `.close` or `.rename`.
    public func commit() throws(SystemError) {
        guard !finished.exchange(true, ordering: .acquiringAndReleasing) else {
            throw SystemError(.rename, "'\(temp)' was already committed or discarded")
        }
        defer { TemporaryOutput.live.withLock { _ = $0.remove(temp) } }
        do {
            if mode != 0o600 { try descriptor.setMode(mode) }
            try descriptor.sync()
            try descriptor.close()
            try FileSystem.rename(temp, to: path)
        } catch {
            try? descriptor.close()
            try? FileSystem.remove(temp)
            throw error
        }
    }

    /// Paces write-back for a long sequential write: call after writing, with the file's size so
    /// far. Every 8 MiB it starts write-back of the new range and waits for the range before it,
    /// so the disk works while the caller computes and ``commit()``'s fsync finds little left.
    public func wrote(upTo size: Int) throws(SystemError) {
        let d = descriptor
        try writeback.withLock { (p) throws(SystemError) in try p.wrote(upTo: size, on: d) }
    }

    /// Closes and removes the temporary file (nothing is left at the target). Idempotent; does
    /// nothing after a successful commit.
    public func discard() {
        guard !finished.exchange(true, ordering: .acquiringAndReleasing) else { return }
        try? descriptor.close()
        try? FileSystem.remove(temp)
        TemporaryOutput.live.withLock { _ = $0.remove(temp) }
    }

    deinit {
        if !finished.load(ordering: .acquiring) {
            try? descriptor.close()
            try? FileSystem.remove(temp)
            TemporaryOutput.live.withLock { _ = $0.remove(temp) }
        }
    }
}

/// Paces the write-back of a long sequential write to a file: told the file's size after each
/// write, every 8 MiB it starts write-back of the new range and waits until the range started
/// before it is on the device, so the disk works while the writer computes, dirty memory stays
/// bounded, and the final fsync finds little left. Not a durability guarantee (fsync is).
public struct WritebackPacer: Sendable {
    public static let chunk = 8 << 20
    private var previous = 0
    private var started = 0

    public init() {}

    /// - Throws: ``SystemError`` `.sync` (a descriptor that cannot be paced, a pipe, is not an error).
    public mutating func wrote(upTo size: Int, on file: FileDescriptor) throws(SystemError) {
        guard size - started >= Self.chunk else { return }
        if started > previous { try file.writeBack(offset: previous, count: started - previous, wait: true) }
        try file.writeBack(offset: started, count: size - started)
        (previous, started) = (started, size)
    }
}
