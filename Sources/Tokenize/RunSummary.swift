public import Foundation
public import Pipeline

/// What one column went through in a run.
public struct ColumnReport: Sendable, Codable, Equatable {
    public var name: String
    public var index: Int
    public var tag: String?
    public var action: String
    public var transform: String?
    public var algorithm: String?
    public var custody: String?
    public var keyLabel: String?
    public var keyID: String?
    public var keyVersion: Int?
    /// Values rejected in this column (the row then went to the rejects).
    public var rejected: Int
    /// The rule applied (detokenize reads it back from the manifest).
    public var rule: Rule?
    /// For free text: the key version used per embedded tag.
    public var embeddedKeyVersions: [String: Int]?
    /// For tokenized and free-text columns: the transform version of the tokens written (or, for
    /// detokenize, inverted) — ``TransformSpec/version``. Absent in manifests written before
    /// transform versions existed: those columns are version 1.
    public var transformVersion: Int?
    /// Set when the column was kept at first and its rule applied only from this record on, after
    /// values of `tag` appeared in it (`on-new-evidence: protect`); detokenize inverts only from here.
    public var protectedFromRecord: Int?

    public init(name: String, index: Int, tag: String?, action: String) {
        self.name = name
        self.index = index
        self.tag = tag
        self.action = action
        self.rejected = 0
    }
}

/// The sealed output of a run.
public struct SealReport: Sendable, Codable, Equatable {
    public var fileID: String
    public var keyLabel: String
    public var keyID: String
    public var frames: Int
    public var frameSize: Int
    /// Every data key of the output (PME: the footer key and the column key), by its envelope:
    /// never key bytes.
    public var dataKeys: [DataKeyReport]?
}

/// One data key of a sealed file, named by the at-rest key version that wraps it and the SHA-256
/// of its envelope (the wrapped key as the file stores it: no key bytes).
public struct DataKeyReport: Sendable, Codable, Equatable {
    /// `footer`, `column` (PME), `file` (a sealed frame file).
    public var role: String
    /// The columns under the key (a PME column key).
    public var columns: [String]?
    /// The at-rest key version that wraps it (`tokengate/at-rest/<name>/v<N>`: PME's masterKeyID).
    public var keyLabel: String
    /// Its CKA_ID, hex.
    public var keyID: String
    public var keyVersion: Int
    /// SHA-256 (hex) of the serialized envelope.
    public var envelopeSHA256: String

    public init(role: String, columns: [String]? = nil, keyLabel: String, keyID: String, keyVersion: Int, envelopeSHA256: String) {
        self.role = role
        self.columns = columns
        self.keyLabel = keyLabel
        self.keyID = keyID
        self.keyVersion = keyVersion
        self.envelopeSHA256 = envelopeSHA256
    }
}

/// A sealed input the run decrypted in memory (`retokenize`, or `tokenize` of a PME file).
public struct DecryptedInputReport: Sendable, Codable, Equatable {
    /// `parquet-pme` or `sealed`.
    public var kind: String
    /// The data keys unwrapped to read it.
    public var dataKeys: [DataKeyReport]
}

/// The run summary printed on stderr and written by `--summary-json`.
public struct RunSummary: Sendable, Codable {
    public var operation: String
    public var input: String
    public var output: String
    public var format: String
    public var rowsIn = 0
    public var rowsOut = 0
    public var rowsRejected = 0
    public var bytesIn = 0
    public var bytesOut = 0
    public var wallSeconds = 0.0
    public var stages: [StageMetrics] = []
    public var columns: [ColumnReport] = []
    /// Reject reasons and how often each occurred (no values).
    public var rejectReasons: [String: Int] = [:]
    public var rejectsFile: String?
    /// Time spent sealing (frames encrypted and written), for `--seal`.
    public var encryptionSeconds: Double?
    public var sealed: SealReport?
    /// The input was sealed and decrypted in memory for the run.
    public var decryptedInput: DecryptedInputReport?
    /// tokenize: whether the residual scan checked what left untokenized (`--no-verify-output`: false).
    public var outputVerified: Bool?
    /// SHA-256 (hex) of the bytes read and of the plaintext output written (computed on the way).
    public var inputSHA256: String?
    public var outputSHA256: String?
    /// `--pipe`: batches exchanged and where the time went (``PipeStats``).
    public var pipe: PipeStats?

    /// Sealing time as a share of the run's wall time, in percent.
    public var encryptionOverheadPercent: Double? {
        encryptionSeconds.map { wallSeconds > 0 ? 100 * $0 / wallSeconds : 0 }
    }

