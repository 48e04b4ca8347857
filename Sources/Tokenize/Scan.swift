public import Columns
import Formats
import Foundation
public import Keyring
import Parquet
import Sealing
import SystemIO
public import Tagging

/// Column tagging for `tokengate scan` and for `tokenize` (the tagger stage).
public enum Scan {
    /// Classifies every column of a batch.
    public static func classify(_ batch: Batch, tagger: Tagger = Tagger()) -> [ColumnClassification] {
        batch.names.enumerated().map { i, name in tagger.classify(name: name, index: i, values: batch.columns[i]) }
    }

    /// Reads the head of a file (up to `sampleRows` rows) and classifies its columns.
    public static func file(
        _ path: String, format: DataFormat?, delimiter: UInt8 = UInt8(ascii: ","), hasHeader: Bool = true,
        sampleRows: Int = 2000
    ) throws -> [ColumnClassification] {
        if DataFormat.isParquet(path: path, format: format) {
            if path != "-", Sealing.parquetMagic(path: path).encrypted {
                throw JobError(
                    .encryptedInputRefused,
                    "\(path) is encrypted (Parquet Modular Encryption): scanning it reads its clear values, so it is an audited open that needs the keyring: `tokengate scan` with the keyring (--keyring or TOKENGATE_KEYRING), whose at-rest key unwraps its data keys"
                )
            }
            return try parquet(try DataFormat.openParquet(path: path), sampleRows: sampleRows)
        }
        let file: FileDescriptor
        do { file = path == "-" ? .standardInput : try FileDescriptor.open(path, .readOnly) } catch { throw JobError(.inputUnreadable, "\(error)") }
        defer { try? file.close() }
        if path != "-", Sealing.isEncryptedParquet(file: file, path: path) {
            throw JobError(.inputInvalid, "\(path) is encrypted Parquet (Parquet Modular Encryption): it cannot be read as \(format?.rawValue ?? "text")")
        }
        var source = FileDescriptorSource(fileDescriptor: file.rawValue)
        var head: [UInt8] = []
        let chosen: DataFormat
        if let f = format ?? DataFormat.infer(path: path) {
            chosen = f
        } else {
            head = try SniffedFormat.readHead(&source)
            try DataFormat.refuseParquetStream(head, name: path == "-" ? "stdin" : path)
            chosen = SniffedFormat.sniff(head[...]) == .jsonl ? .jsonl : .csv
        }
        let input = PrefixedSource(prefix: head, then: source)
        var reader: any BatchReader =
            switch chosen {
            case .csv:
                try CSVReader(
                    source: input,
                    options: CSVReadOptions(
                        delimiter: delimiter, hasHeader: hasHeader, batchRows: sampleRows, sourceName: path == "-" ? "stdin" : path))
            case .jsonl: try JSONLReader(source: input, options: JSONLReadOptions(batchRows: sampleRows))
            case .parquet: throw JobError(.inputInvalid, "unreachable: Parquet is read above")
            }
        guard let first = try reader.next() else { return [] }
        return classify(first.batch)
    }

    /// Classifies the head of a plaintext Parquet file (a file on disk, or a PME file decrypted in
    /// memory): every top-level column in schema order.
    static func parquet(_ file: ParquetFile, sampleRows: Int) throws -> [ColumnClassification] {
        let reader = ParquetBatchReader(file: file, batchRows: sampleRows)
        let sampled = try reader.next().map { classify($0.batch) } ?? []
        // Every top-level column in schema order: nested ones are listed as needing review
        // (tokenize stops on one the policy does not name), BOOLEAN ones as holding nothing.
        let why = Dictionary(reader.uninspected.map { ($0.name, $0.why) }, uniquingKeysWith: { a, _ in a })
        return reader.file.schema.topLevel.enumerated().compactMap { i, top in
            if var c = sampled.first(where: { $0.name == top.name }) {
                c.index = i
                return c
            }
            guard let w = why[top.name] else { return nil }
            if w == "nested" {
                return .unexamined(
                    name: top.name, index: i,
                    reason: "nested Parquet column (LIST, MAP or group): not examined — name it in the policy after review")
            }
            var c = ColumnClassification.unexamined(name: top.name, index: i, reason: "\(w): cannot hold a sensitive value")
            c.status = .none
            return c
        }
    }

    /// Scans a PME file: decrypted in memory with the same unwraps (and authorization) as `open`
    /// — a data key the keyring cannot unwrap refuses it by name (`encryptedInputRefused`).
    /// - Returns: the classifications and the data keys unwrapped (for the audit record).
    public static func encryptedParquet(
        _ path: String, sampleRows: Int = 2000, keyring: Keyring, aadPrefix: [UInt8]? = nil
    ) throws -> (
        columns: [ColumnClassification], decrypted: DecryptedInputReport
    ) {
        let d = try JobInput.decrypt(path) { try Sealing.decryptParquetInMemory(path: path, keyring: keyring, aadPrefix: aadPrefix) }
        let pf: ParquetFile
        do { pf = try d.parquetFile(name: path) } catch let e as ParquetError { throw JobError(.inputInvalid, "\(path) (decrypted): \(e.reason)") }
        let report = DecryptedInputReport(kind: d.kind.rawValue, dataKeys: try d.envelopes.map { try DataKeyReport(role: "pme", envelope: $0) })
        return (try parquet(pf, sampleRows: sampleRows), report)
    }

    /// The tagger as the tokenize job's classifier: tagged columns get their tag; a column the
    /// tagger cannot decide (ambiguous, needs review) stops the run unless the policy names it.
    public static func classifier(policy: Policy, tagger: Tagger = Tagger()) -> TokenizeJob.Classifier {
        { batch in
            try classify(batch, tagger: tagger).map { c in
                if c.status != .tagged, !c.containsEmbedded.isEmpty { return Policy.freeTextTag }
                switch c.status {
                case .tagged: return c.tag?.rawValue
                case .none: return nil
                default:
                    if policy.columns[c.name] != nil { return nil }
                    throw JobError(
                        .columnUnresolved,
                        "column '\(c.name)' \(c.status.rawValue): \(c.reason) — add a rule for it under 'columns' in the policy (e.g. { action: keep } or a transform)"
                    )
                }
            }
        }
    }
}
