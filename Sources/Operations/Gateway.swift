import Audit
import Foundation
public import Keyring
public import SystemIO

/// The one entry to tokengate's operations: every command of the CLI, and the coming server, is
/// one call on a `Gateway`. It opens the keys, checks permissions, writes the audit record around
/// the work and returns a typed result; nothing outside the package can reach a key except through
/// it (``Keyring``'s initializers are `package`).
///
/// Operations that touch data or keys are *audited*: the audit key must be usable before any work
/// starts (no unaudited processing), and the outcome — success, or failure with its reason — is
/// appended as one HMAC-chained record. Records never hold values, tokens, key bytes or PINs.
/// Read-only operations that need no key (``Gateway/scan(_:)``, ``Gateway/inspect(path:)``) and
/// reads of the audit log itself are not recorded.
///
/// Thread-safe: one gateway serves any number of concurrent calls (the keyring borrows one HSM
/// session per call and the audit log serializes appends with a file lock).
public final class Gateway: Sendable {
    package let keyring: Keyring

    /// Opens the keyring configured at `keyringPath` (YAML or JSON; see keys-config/README.md).
    /// Tokens are opened and logged in on first use.
    public init(keyringPath: String) throws {
        keyring = try Keyring(configPath: keyringPath)
    }

    /// A gateway over a keyring the package already opened (tests, the server).
    package init(keyring: Keyring) {
        self.keyring = keyring
    }

    /// The keyring configuration (no secrets: PINs are named by source, never held here).
    public var config: KeyringConfig { keyring.config }

    /// Whether the keyring is marked as a development setup (SoftHSM2, PINs on disk).
    public var isDevelopment: Bool { keyring.config.development == true }

    /// The audit log this gateway appends to.
    public var auditLogPath: String { AuditLog.default(keyring: keyring).path }

    /// Runs `body` under the audit trail (see the type's documentation).
    /// - Parameter checkFirst: false only for `keys init`, which may create the audit key itself:
    ///   it runs first and is recorded once the audit key exists.
    /// - Parameter details: recorded in the started record and the outcome record alike (the
    ///   run's context: who ran it, as in `context.spark.app`).
    func audited<T>(
        _ operation: String, checkFirst: Bool = true, inputs: [AuditFile] = [], details: [String: String] = [:],
        _ body: (inout AuditRecord) throws -> T
    ) throws -> T {
        let log = AuditLog.default(keyring: keyring)
        var record = AuditRecord(operation: operation, details: details)
        if checkFirst {
            // Write-ahead (no audit, no operation): the started record is appended before any
            // work, which also proves the log can be appended; a run killed at any point leaves it,
            // and `audit verify` lists it as never closed.
            do {
                record.startedRecord = try log.append(AuditRecord(operation: operation, outcome: .started, inputs: inputs, details: details)).sequence
            } catch {
                throw OperationError(.auditUnavailable, "\(operation) refused: the audit trail is unavailable (\(error)); no unaudited processing")
            }
        }
        let result: T
        do {
            result = try body(&record)
        } catch {
            record.outcome = .failure
            record.error = "\(error)"
            _ = try? log.append(record)
            throw error
        }
        try log.append(record)
        return result
    }

    /// Raw keyring access for tools that measure the custody paths themselves (the Benchmarks
    /// package). Not a way around the audit: the session is one audited operation named
    /// `operation`, recorded with its outcome like any other. Production callers use the
    /// operations instead.
    @_spi(KeyAccess)
    public func withAuditedKeyring<T>(operation: String, _ body: (Keyring) throws -> T) throws -> T {
        try audited(operation) { record in
            record.details["session"] = "raw keyring access"
            return try body(keyring)
        }
    }
}

/// An error of the operations layer itself (the work's own errors pass through unchanged).
public typealias OperationError = ModuleError<OperationErrorCode>

/// The codes of ``OperationError``.
public enum OperationErrorCode: String, ErrorCode {
    /// The audit key or log cannot be used: the operation did not run.
    case auditUnavailable
    /// A request argument is out of range or inconsistent.
    case invalidArgument
    /// Retiring the key version would orphan sealed files that still need it.
    case keyStillNeeded
    /// The operation is not granted (an online decode without the custodians' detokenize grant).
    case permissionDenied
}

/// The absolute path of a file argument, or the stream's name for `-`.
func absolute(_ path: String, stream: String) -> String {
    path == "-" ? stream : URL(fileURLWithPath: path).standardizedFileURL.path
}

/// A file for the audit record: path, size, SHA-256; stdin/stdout by name.
func auditFile(_ path: String, stream: String) -> AuditFile {
    if path == "-" { return AuditFile(path: stream) }
    return (try? AuditFile.describe(path: path)) ?? AuditFile(path: path)
}
