import Foundation
public import Keyring
import Parquet

extension Sealing {
    /// Sealed files under `directory` (recursively) whose key envelope names `key` at `version`:
    /// what would no longer open if that version were retired. Files that are not sealed files
    /// are skipped; unreadable sealed headers are reported as errors.
    public static func files(under directory: String, wrappedBy key: KeyRef, version: Int) throws -> [String] {
        let r = try scan(under: directory, wrappedBy: key, version: version)
        if let (path, why) = r.unreadable.first { throw SealingError(.malformedHeader, "\(path): \(why)") }
        return r.wrapped
    }

    /// What a dataset scan found: the sealed files wrapped by the version, and the sealed files
    /// whose header could not be read (they may need it too: a caller that retires keys treats
    /// them as needing it). The scan goes on past an unreadable file.
    public struct DatasetScanResult: Sendable {
        public var wrapped: [String] = []
        public var unreadable: [(path: String, reason: String)] = []
    }

    /// Every sealed file under `directory` (recursively), sorted into those wrapped by `key` at
    /// `version` and those that cannot be read. Files that are not sealed files are skipped.
    public static func scan(under directory: String, wrappedBy key: KeyRef, version: Int) throws -> DatasetScanResult {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw SealingError(.io, "dataset directory '\(directory)' does not exist or is not a directory")
        }
        guard let walker = FileManager.default.enumerator(atPath: directory) else {
            throw SealingError(.io, "cannot list '\(directory)'")
        }
        var out = DatasetScanResult()
        for case let rel as String in walker {
            let path = (directory as NSString).appendingPathComponent(rel)
            var d: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &d), !d.boolValue else { continue }
            guard let h = FileHandle(forReadingAtPath: path) else {
                out.unreadable.append((path, "cannot be opened"))
                continue
            }
            let magic = (try? h.read(upToCount: 4)) ?? nil
            try? h.close()
            if magic == Data(ParquetFooter.encryptedMagic) || magic == Data(ParquetFooter.magic) {
                // A Parquet Modular Encryption file: its footer key's envelope (tokengate wraps a
                // file's column key with the same key version; rewrap moves both).
                do {
                    if let w = try parquetFooterEnvelope(path: path), w.ref == key, w.keyVersion == version { out.wrapped.append(path) }
                } catch {
                    out.unreadable.append((path, "\(error)"))
                }
                continue
            }
            guard magic == Data(SealedFormat.magic) else { continue }
            do {
                let info = try inspect(path: path)
                if info.header.envelope.ref == key && info.header.envelope.keyVersion == version { out.wrapped.append(path) }
            } catch {
                out.unreadable.append((path, "\(error)"))
            }
        }
        out.wrapped.sort()
        out.unreadable.sort { $0.path < $1.path }
        return out
    }
}
