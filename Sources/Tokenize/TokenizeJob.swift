public import Columns
import Crypto
import Formats
import Foundation
public import Keyring
import Parquet
import Pipeline
import Sealing
import Synchronization
public import SystemIO

/// Input and output formats the job reads and writes.
public enum DataFormat: String, Sendable, Codable, CaseIterable {
    case csv, jsonl, parquet

    /// From a file name: `.csv`, `.tsv` (tab-delimited CSV), `.jsonl` / `.ndjson`, `.parquet` /
    /// `.parq` / `.pq`.
    public static func infer(path: String) -> DataFormat? {
        let lower = path.lowercased()
        if lower.hasSuffix(".csv") || lower.hasSuffix(".tsv") { return .csv }
        if lower.hasSuffix(".jsonl") || lower.hasSuffix(".ndjson") { return .jsonl }
        if lower.hasSuffix(".parquet") || lower.hasSuffix(".parq") || lower.hasSuffix(".pq") { return .parquet }
        return nil
    }

    /// Whether `path` is read as Parquet: `format` says so, or (no format given) the extension or
    /// the `PAR1` magic does.
    static func isParquet(path: String, format: DataFormat?) -> Bool {
        format == .parquet || (format == nil && (infer(path: path) == .parquet || hasParquetMagic(path: path)))
    }

    /// Opens a Parquet input (a file: its footer is at the end, so stdin cannot be read as
    /// Parquet), mapping the reader's errors to the job's.
    static func openParquet(path: String) throws -> ParquetFile {
        guard path != "-" else {
            throw JobError(.inputUnreadable, "Parquet input must be a file (its footer is at the end): stdin cannot be read as Parquet")
        }
        do { return try ParquetFile(path: path) } catch let e as ParquetError {
            throw JobError(e.code == .io ? .inputUnreadable : .inputInvalid, e.reason)
        }
    }

    /// A stream sniffed for its format (stdin) that starts with `PAR1` or `PARE` is Parquet (PME
    /// with `PARE`), which is read from a file only: refused by name, never parsed as text.
    static func refuseParquetStream(_ head: [UInt8], name: String) throws {
        let magic = Array(head.prefix(4))
        guard magic == Array("PAR1".utf8) || magic == Array("PARE".utf8) else { return }
        throw JobError(
            .inputUnreadable,
            "\(name) starts with the \(String(decoding: magic, as: UTF8.self)) magic of \(magic == Array("PARE".utf8) ? "an encrypted (PME) " : "a ")Parquet file: Parquet input must be a file (its footer is at the end), not a stream"
        )
    }

    /// Whether the file at `path` starts with Parquet's `PAR1` magic, or `PARE` (Parquet Modular
    /// Encryption with an encrypted footer: read as Parquet, never sniffed as text). False for
    /// stdin or an unreadable file: the reader reports those.
    public static func hasParquetMagic(path: String) -> Bool {
        guard path != "-", let f = try? FileDescriptor.open(path, .readOnly) else { return false }
        defer { try? f.close() }
        var head = [UInt8](repeating: 0, count: 4)
        let n = (try? head.withUnsafeMutableBytes { try f.read(at: 0, into: $0) }) ?? 0
        return n == 4 && (head == Array("PAR1".utf8) || head == Array("PARE".utf8))
    }
}

/// Runs `tokenize`, `detokenize` or `retokenize` over one input:
/// plan (``JobPlan``) → input (``JobInput``, this thread) → transform workers (``BatchTransform``)
/// → writer (``JobWriter``), joined by ``Pipeline``.
public enum TokenizeJob {
    public enum Mode: String, Sendable {
        case tokenize, detokenize
        /// A sealed dataset's tokenized columns moved from the in-use key versions recorded in it
        /// to the primary versions (input and output sealed; clear values only in memory).
        case retokenize
    }

