import Synchronization

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
    private let finished = Atomic<Bool>(false)

    /// Creates `.<name>.tokengate-<pid>.tmp` next to `path`.
    /// - Throws: ``SystemError`` `.open`.
    public init(path: String) throws(SystemError) {
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        temp = "\(folder).\(name).tokengate-\(FileSystem.processID).tmp"
        descriptor = try FileDescriptor.open(temp, [.writeOnly, .create, .exclusive], mode: 0o600)
        self.path = path
    }

    /// fsyncs, closes and renames the temporary file over the target. On failure the temporary
    /// file is removed.
    /// - Throws: ``SystemError`` `.sync`, `.close` or `.rename`.
    public func commit() throws(SystemError) {
        guard !finished.exchange(true, ordering: .acquiringAndReleasing) else {
            throw SystemError(.rename, "'\(temp)' was already committed or discarded")
        }
        do {
            try descriptor.sync()
            try descriptor.close()
            try FileSystem.rename(temp, to: path)
        } catch {
            try? descriptor.close()
            try? FileSystem.remove(temp)
            throw error
        }
    }

    /// Closes and removes the temporary file (nothing is left at the target). Idempotent; does
    /// nothing after a successful commit.
    public func discard() {
        guard !finished.exchange(true, ordering: .acquiringAndReleasing) else { return }
        try? descriptor.close()
        try? FileSystem.remove(temp)
    }

    deinit {
        if !finished.load(ordering: .acquiring) {
            try? descriptor.close()
            try? FileSystem.remove(temp)
        }
    }
}
