import Crypto
public import Foundation
import HSM
public import Keyring
import SystemIO

/// The append-only, hash-chained audit log (JSON Lines).
///
/// Each record's `mac` is HMAC-SHA-256, computed in the HSM with the audit key, over the previous
/// record's MAC bytes followed by the record's canonical bytes. Appends from any number of threads
/// and processes are serialized by an exclusive `flock` on the log file.
public final class AuditLog: Sendable {
    public let path: String
    public let keyring: Keyring
    public let keyRef: KeyRef

    public static let zeroMAC = String(repeating: "0", count: 64)
    /// The largest record `append` writes and `verify` accepts.
    public static let maxRecordBytes = 16 << 20

    public init(path: String, keyring: Keyring, keyName: String = "log") {
        self.path = path
        self.keyring = keyring
        self.keyRef = KeyRef(.audit, keyName)
    }

    /// The log path: `explicit` (reading a given log), else the keyring config's `audit-log` (the
    /// environment cannot override it), else `$TOKENGATE_AUDIT_LOG`, else `.dev/audit/audit.jsonl`
    /// in the parent of the keyring config's folder (`keys-config/../.dev/audit/audit.jsonl`).
    public static func defaultPath(for config: KeyringConfig, explicit: String? = nil) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        // The keyring config's audit-log is the custodians' choice: the environment cannot move it.
        if let configured = config.auditLog, !configured.isEmpty { return config.resolve(configured) }
        if let env = ProcessInfo.processInfo.environment["TOKENGATE_AUDIT_LOG"], !env.isEmpty { return env }
        return URL(fileURLWithPath: config.baseDirectory).deletingLastPathComponent()
            .appendingPathComponent(".dev/audit/audit.jsonl").standardizedFileURL.path
    }

    /// The log at `defaultPath(for: keyring.config, explicit: path)`.
    public static func `default`(keyring: Keyring, path: String? = nil, keyName: String = "log") -> AuditLog {
        AuditLog(path: defaultPath(for: keyring.config, explicit: path), keyring: keyring, keyName: keyName)
    }

    // MARK: - Audit key

    /// The primary audit key version; throws `auditKeyUnavailable` if it is missing or its token
    /// cannot be opened. Call before a data operation: refuse to run if this throws.
    @discardableResult
    public func checkAvailable() throws -> KeyInfo {
        do {
            return try keyring.primary(keyRef)
        } catch {
            throw AuditError(.auditKeyUnavailable, "audit key \(keyRef) unavailable (\(error)); refusing to run without an audit trail")
        }
    }

    func mac(key: KeyInfo, previous: [UInt8], canonical: [UInt8]) throws -> [UInt8] {
        try keyring.token(.audit).withSession { s in
            try s.sign(.sha256HMAC, key: ObjectHandle(rawValue: key.handle), data: previous + canonical)
        }
    }

    // MARK: - Append

    /// Appends `record` (its chain fields are overwritten) under an exclusive lock, with one
    /// `write` and an `fsync`. Returns the record as written.
    @discardableResult
    public func append(_ record: AuditRecord) throws -> AuditRecord {
        try appendAll([record])[0]
    }

    /// Appends `records` in order (group commit): one lock, each record chained to the one
    /// before and signed in the HSM, one `write` of them all and one `fsync`. When it returns
    /// they are all durable; when it throws none is counted as appended (a partial write leaves
    /// an incomplete last line, which the next append refuses and `audit verify` reports).
    /// Returns the records as written.
    @discardableResult
    public func appendAll(_ records: [AuditRecord]) throws -> [AuditRecord] {
        guard !records.isEmpty else { return [] }
        let key = try checkAvailable()
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let file: FileDescriptor
        do {
            file = try FileDescriptor.open(path, [.readWrite, .append, .create], mode: 0o600)
            try file.lockExclusive()
        } catch {
            throw AuditError(.io, "audit log: \(error)")
        }
        // Unlocked before the descriptor closes (closing would release the lock too).
        defer { try? file.unlock() }

        let (lastLine, complete) = try AuditLog.lastLine(file)
        if !complete {
            throw AuditError(
                .incompleteLog,
                "audit log \(path) ends with an incomplete record (crash during append?); run `tokengate audit verify` and repair the log before appending")
        }
        var sequence = 0
        var previousMAC = AuditLog.zeroMAC
        if let lastLine {
            guard let last = try? JSONDecoder().decode(AuditRecord.self, from: Data(lastLine)), let lastMAC = last.mac else {
                throw AuditError(.corruptLog, "the last record of audit log \(path) cannot be read; run `tokengate audit verify`")
            }
            sequence = last.sequence
            previousMAC = lastMAC
        }
        guard var prev = Hex.decode(previousMAC), prev.count == 32 else {
            throw AuditError(.corruptLog, "the last record of audit log \(path) has a malformed mac")
        }
        var written: [AuditRecord] = []
        written.reserveCapacity(records.count)
        var bytes: [UInt8] = []
        for record in records {
            var r = record
            r.sanitize()
            sequence += 1
            r.sequence = sequence
            r.previousMAC = previousMAC
            r.auditKey = AuditKey(key)
            r.mac = nil
            let m: [UInt8]
            do {
                m = try mac(key: key, previous: prev, canonical: try r.canonicalBytes())
            } catch {
                throw AuditError(.auditKeyUnavailable, "audit key \(key.label) cannot sign (\(error)); refusing to run without an audit trail")
            }
            r.mac = Hex.encode(m)
            previousMAC = r.mac!
            prev = m
            let line = try r.line() + [UInt8(ascii: "\n")]
            guard line.count <= AuditLog.maxRecordBytes else {
                throw AuditError(.io, "audit record of \(line.count) bytes is over the \(AuditLog.maxRecordBytes >> 20) MiB limit; nothing appended")
            }
            bytes += line
            written.append(r)
        }
        do {
            try file.write(bytes)
            try file.sync()
        } catch {
            throw AuditError(.io, "audit log: \(error)")
        }
        return written
    }

    /// The last line of the file (without its newline) and whether it ends with a newline.
    static func lastLine(_ file: FileDescriptor) throws -> ([UInt8]?, Bool) {
        let size: Int
        do { size = try file.size() } catch { throw AuditError(.io, "audit log: \(error)") }
        if size == 0 { return (nil, true) }
        var tail: [UInt8] = []
        var end = size
        let chunk = 64 * 1024
        while end > 0 {
            let start = max(0, end - chunk)
            var buf = [UInt8](repeating: 0, count: end - start)
            let n: Int
            do { n = try buf.withUnsafeMutableBytes { try file.read(at: start, into: $0) } } catch {
                throw AuditError(.io, "audit log: \(error)")
            }
            guard n == end - start else { throw AuditError(.io, "audit log \(file.label) changed size while being read") }
            tail = buf + tail
            // A newline strictly before the final byte delimits the last line.
            if let i = tail.dropLast().lastIndex(of: UInt8(ascii: "\n")) {
                let complete = tail.last == UInt8(ascii: "\n")
                let line = Array(tail[(i + 1)...])
                return (complete ? Array(line.dropLast()) : line, complete)
            }
            end = start
        }
        let complete = tail.last == UInt8(ascii: "\n")
        return (complete ? Array(tail.dropLast()) : tail, complete)
    }

    // MARK: - Reading

    /// The log's lines: complete lines, and the incomplete trailing bytes if any.
    func readLines() throws -> (lines: [[UInt8]], incomplete: [UInt8]?) {
        guard FileManager.default.fileExists(atPath: path) else { return ([], nil) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AuditError(.io, "cannot read audit log \(path)")
        }
        var lines = [UInt8](data).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map(Array.init)
        let last = lines.removeLast()  // after the final newline: empty when complete
        return (lines, last.isEmpty ? nil : last)
    }

    /// Every readable record (unparseable lines and an incomplete last line are skipped; use
    /// `verify` to find them), filtered.
    public func records(filter: AuditFilter = AuditFilter()) throws -> [AuditRecord] {
        let dec = JSONDecoder()
        return try readLines().lines.compactMap { try? dec.decode(AuditRecord.self, from: Data($0)) }.filter(filter.matches)
    }

    /// Which of `values` occur anywhere in the log file's bytes (expected: none). For tests that
    /// check that no sensitive value, token or PIN was recorded.
    public static func occurrences(of values: [String], inLogAt path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { throw AuditError(.io, "cannot read \(path)") }
        let text = String(decoding: data, as: UTF8.self)
        return values.filter { !$0.isEmpty && text.contains($0) }
    }
}

