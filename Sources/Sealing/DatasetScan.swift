import Foundation
public import Keyring

extension Sealing {
    /// Sealed files under `directory` (recursively) whose key envelope names `key` at `version`:
    /// what would no longer open if that version were retired. Files that are not sealed files
    /// are skipped; unreadable sealed headers are reported as errors.
    public static func files(under directory: String, wrappedBy key: KeyRef, version: Int) throws -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw SealingError(.io, "dataset directory '\(directory)' does not exist or is not a directory")
        }
        guard let walker = FileManager.default.enumerator(atPath: directory) else {
            throw SealingError(.io, "cannot list '\(directory)'")
        }
        var out: [String] = []
        for case let rel as String in walker {
            let path = (directory as NSString).appendingPathComponent(rel)
            var d: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &d), !d.boolValue else { continue }
            guard let h = FileHandle(forReadingAtPath: path) else { continue }
            let magic = (try? h.read(upToCount: 4)) ?? nil
            try? h.close()
            guard magic == Data(SealedFormat.magic) else { continue }
            let info = try inspect(path: path)
            if info.header.envelope.ref == key && info.header.envelope.keyVersion == version { out.append(path) }
        }
        return out.sorted()
    }
}
