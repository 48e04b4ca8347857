import Audit
import Foundation
public import Keyring
import Sealing

/// What `keys retire` did.
public struct RetireResult: Sendable {
    /// The destroyed version.
    public let key: KeyInfo
    /// Sealed files under the `datasets` folder still wrapped by that version (non-empty only
    /// when the retirement was forced: they no longer open).
    public let orphanedFiles: [String]
}

extension Gateway {
    /// Creates version 1 of every configured key that has none (idempotent). Audited as
    /// `keys init`, recorded once the audit key exists (it may be among the keys created).
    public func initializeKeys() throws -> [KeyInfo] {
        try audited("keys init", checkFirst: false) { record in
            let created = try keyring.initialize()
            record.keys = created.map(AuditKey.init)
            return created
        }
    }

    /// Every key version with its custody attributes as read from the HSM. Reads only public
    /// attributes (no key is used), so it is not recorded in the audit log.
    public func listKeys() throws -> [KeyInfo] {
        try keyring.list()
    }

    /// Creates version N+1 of `ref`; it becomes primary, older versions decrypt only. Audited as
    /// `keys rotate`.
    public func rotateKey(_ ref: KeyRef) throws -> KeyInfo {
        try audited("keys rotate") { record in
            let k = try keyring.rotate(ref)
            record.keys = [AuditKey(k)]
            return k
        }
    }

    /// Destroys one non-primary version of `ref` in the HSM. For an at-rest key with `datasets`,
    /// refuses (``OperationError/Code/keyStillNeeded``, naming the files) while sealed files
    /// under that folder are still wrapped by the version, unless `force`. An audit key version
    /// that MAC'd any record of the audit log is never retired (no force). Audited as
    /// `keys retire`.
    public func retireKey(_ ref: KeyRef, version: Int, datasets: String? = nil, force: Bool = false) throws -> RetireResult {
        guard version > 0 else { throw OperationError(.invalidArgument, "key version must be 1 or more") }
        var needed: [String] = []
        if let datasets {
            guard ref.purpose == .atRest else { throw OperationError(.invalidArgument, "datasets applies to at-rest keys, not \(ref)") }
            let scan = try Sealing.scan(under: datasets, wrappedBy: ref, version: version)
            // A sealed file whose header cannot be read may need the version too.
            needed = scan.wrapped + scan.unreadable.map { "\($0.path) (header unreadable: \($0.reason))" }
            if !needed.isEmpty && !force {
                let list = needed.map { "  \($0)" }.joined(separator: "\n")
                throw OperationError(
                    .keyStillNeeded,
                    "refusing to retire \(ref.label(version: version)) while \(needed.count) sealed file(s) in \(datasets) need it; rewrap them (`tokengate rewrap`), or force:\n\(list)"
                )
            }
        }
        if ref.purpose == .audit {
            // The log's chain is verified with the version that MAC'd each record: a version the
            // log still needs can never be retired (it would make the log unverifiable for good).
            let log = AuditLog.default(keyring: keyring, keyName: ref.name)
            let label = ref.label(version: version)
            let records: [AuditRecord]
            do { records = try log.records() } catch {  // an absent log holds no records
                throw OperationError(
                    .keyStillNeeded, "refusing to retire \(label): the audit log \(log.path) cannot be read to check whether it needs the key (\(error))")
            }
            let using = records.filter { $0.auditKey?.label == label }.count
            if using > 0 {
                throw OperationError(
                    .keyStillNeeded,
                    "refusing to retire \(label): \(using) record(s) of the audit log \(log.path) are MAC'd with it, and `audit verify` needs it for as long as the log exists"
                )
            }
        }
        return try audited("keys retire") { record in
            let k = try keyring.retire(ref, version: version)
            record.keys = [AuditKey(k)]
            if force { record.details = ["force": "true"] }
            if !needed.isEmpty { record.details["orphanedFiles"] = "\(needed.count)" }
            return RetireResult(key: k, orphanedFiles: needed)
        }
    }
}