    public struct Options: Sendable {
        public var mode: Mode = .tokenize
        /// File path or `-` (stdin).
        public var input = "-"
        /// File path or `-` (stdout). A file is written to a temporary name and renamed on success.
        public var output = "-"
        /// Permission bits of the output file, set when it is committed: 600 unless the caller
        /// says otherwise (a detokenize output holds clear values).
        public var outputMode: UInt32 = 0o600
        public var format: DataFormat?
        public var delimiter: UInt8 = UInt8(ascii: ",")
        public var hasHeader = true
        /// Where rejected records go (JSON Lines, mode 600: it holds clear values). nil: the run
        /// fails if any record is rejected (nothing is ever dropped silently).
        public var rejectsPath: String?
        /// Stop at the first rejected record with its error.
        public var stopOnReject = false
        public var batchRows = 8192
        public var workers = 1
        /// tokenize: where to write the manifest (default `<output>.manifest.json` for a file output).
        /// detokenize: the manifest to read (default `<input>.manifest.json`).
        public var manifestPath: String?
        /// Seal the output (at-rest key `sealKey`) instead of writing it in the clear.
        public var seal: SealOptions?
        /// Called on the job's calling thread after each batch is read (the queues between the
        /// stages hold at most a few batches, so this tracks the run's progress closely).
        public var progress: (@Sendable (JobProgress) -> Void)?
        /// tokenize: scan every value that leaves untokenized with the strict validators and
        /// reject (or, without a rejects file, fail on) any clear sensitive value. On by default.
        public var verifyOutput = true
        /// A PME input's AAD prefix, for a file that does not store its own (`supply_aad_prefix`);
        /// without it such a file is refused (`aadPrefixRequired`).
        public var aadPrefix: [UInt8]?
        /// A fault to inject, for the tests that prove the run's own checks; `package`, so no
        /// caller outside this package can set it.
        package var fault: JobFault?

        public init() {}
    }

    /// How far a run has read.
    public struct JobProgress: Sendable {
        /// Records read so far (rows plus rejected records).
        public let records: Int
        /// Input bytes consumed so far.
        public let bytes: Int
        /// Seconds since the run started.
        public let seconds: Double
    }

    /// `tokenize --seal`: the writer's output goes into a sealed file (docs/sealed-format.md).
    public struct SealOptions: Sendable {
        /// At-rest key name in the keyring.
        public var keyName = "datasets"
        /// Frame size: one batch per frame when the batch fits.
        public var frameSize = 4 << 20
        /// The run fails (and leaves no output) when sealing takes more than this share of the run.
        public var maxOverheadPercent = 10.0
        /// A PME output's AAD prefix (e.g. the table's name); nil: none. Sealed frames have none.
        public var aadPrefix: [UInt8]?
        /// Whether the PME output stores its AAD prefix (false: every reader must supply it).
        public var storeAADPrefix = true
        public init() {}
    }

    /// Decides each column's tag from the first batch (the tagger).
    public typealias Classifier = @Sendable (Batch) throws -> [String?]

    /// Checks that `mode` may run: tokenize always; detokenize and retokenize need the key
    /// custodians' grant in the keyring config (``KeyringConfig/authorizeDetokenize(pin:relativeTo:)``)
    /// and a policy that does not narrow it away (`detokenize.allowed: false`).
    public static func authorize(_ mode: Mode, policy: Policy, config: KeyringConfig) throws -> DetokenizeAuthorization? {
        guard mode != .tokenize else { return nil }
        if let p = policy.detokenize, !p.allowed {
            throw PolicyError(.detokenizeNotPermitted, "\(mode.rawValue) is not permitted by this policy (detokenize.allowed is false)")
        }
        let pin = policy.detokenize?.pin ?? DetokenizePermission.defaultPIN
        do {
            return try config.authorizeDetokenize(pin: pin, relativeTo: policy.baseDirectory)
        } catch let e as KeyringError where e.code == .permissionDenied {
            throw JobError(.permissionDenied, "\(mode.rawValue) refused: \(e.reason)")
        }
    }

