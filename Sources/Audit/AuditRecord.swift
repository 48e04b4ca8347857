import Crypto
public import Foundation
public import Keyring
public import SystemIO

/// A file read or written by an audited operation: its path, size and SHA-256 (never its content).
public struct AuditFile: Codable, Sendable, Equatable, Hashable {
    public var path: String
    public var bytes: Int64?
    /// Lowercase hex SHA-256 of the file's bytes.
    public var sha256: String?

    public init(path: String, bytes: Int64? = nil, sha256: String? = nil) {
        self.path = path
        self.bytes = bytes
        self.sha256 = sha256
    }

    /// Describes a file on disk: absolute path, size and SHA-256 (streamed).
    public static func describe(path: String) throws -> AuditFile {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        guard let h = FileHandle(forReadingAtPath: url.path) else {
            throw AuditError(.io, "cannot read \(url.path) to record its digest")
        }
        defer { try? h.close() }
        let hasher = try SHA256Hasher()
        var total: Int64 = 0
        while true {
            let chunk = try h.read(upToCount: 1 << 20) ?? Data()
            if chunk.isEmpty { break }
            total += Int64(chunk.count)
            try chunk.withUnsafeBytes { try hasher.update($0) }
        }
        return AuditFile(path: url.path, bytes: total, sha256: Hex.encode(try hasher.finalize()))
    }
}

/// A column processed by an audited operation: its tag and transform, and the key protecting it.
public struct AuditColumn: Codable, Sendable, Equatable {
    public var name: String
    public var tag: String?
    public var transform: String?
    public var keyLabel: String?
    public var keyID: String?
    public var keyVersion: Int?

    public init(
        name: String, tag: String? = nil, transform: String? = nil,
        keyLabel: String? = nil, keyID: String? = nil, keyVersion: Int? = nil
    ) {
        self.name = name
        self.tag = tag
        self.transform = transform
        self.keyLabel = keyLabel
        self.keyID = keyID
        self.keyVersion = keyVersion
    }
}

/// A key version used by an audited operation (label, `CKA_ID`, version; never key bytes).
public struct AuditKey: Codable, Sendable, Equatable, Hashable {
    public var label: String
    public var id: String
    public var version: Int

    public init(label: String, id: String, version: Int) {
        self.label = label
        self.id = id
        self.version = version
    }

    public init(_ info: KeyInfo) {
        self.init(label: info.label, id: info.id, version: info.version)
    }
}

/// One line of the audit log. Never holds a sensitive value, a token, a key byte or a PIN: only
/// paths, counts, digests, names, tags, key labels/ids/versions and measurements.
public struct AuditRecord: Codable, Sendable, Equatable {
    public enum Outcome: String, Codable, Sendable {
        case success, failure
        /// Written before the work (write-ahead): the outcome record that closes it names this
        /// record's sequence in ``AuditRecord/startedRecord``.
        case started
    }

    /// ISO 8601, UTC, with milliseconds.
    public var time: String
    /// `tokenize`, `detokenize`, `seal`, `open`, `send`, `receive`, `rewrap`, `retokenize`,
    /// `keys init`, `keys rotate`, `keys retire`, …
    public var operation: String
    public var outcome: Outcome
    /// Why the operation failed (an error message without values).
    public var error: String?
    public var user: String
    public var host: String
    public var inputs: [AuditFile]
    public var outputs: [AuditFile]
    public var rowsIn: Int?
    public var rowsOut: Int?
    public var rowsRejected: Int?
    public var columns: [AuditColumn]
    public var keys: [AuditKey]
    /// Hex SHA-256 of the policy applied.
    public var policyDigest: String?
    public var throughputMBps: Double?
    public var encryptionOverheadPercent: Double?
    public var details: [String: String]

    // Chain fields, set by `AuditLog.append`.
    /// 1 for the first record of a log, then +1 per record.
    public var sequence: Int
    /// Hex MAC of the previous record (64 zeros for the first).
    public var previousMAC: String
    /// The audit key version that computed `mac` (verification uses this version).
    public var auditKey: AuditKey?
    /// Hex HMAC-SHA-256 (in the HSM, audit key) over previousMAC bytes ‖ canonical bytes.
    public var mac: String?
    /// On an outcome record: the sequence of the `started` record written before the work.
    public var startedRecord: Int?

