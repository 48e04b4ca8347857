import ArgumentParser
import Audit
import Crypto
import Foundation
import Keyring
import Tokenize

/// Runs a command under the audit trail: the audit key must be usable before any work starts (no
/// unaudited processing); the outcome — success or failure with its reason — is appended as one
/// HMAC-chained record. Records never hold values, tokens, key bytes or PINs.
/// - Parameter checkFirst: false only for `keys init`, which may create the audit key itself: it
///   runs first and is recorded once the audit key exists.
func audited(_ keyring: Keyring, _ operation: String, checkFirst: Bool = true,
             _ body: (inout AuditRecord) throws -> Void) throws {
    let log = AuditLog.default(keyring: keyring)
    if checkFirst {
        do {
            try log.checkAvailable()
        } catch {
            throw CommandError("\(operation) refused: the audit trail is unavailable (\(error)); no unaudited processing")
        }
    }
    var record = AuditRecord(operation: operation)
    do {
        try body(&record)
    } catch {
        record.outcome = .failure
        record.error = "\(error)"
        _ = try? log.append(record)
        throw error
    }
    try log.append(record)
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

extension AuditRecord {
    /// Fills the record from a tokenize/detokenize/retokenize run summary.
    mutating func add(_ s: RunSummary, input: String, output: String, policyPath: String?) {
        // Digests computed during the run; only a sealed output is hashed afterwards.
        if let d = s.inputSHA256 {
            inputs = [AuditFile(path: absolute(input, stream: "stdin"), bytes: Int64(s.bytesIn), sha256: d)]
        } else if inputs.first?.sha256 == nil {
            inputs = [auditFile(input, stream: "stdin")]
        }
        if let d = s.outputSHA256 {
            outputs = [AuditFile(path: absolute(output, stream: "stdout"), bytes: Int64(s.bytesOut), sha256: d)]
        } else {
            outputs = [output == "-" ? AuditFile(path: "stdout", bytes: Int64(s.bytesOut)) : auditFile(output, stream: "stdout")]
        }
        rowsIn = s.rowsIn
        rowsOut = s.rowsOut
        rowsRejected = s.rowsRejected
        columns = s.columns.filter { $0.action != "keep" }.map {
            AuditColumn(name: $0.name, tag: $0.tag, transform: $0.transform ?? $0.action, keyLabel: $0.keyLabel, keyID: $0.keyID, keyVersion: $0.keyVersion)
        }
        var seen = Set<String>()
        keys = s.columns.compactMap { c in
            guard let l = c.keyLabel, let v = c.keyVersion, seen.insert(l).inserted else { return nil }
            return AuditKey(label: l, id: c.keyID ?? "", version: v)
        }
        if let sealed = s.sealed {
            keys.append(AuditKey(label: sealed.keyLabel, id: sealed.keyID, version: Int(sealed.keyLabel.split(separator: "/").last?.dropFirst() ?? "") ?? 0))
            details["sealedFileID"] = sealed.fileID
        }
        policyDigest = policyPath.flatMap { FileManager.default.contents(atPath: $0) }.flatMap { try? SHA256.hash(Array($0)) }.map(Hex.encode)
            ?? "built-in default policy"
        throughputMBps = s.megabytesPerSecond
        encryptionOverheadPercent = s.encryptionOverheadPercent
        if let r = s.rejectsFile { details["rejectsFile"] = r }
    }
}