/// Selects records for `tokengate audit show`.
public struct AuditFilter: Sendable {
    public var operation: String?
    /// Substring of an input or output path (or an exact SHA-256).
    public var path: String?
    /// Substring of a key label used (keys or columns).
    public var keyLabel: String?
    public var since: Date?
    public var until: Date?
    /// Details the record must hold with exactly these values (e.g. `context.spark.app`).
    public var details: [String: String] = [:]

    public init(
        operation: String? = nil, path: String? = nil, keyLabel: String? = nil, since: Date? = nil, until: Date? = nil,
        details: [String: String] = [:]
    ) {
        self.operation = operation
        self.path = path
        self.keyLabel = keyLabel
        self.since = since
        self.until = until
        self.details = details
    }

    public func matches(_ r: AuditRecord) -> Bool {
        if let operation, r.operation != operation { return false }
        for (k, v) in details where r.details[k] != v { return false }
        if let path {
            let files = r.inputs + r.outputs
            guard files.contains(where: { $0.path.contains(path) || $0.sha256 == path.lowercased() }) else { return false }
        }
        if let keyLabel {
            let labels = r.keys.map(\.label) + r.columns.compactMap(\.keyLabel)
            guard labels.contains(where: { $0.contains(keyLabel) }) else { return false }
        }
        if since != nil || until != nil {
            guard let d = r.date else { return false }
            if let since, d < since { return false }
            if let until, d > until { return false }
        }
        return true
    }
}