    /// Runs the job. A detokenizing mode needs the `authorization` ``authorize(_:policy:config:)``
    /// returned.
    public static func run(
        _ o: Options, policy: Policy, keyring: Keyring, classify: @escaping Classifier, authorization: DetokenizeAuthorization? = nil
    ) throws -> RunSummary {
        let start = monotonicSeconds()
        if o.mode != .tokenize && authorization == nil {
            throw JobError(.permissionDenied, "\(o.mode.rawValue) refused: not authorized by the keyring's detokenize grant")
        }
        let manifestFile: TokenManifest? = try o.mode == .detokenize ? JobPlan.loadManifest(o) : nil
        let input = try JobInput(o, keyring: keyring)
        var summary = RunSummary(
            operation: o.mode.rawValue, input: o.input == "-" ? "stdin" : o.input,
            output: o.output == "-" ? "stdout" : o.output, format: input.format.rawValue)

        // Output: a temporary file beside the target, renamed only on success.
        let output = try OutputFile(path: o.output, mode: o.outputMode)
        var committed = false
        defer { if !committed { output.discard() } }
        let rejects = try RejectsFile(path: o.rejectsPath)
        defer { rejects.close() }

        // First batch: tag columns, check keys, build the column plan.
        var first = try input.next()
        var planBatch = first?.batch
        if let p = input.parquet, planBatch?.rowCount == 0 {
            // A Parquet file whose first row group is empty: the plan samples the first rows there
            // are (the stream still starts with the empty row group, which the output keeps).
            let sampler = ParquetBatchReader(file: p.file, batchRows: o.batchRows)
            while let r = try sampler.next() {
                if r.batch.rowCount > 0 {
                    planBatch = r.batch
                    break
                }
            }
        }
        let plan = try JobPlan(
            mode: o.mode, format: input.format, manifest: manifestFile ?? input.manifest, first: planBatch,
            policy: policy, keyring: keyring, classify: classify)
        // `--seal` with a Parquet output (`--out x.parquet`): Parquet Modular Encryption, the
        // transformed columns under a column key of their own, the rest under the footer key.
        let pme = o.seal != nil && o.output != "-" && DataFormat.infer(path: o.output) == .parquet
        let parquetOutput = try input.parquet.map { p in
            var out = try parquetPlan(p, plan: plan, o: o, policy: policy, inputName: summary.input)
            // The input's digest starts now, keeping its state where the output stops matching it
            // (a sealed input decrypted in memory has its digest already, and its plaintext is
            // not all there at once: the output is hashed whole as it is written).
            if input.decrypted == nil { out.inputDigest = input.startDigest(p, snapshotAt: out.sharedPrefix) }
            return out
        }
        var config = JobWriter.Config(
            format: plan.format, fd: output.fd, hashOutput: o.output != "-",
            seal: pme
                ? nil
                : try o.seal.map { so in
                    JobWriter.Config.Seal(
                        keyName: so.keyName, frameSize: so.frameSize,
                        metadata: try plan.sealedMetadata(policy: policy, source: summary.input))
                },
            keyring: keyring, rejectsFD: rejects.fd, stopOnReject: o.stopOnReject, mode: o.mode, inputName: summary.input,
            fault: o.fault)
        config.parquet = parquetOutput
        config.pacesWriteback = o.output != "-"
        if input.format != .parquet, o.output != "-", DataFormat.infer(path: o.output) == .parquet {
            config.parquetTable = true
        }
        if !pme, o.seal?.aadPrefix != nil {
            throw JobError(.optionsInvalid, "--seal-aad-prefix needs a Parquet Modular Encryption output (--out x.parquet with --seal)")
        }
        if pme, let so = o.seal {
            var po = ParquetSealOptions()
            po.keyName = so.keyName
            // retokenize: the output stays bound to the input's (stored) AAD prefix.
            if o.mode == .retokenize, let d = input.decrypted {
                po.aadPrefix = d.aadPrefix
                po.storeAADPrefix = d.aadPrefixStored
            }
            if let prefix = so.aadPrefix {
                guard o.mode == .tokenize else {
                    throw JobError(.optionsInvalid, "retokenize keeps the input's AAD prefix: --seal-aad-prefix is for tokenize")
                }
                po.aadPrefix = prefix
                po.storeAADPrefix = so.storeAADPrefix
            }
            // Every transformed column under the column key (retokenize: those the input's manifest
            // records, HMAC'd ones too, which the plan keeps as they are).
            po.columnKeyColumns = ((o.mode == .retokenize ? input.manifest?.columns : nil) ?? plan.reports).filter {
                $0.action != "keep" && $0.action != "drop"
            }.map(\.name)
            let t0 = monotonicSeconds()
            do { config.pme = try ParquetSealKeys.make(po, keyring: keyring) } catch let e as SealingError { throw JobError(.outputUnsupported, e.reason) }
            config.pmeSetupSeconds = monotonicSeconds() - t0
        }
        let writerConfig = config

        // Handed once to the writer thread.
        let outputFD = output.fd
        let sealer = Mutex(try writerConfig.seal.map { try SealingStage.make($0, fd: outputFD, keyring: keyring) })

        // Whole-stream classification: every later batch is checked against the plan (tokenize).
        let monitor =
            o.mode == .tokenize
            ? ColumnMonitor(
                plan: plan, policy: policy, keyring: keyring, classify: classify, inputName: summary.input,
                fixedPlan: o.seal != nil
                    ? "on-new-evidence: protect cannot change a sealed output's manifest, which is fixed before the first frame"
                    : input.format == .parquet
                        ? "on-new-evidence: protect cannot re-encode a Parquet column whose earlier row groups were copied as they are" : nil)
            : nil
        var readingFirst = true
        let result = try Pipeline.run(
            workers: max(1, o.workers), queueDepth: 4,
            read: { () throws -> (JobUnit, Pipeline.Count)? in
                let next: ReadResult?
                if first != nil {
                    next = first
                    first = nil
                } else {
                    next = try input.next()
                }
                guard let r = next else { return nil }
                let protected = try readingFirst ? [:] : monitor?.check(r.batch) ?? [:]
                readingFirst = false
                if let progress = o.progress {
                    let st = input.stats
                    progress(JobProgress(records: st.records, bytes: st.bytes, seconds: monotonicSeconds() - start))
                }
                let bytes = r.batch.columns.reduce(0) { $0 + $1.bytes.count }
                return (
                    JobUnit(batch: r.batch, readRejects: r.rejects, valueRejects: [], protected: protected),
                    (rows: r.batch.rowCount + r.rejects.count, bytes: bytes)
                )
            },
            makeWorker: {
                let stage = try BatchTransform(plan: plan, policy: policy, keyring: keyring, verifyOutput: o.verifyOutput)
                return { try stage.run($0) }
            },
            makeWriter: { try JobWriter(writerConfig, sealer: sealer.withLock { $0.take() }) })

        let written = result.output
        let stats = input.stats
        summary.rowsIn = stats.records
        summary.rowsOut = result.writer.rows
        summary.rowsRejected = stats.rejects + written.rejectedPerColumn.values.reduce(0, +)
        summary.bytesIn = input.bytesIn
        summary.bytesOut = written.bytesOut
        if o.mode != .retokenize { summary.inputSHA256 = Hex.encode(try input.digest()) }
        if let digest = written.outputSHA256 { summary.outputSHA256 = Hex.encode(digest) }
        if let sealed = written.sealed {
            summary.bytesOut = Int(lseek(output.fd, 0, SEEK_CUR))
            summary.encryptionSeconds = sealed.seconds
            summary.sealed = sealed.report
        }
        if let d = input.decrypted {
            summary.decryptedInput = DecryptedInputReport(
                kind: d.kind.rawValue,
                dataKeys: try d.envelopes.map { try DataKeyReport(role: d.kind == .pme ? "pme" : "file", envelope: $0) })
        }
        summary.stages = [result.reader, result.transform, result.writer]
        // The plan's reports, with the columns the monitor decided later (protected or new).
        let later = monitor?.reports ?? []
        let laterNames = Set(later.map(\.name))
        var cols = plan.reports.filter { !laterNames.contains($0.name) } + later
        if o.mode == .retokenize, let m = input.manifest {
            // A column the input's manifest records as transformed irreversibly (HMAC) stays as it
            // was, and so does its record in the output's manifest.
            let recorded = Dictionary(m.columns.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            for i in cols.indices where cols[i].action == "keep" {
                if let r = recorded[cols[i].name], r.action != "keep" {
                    let index = cols[i].index
                    cols[i] = r
                    cols[i].index = index
                }
            }
        }
        for i in cols.indices { cols[i].rejected = written.rejectedPerColumn[cols[i].name] ?? 0 }
        summary.columns = cols
        summary.rejectReasons = written.rejectReasons
        summary.rejectsFile = o.rejectsPath
        if o.mode == .tokenize { summary.outputVerified = o.verifyOutput }
        guard summary.reconciles else {
            throw JobError(
                .reconciliation,
                "internal error: rows do not reconcile (\(summary.rowsIn) in, \(summary.rowsOut) out, \(summary.rowsRejected) rejected); output discarded")
        }
        summary.wallSeconds = monotonicSeconds() - start
        if let so = o.seal, let pct = summary.encryptionOverheadPercent, pct > so.maxOverheadPercent {
            throw JobError(
                .overheadExceeded,
                String(format: "encryption overhead %.2f%% exceeds --max-encryption-overhead %.2f%%; output discarded", pct, so.maxOverheadPercent))
        }
        try output.commit()
        committed = true
        // tokenize: the manifest beside the output; retokenize to a PME file (whose footer holds
        // no manifest) likewise, with the new key versions (never over the input's manifest).
        let manifestPath =
            o.mode == .tokenize
            ? o.manifestPath ?? (o.output == "-" ? nil : o.output + ".manifest.json")
            : o.mode == .retokenize && pme ? o.output + ".manifest.json" : nil
        if let path = manifestPath {
            let e = JSONEncoder()
            e.outputFormatting = [.prettyPrinted, .sortedKeys]
            try e.encode(plan.manifest(policy: policy, columns: cols)).write(to: URL(fileURLWithPath: path), options: .atomic)
        }
        summary.wallSeconds = monotonicSeconds() - start
        return summary
    }
}

extension TokenizeJob {
    /// A Parquet run's output plan, checked before any output: the columns the batches carry
    /// transformed, those dropped, and the columns no batch holds (nested, or BOOLEAN / FLOAT /
    /// DOUBLE / INT96). A nested column is never looked into, so a tokenize run refuses one the
    /// policy does not name (fail closed); a rule that would transform such a column is refused
    /// by name. From the first batch on, only the columns that are transformed, still watched
    /// by the monitor, or scanned on the way out are decoded.
    static func parquetPlan(
        _ reader: ParquetBatchReader, plan: JobPlan, o: Options, policy: Policy, inputName: String
    ) throws -> JobWriter.Config.ParquetOutput {
        if o.seal == nil, o.output != "-", let f = DataFormat.infer(path: o.output), f != .parquet {
            throw JobError(.outputUnsupported, "\(inputName) is Parquet: the output is Parquet too (name it *.parquet), not \(f.rawValue)")
        }
        var drop = plan.dropNames
        for (name, why) in reader.uninspected {
            guard let rule = policy.columns[name] else {
                if why == "nested" && o.mode == .tokenize {
                    throw JobError(
                        .columnUnresolved,
                        "\(inputName): column '\(name)' is a nested Parquet column (LIST, MAP or group): tokengate does not look inside nested columns, so it cannot tell whether it holds sensitive values — name it in the policy after review (`\(name): { action: keep }`, or `{ action: drop }`)"
                    )
                }
                continue
            }
            switch rule.action {
            case .keep: continue
            case .drop: drop.insert(name)
            default:
                throw JobError(
                    .outputUnsupported,
                    "\(inputName): column '\(name)' is \(why == "nested" ? "a nested Parquet column" : "of Parquet type \(why)"): tokengate transforms flat byte-array, integer and date columns only (the policy asks \(rule.action.rawValue) for it)"
                )
            }
        }
        let active = Set(plan.active.map(\.name))
        // FLOAT, DOUBLE and INT96 columns are read (tagged, watched, scanned: a DOUBLE holds a
        // 16-digit card number exactly) but cannot take tokens: a column of them that the policy
        // or the tagger would transform stops the run by name, before any output.
        for top in reader.file.schema.topLevel where active.contains(top.name) {
            let type = reader.file.schema.leaves[top.firstLeaf].physicalType
            guard type == .float || type == .double || type == .int96 else { continue }
            let rule = plan.columns.first { $0.name == top.name }
            let why = rule?.tag.map { "its values are tagged \($0)" } ?? "the policy asks \(rule?.rule.action.rawValue ?? "a transform") for it"
            throw JobError(
                .outputUnsupported,
                "\(inputName): column '\(top.name)' is of Parquet type \(type) and \(why): tokengate cannot write tokens into a \(type) column — drop it (`\(top.name): { action: drop }`), or store the values as strings or integers"
            )
        }
        if !(o.mode == .tokenize && o.verifyOutput) {
            let watched =
                o.mode == .tokenize
                ? Set(plan.columns.filter { $0.rule.action == .keep && $0.tag == nil && policy.columns[$0.name] == nil }.map(\.name)) : []
            reader.decodeOnly(active.union(watched))
        }
        return JobWriter.Config.ParquetOutput(
            source: reader.file, reencode: active, drop: drop,
            sharedPrefix: ParquetCopyWriter.sharedPrefix(source: reader.file, reencode: active, drop: drop))
    }
}

/// An error of a tokenize, detokenize or retokenize run (or of `scan`). Equality compares the code
/// only; the description is `code: reason`.
public typealias JobError = ModuleError<JobErrorCode>

/// The codes of ``JobError``.
public enum JobErrorCode: String, ErrorCode {
    /// The input file cannot be opened.
    case inputUnreadable
    /// A sealed input (a PME file, a sealed Parquet dataset) whose data keys this keyring cannot
    /// unwrap: reading it needs the authorized open `tokengate open` needs (the at-rest token), so
    /// the run is refused before anything is read.
    case encryptedInputRefused
    /// The input is not valid in its format, or uses a feature tokengate does not read (a Parquet
    /// file with a corrupt footer, an unsupported codec); the reason names file and feature.
    case inputInvalid
    /// The input cannot be written in the output format asked for (a nested Parquet column
    /// named for a transform, a Parquet output from CSV).
    case outputUnsupported
    /// The policy does not permit the operation (no detokenize section).
    case permissionDenied
    /// The options do not fit the mode (retokenize without seal options).
    case optionsInvalid
    /// The manifest (file or sealed-metadata attribute) is missing or cannot be read.
    case manifestMissing
    /// The manifest is not a tokengate manifest.
    case manifestInvalid
    /// A column was transformed with an action that cannot be reversed.
    case notReversible
    /// The tagger cannot decide a column and the policy has no rule for it.
    case columnUnresolved
    /// A record was rejected with no rejects file to take it, or with stop-on-reject.
    case recordRejected
    /// The rejects file cannot be created.
    case rejectsUnwritable
    /// Rows in ≠ rows out + rows rejected (an internal error; the output is discarded).
    case reconciliation
    /// Sealing took a larger share of the run than the bound allows (output discarded).
    case overheadExceeded
    /// A column kept so far (or a JSON key first seen later) holds values of a sensitive type, or
    /// can no longer be decided, and the policy says stop (`on-new-evidence`).
    case newEvidence
    /// The output scan found a sensitive value left clear (`--no-verify-output` turns it off).
    case residualValue
}