    public init(operation: String, input: String, output: String, format: String) {
        self.operation = operation
        self.input = input
        self.output = output
        self.format = format
    }

    /// rows in = rows out + rows rejected.
    public var reconciles: Bool { rowsIn == rowsOut + rowsRejected }
    public var megabytesPerSecond: Double { wallSeconds > 0 ? Double(bytesIn) / 1e6 / wallSeconds : 0 }
    public var rowsPerSecond: Double { wallSeconds > 0 ? Double(rowsIn) / wallSeconds : 0 }

    /// Human-readable form (stderr).
    public var text: String {
        var lines: [String] = []
        lines.append("tokengate \(operation): \(input) → \(output) (\(format))")
        lines.append(
            String(
                format: "  rows: %d in, %d out, %d rejected — %@", rowsIn, rowsOut, rowsRejected,
                reconciles ? "reconciled" : "NOT RECONCILED"))
        lines.append(
            String(
                format: "  bytes: %d in, %d out; %.3f s wall; %.1f MB/s; %.0f rows/s",
                bytesIn, bytesOut, wallSeconds, megabytesPerSecond, rowsPerSecond))
        if !stages.isEmpty { lines.append("  cpu: " + stages.map { String(format: "%@ %.3f s", $0.name, $0.cpuSeconds) }.joined(separator: ", ")) }
        for c in columns where c.action != "keep" {
            var s = "  column \(c.name) [\(c.tag ?? "untagged")]: \(c.action)"
            if let t = c.transform { s += " \(t)" }
            if let a = c.algorithm, let cu = c.custody { s += " (\(a), \(cu) custody)" }
            if let l = c.keyLabel, let id = c.keyID { s += " key \(l) id \(id)" }
            if let e = c.embeddedKeyVersions { s += " (" + e.sorted(by: { $0.key < $1.key }).map { "\($0.key) v\($0.value)" }.joined(separator: ", ") + ")" }
            if c.rejected > 0 { s += ", \(c.rejected) rejected" }
            if let from = c.protectedFromRecord {
                s += " — NEW EVIDENCE: kept until values of \(c.tag ?? "a sensitive type") appeared, protected from record \(from) on"
            }
            lines.append(s)
        }
        if let v = outputVerified {
            lines.append(
                v ? "  output scan: every untokenized value checked for clear card numbers, SSNs and emails" : "  output scan: OFF (--no-verify-output)")
        }
        if let p = pipe {
            lines.append(
                String(
                    format: "  pipe: %d batches; %.3f s processing, %.3f s waiting for input, %.3f s writing output", p.batches, p.processingSeconds,
                    p.waitSeconds, p.writeSeconds))
        }
        for (reason, n) in rejectReasons.sorted(by: { $0.value > $1.value }).prefix(10) { lines.append("  rejects: \(n) × \(reason)") }
        if let f = rejectsFile, rowsRejected > 0 { lines.append("  rejects written to \(f)") }
        if let d = decryptedInput {
            let keys = Set(d.dataKeys.map(\.keyLabel)).sorted().joined(separator: ", ")
            lines.append(
                "  input: \(d.kind == "parquet-pme" ? "Parquet Modular Encryption" : "sealed"), decrypted in memory (\(d.dataKeys.count) data key\(d.dataKeys.count == 1 ? "" : "s") under \(keys))"
            )
        }
        if let sealed, let e = encryptionSeconds, let pct = encryptionOverheadPercent {
            lines.append(
                String(
                    format: sealed.frameSize == 0
                        ? "  sealed: Parquet Modular Encryption, %d row groups, footer key wrapped by %@ (id %@), file unique %@"
                        : "  sealed: %d frames under %@ (id %@), file id %@", sealed.frames, sealed.keyLabel, sealed.keyID, sealed.fileID))
            for k in sealed.dataKeys ?? [] where sealed.frameSize == 0 {
                lines.append(
                    "  data key (\(k.role)\(k.columns.map { ": " + $0.joined(separator: ",") } ?? "")): wrapped by \(k.keyLabel), envelope sha256 \(k.envelopeSHA256.prefix(16))…"
                )
            }
            lines.append(String(format: "  encryption overhead: %.3f s = %.2f%% of the run", e, pct))
        }
        return lines.joined(separator: "\n")
    }

    public var json: Data {
        get throws {
            let e = JSONEncoder()
            e.outputFormatting = [.prettyPrinted, .sortedKeys]
            return try e.encode(self)
        }
    }
}
