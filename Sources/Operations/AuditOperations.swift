public import Audit
public import Foundation

/// One audit-log record (no values, tokens, key bytes or PINs).
public typealias AuditEntry = AuditRecord
/// The result of verifying an audit log's chain.
public typealias AuditChainVerification = AuditVerification
/// A file's upstream and downstream records.
public typealias AuditFileLineage = AuditLineage
/// Which audit records to list.
public typealias AuditQuery = AuditFilter

/// Which audit log to read: the gateway's own (nil path) or another file, under the audit key
/// `audit/<keyName>`.
public struct AuditLogSelection: Sendable {
    public var path: String?
    public var keyName: String

    public init(path: String? = nil, keyName: String = "log") {
        self.path = path
        self.keyName = keyName
    }
}

extension Gateway {
    /// Checks the hash chain of an audit log and reports the first edited, deleted, inserted,
    /// reordered or incomplete record. Reads the log only (not recorded in it).
    public func verifyAudit(_ log: AuditLogSelection = AuditLogSelection()) throws -> (path: String, verification: AuditVerification) {
        let l = open(log)
        return (l.path, try l.verify())
    }

    /// The records matching `query`.
    public func auditRecords(_ log: AuditLogSelection = AuditLogSelection(), matching query: AuditFilter) throws -> [AuditRecord] {
        try open(log).records(filter: query)
    }

    /// A file's lineage: what produced it (back to source feeds, policies and keys) and what read it.
    public func auditLineage(of file: String, in log: AuditLogSelection = AuditLogSelection()) throws -> AuditLineage {
        try open(log).lineage(of: file)
    }

    /// Parses an ISO 8601 time or a plain date (UTC), as audit queries take them.
    public static func parseAuditTime(_ s: String) -> Date? { AuditRecord.parseTime(s) }

    private func open(_ s: AuditLogSelection) -> AuditLog {
        AuditLog.default(keyring: keyring, path: s.path, keyName: s.keyName)
    }
}