    public init(
        operation: String, outcome: Outcome = .success, error: String? = nil,
        inputs: [AuditFile] = [], outputs: [AuditFile] = [],
        rowsIn: Int? = nil, rowsOut: Int? = nil, rowsRejected: Int? = nil,
        columns: [AuditColumn] = [], keys: [AuditKey] = [], policyDigest: String? = nil,
        throughputMBps: Double? = nil, encryptionOverheadPercent: Double? = nil,
        details: [String: String] = [:],
        time: Date = Date(), user: String = AuditRecord.currentUser(), host: String = AuditRecord.currentHost()
    ) {
        self.time = AuditRecord.formatTime(time)
        self.operation = operation
        self.outcome = outcome
        self.error = error
        self.user = user
        self.host = host
        self.inputs = inputs
        self.outputs = outputs
        self.rowsIn = rowsIn
        self.rowsOut = rowsOut
        self.rowsRejected = rowsRejected
        self.columns = columns
        self.keys = keys
        self.policyDigest = policyDigest
        self.throughputMBps = throughputMBps
        self.encryptionOverheadPercent = encryptionOverheadPercent
        self.details = details
        self.sequence = 0
        self.previousMAC = String(repeating: "0", count: 64)
        self.auditKey = nil
        self.mac = nil
    }

    /// The bytes the MAC covers: this record as JSON without `mac`, sorted keys, no whitespace.
    public func canonicalBytes() throws -> [UInt8] {
        var r = self
        r.mac = nil
        return Array(try AuditRecord.encoder.encode(r))
    }

    /// The record as one log line (without the newline).
    public func line() throws -> [UInt8] {
        Array(try AuditRecord.encoder.encode(self))
    }

    /// The time as a date (nil if unparseable).
    public var date: Date? { AuditRecord.parseTime(time) }

    static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }

    /// Drops non-finite measurements (JSON cannot hold them).
    mutating func sanitize() {
        if let t = throughputMBps, !t.isFinite { throughputMBps = nil }
        if let o = encryptionOverheadPercent, !o.isFinite { encryptionOverheadPercent = nil }
    }

    public static func formatTime(_ d: Date) -> String {
        let f = ISO8601DateFormatter()
        f.timeZone = TimeZone(identifier: "UTC")
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: d)
    }

    /// Parses ISO 8601 with or without fractional seconds, or a plain date (`2026-11-24`, UTC).
    public static func parseTime(_ s: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.timeZone = TimeZone(identifier: "UTC")
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: s) { return d }
        f.formatOptions = [.withInternetDateTime]
        if let d = f.date(from: s) { return d }
        f.formatOptions = [.withFullDate]
        return f.date(from: s)
    }

    /// The operating user: the passwd entry of the real uid, else `$USER`, else the uid.
    public static func currentUser() -> String {
        if let pw = getpwuid(getuid()), let name = pw.pointee.pw_name { return String(cString: name) }
        if let u = ProcessInfo.processInfo.environment["USER"], !u.isEmpty { return u }
        return "uid:\(getuid())"
    }

    public static func currentHost() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        if gethostname(&buf, buf.count - 1) == 0 {
            return String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return ProcessInfo.processInfo.hostName
    }
}

/// An error from the audit log. Equality compares the code only; the description is `code: reason`.
public typealias AuditError = ModuleError<AuditErrorCode>

/// The codes of ``AuditError``.
public enum AuditErrorCode: String, ErrorCode {
    /// The audit key is missing, unconfigured or its token cannot be opened: the caller must
    /// refuse to run (no unaudited processing).
    case auditKeyUnavailable
    /// The log ends with an incomplete line (crash during append): run `tokengate audit verify`.
    case incompleteLog
    /// The last record cannot be parsed, so the chain cannot be continued.
    case corruptLog
    case io
}
