import Foundation
import Synchronization
public import Columns
public import Formats
public import Keyring
import Pipeline
import Transforms
import Sealing
import Crypto
import SystemIO

/// Input and output formats the job reads and writes.
public enum DataFormat: String, Sendable, Codable, CaseIterable {
    case csv, jsonl

    /// From a file name: `.csv`, `.tsv` (tab-delimited CSV), `.jsonl` / `.ndjson`.
    public static func infer(path: String) -> DataFormat? {
        let lower = path.lowercased()
        if lower.hasSuffix(".csv") || lower.hasSuffix(".tsv") { return .csv }
        if lower.hasSuffix(".jsonl") || lower.hasSuffix(".ndjson") { return .jsonl }
        return nil
    }
}

/// What tokenize wrote about each column; `detokenize` reads it back to invert exactly the same
/// rules with the same key versions (from `<out>.manifest.json`, or from a sealed file's metadata).
public struct TokenManifest: Sendable, Codable {
    /// The sealed-metadata attribute that carries the manifest.
    public static let attributeKey = "tokengate.manifest"
    public var version = 1
    public var format: DataFormat
    public var policyAlgorithm: String
    public var policyCustody: String
    public var columns: [ColumnReport]
}

/// Runs `tokenize` or `detokenize` over one input: reader → tokenizer workers → writer.
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

        public init() {}
    }

    /// `tokenize --seal`: the writer's output goes into a sealed file (docs/sealed-format.md).
    public struct SealOptions: Sendable {
        /// At-rest key name in the keyring.
        public var keyName = "datasets"
        /// Frame size: one batch per frame when the batch fits.
        public var frameSize = 4 << 20
        /// The run fails (and leaves no output) when sealing takes more than this share of the run.
        public var maxOverheadPercent = 10.0
        public init() {}
    }

    /// Decides each column's tag from the first batch (the tagger).
    public typealias Classifier = @Sendable (Batch) throws -> [String?]

    public static func run(_ o: Options, policy: Policy, keyring: Keyring, classify: Classifier) throws -> RunSummary {
        let start = monotonicSeconds()
        var sniffedHead: [UInt8]?
        var format: DataFormat
        if let f = o.format ?? DataFormat.infer(path: o.input) ?? (o.input == "-" ? DataFormat.infer(path: o.output) : nil) {
            format = f
        } else {
            // stdin (or a file without a known extension): look at the first line.
            format = .csv
            sniffedHead = []
        }
        var summary = RunSummary(operation: o.mode.rawValue, input: o.input == "-" ? "stdin" : o.input,
                                 output: o.output == "-" ? "stdout" : o.output, format: format.rawValue)
        if o.mode != .tokenize {
            guard let permission = policy.detokenize else {
                throw JobError("\(o.mode.rawValue) is not permitted by the policy (no detokenize section)")
            }
            try permission.authorize(relativeTo: policy.baseDirectory)
        }
        var manifestIn: TokenManifest? = try o.mode == .detokenize ? loadManifest(o) : nil

        // Input: a file or stdin, or (retokenize) the frames of a sealed dataset. The bytes read are
        // hashed on the way (SHA-256 for the audit record) instead of reading the file twice.
        let inputHasher = try SHA256Hasher()
        let input: any ByteSource
        var inFile: FileDescriptor?
        defer { try? inFile?.close() }
        if o.mode == .retokenize {
            guard o.seal != nil else { throw JobError("retokenize writes a sealed dataset: give the seal options") }
            let reader = try SealedReader(path: o.input, keyring: keyring)
            guard let m = reader.header.metadata.attributes[TokenManifest.attributeKey],
                  let manifest = try? JSONDecoder().decode(TokenManifest.self, from: Data(m.utf8)) else {
                throw JobError("\(o.input) carries no tokengate manifest (it was not written by `tokenize --seal`)")
            }
            manifestIn = manifest
            format = manifest.format
            sniffedHead = nil
            input = SealedFrameSource(reader)
        } else {
            do { inFile = o.input == "-" ? .standardInput : try FileDescriptor.open(o.input, .readOnly) } catch {
                throw JobError("input: \(error)")
            }
            var source = FileDescriptorSource(fileDescriptor: inFile?.rawValue ?? 0)
            if sniffedHead != nil {
                let head = try SniffedFormat.readHead(&source)
                format = SniffedFormat.sniff(head[...]) == .jsonl ? .jsonl : .csv
                sniffedHead = head
            }
            input = HashingSource(PrefixedSource(prefix: sniffedHead ?? [], then: source), into: inputHasher)
        }
        let reader: any BatchReader = switch format {
        case .csv: try CSVReader(source: input, options: CSVReadOptions(delimiter: o.delimiter, hasHeader: o.hasHeader, batchRows: o.batchRows))
        case .jsonl: try JSONLReader(source: input, options: JSONLReadOptions(batchRows: o.batchRows))
        }
        let readerBox = Locked(reader)
        summary.format = format.rawValue

        // Output: a temporary file beside the target, renamed only on success.
        let output = try OutputFile(path: o.output)
        var committed = false
        defer { if !committed { output.discard() } }
        let rejects = try RejectsFile(path: o.rejectsPath)
        defer { rejects.close() }

        // First batch: tag columns and build the column plan.
        var first = try readerBox.with { try $0.next() }
        let names = first?.batch.names ?? []
        let plan: [ColumnPlan]
        if let manifestIn {
            plan = try planFromManifest(manifestIn, names: names)
        } else {
            let tags = try first.map { try classify($0.batch) } ?? []
            plan = names.enumerated().map { i, name in
                ColumnPlan(name: name, index: i, tag: i < tags.count ? tags[i] : nil,
                           rule: policy.rule(column: name, tag: i < tags.count ? tags[i] : nil), keyVersion: nil)
            }
        }
        let dropNames = Set(plan.filter { $0.rule.action == .drop }.map(\.name))
        // Check keys and build the reports once, on this thread (clear errors before any output).
        let reports = try plan.map { p -> ColumnReport in
            var r = ColumnReport(name: p.name, index: p.index, tag: p.tag, action: p.rule.action.rawValue)
            r.rule = p.rule
            let versionsOut = o.mode == .retokenize ? [:] : p.embeddedKeyVersions
            if p.rule.action == .embedded {
                let ep = try EmbeddedProcessor(column: p.name, policy: policy, keyring: keyring, keyVersions: versionsOut)
                r.embeddedKeyVersions = ep.keys.mapValues(\.version)
            }
            if p.rule.action == .tokenize || p.rule.action == .hmac {
                let cp = try ColumnProcessor(column: p.name, rule: p.rule, policy: policy, keyring: keyring,
                                             keyVersion: o.mode == .retokenize ? nil : p.keyVersion)
                r.transform = p.rule.transform?.rawValue
                r.algorithm = cp.algorithm.rawValue
                r.custody = cp.custody.rawValue
                r.keyLabel = cp.key?.label
                r.keyID = cp.key?.id
                r.keyVersion = cp.key?.version
                if o.mode != .tokenize && !cp.isReversible {
                    throw JobError("column '\(p.name)' was transformed with \(p.rule.action.rawValue), which cannot be reversed")
                }
            }
            return r
        }
        // Writer: straight to the output file, or through the sealing stage.
        let sealer: Locked<SealingStage>? = try o.seal.map { so in
            let meta = SealedMetadata(columns: reports.map { r in
                SealedMetadata.Column(name: r.name, tag: r.tag, key: r.keyLabel.map { _ in "in-use/\(r.rule?.domain ?? "")" },
                                      keyVersion: r.keyVersion, keyID: r.keyID)
            }, attributes: ["format": format.rawValue, "producer": "tokengate \(o.mode.rawValue)", "source": summary.input,
                            TokenManifest.attributeKey: String(decoding: try JSONEncoder().encode(
                                TokenManifest(format: format, policyAlgorithm: policy.algorithm.rawValue,
                                              policyCustody: policy.custody.rawValue, columns: reports)), as: UTF8.self)])
            let t0 = monotonicSeconds()
            let w = try SealedWriter(fileDescriptor: output.fd, keyring: keyring, keyName: so.keyName, metadata: meta, frameSize: so.frameSize)
            return Locked(SealingStage(writer: w, setupSeconds: monotonicSeconds() - t0))
        }
        let outputHasher = try SHA256Hasher()
        let sink: CountingSink = sealer == nil ? CountingSink(fd: output.fd, hashing: outputHasher) : CountingSink(buffering: ())
        let writerBox = Locked<any BatchWriter>(try {
            switch format {
            case .csv: return try CSVWriter(sink: sink, options: CSVWriteOptions())
            case .jsonl: return JSONLWriter(sink: sink)
            }
        }())
        let active = plan.filter { $0.rule.action != .keep && $0.rule.action != .drop }
        // The versions each worker uses: those just checked, or (retokenize) the recorded old ones.
        let planned = o.mode == .retokenize ? active : active.map { p -> ColumnPlan in
            var q = p
            q.keyVersion = reports[p.index].keyVersion
            q.embeddedKeyVersions = reports[p.index].embeddedKeyVersions ?? [:]
            return q
        }
        let counters = Mutex<[String: Int]>([:])
        let rejectCounts = Mutex<[String: Int]>([:])
        let stopOnReject = o.stopOnReject, hasRejectsFile = o.rejectsPath != nil
        let mode = o.mode
        let inputName = summary.input
        let firstBox = Locked(first)
        first = nil

        let result = try Pipeline.run(
            workers: max(1, o.workers), queueDepth: 4,
            read: { () throws -> (Unit, Pipeline.Count)? in
                let next: ReadResult?
                if let f = firstBox.with({ v -> ReadResult? in defer { v = nil }; return v }) { next = f } else {
                    next = try readerBox.with { try $0.next() }
                }
                guard let r = next else { return nil }
                let bytes = r.batch.columns.reduce(0) { $0 + $1.bytes.count }
                return (Unit(batch: r.batch, readRejects: r.rejects, valueRejects: []), (rows: r.batch.rowCount + r.rejects.count, bytes: bytes))
            },
            makeWorker: {
                var processors: [String: Processor] = [:]
                for p in planned {
                    if mode == .retokenize {
                        processors[p.name] = p.rule.action == .embedded
                            ? .embeddedRekey(try EmbeddedProcessor(column: p.name, policy: policy, keyring: keyring, keyVersions: p.embeddedKeyVersions),
                                             try EmbeddedProcessor(column: p.name, policy: policy, keyring: keyring))
                            : .rekey(try ColumnProcessor(column: p.name, rule: p.rule, policy: policy, keyring: keyring, keyVersion: p.keyVersion),
                                     try ColumnProcessor(column: p.name, rule: p.rule, policy: policy, keyring: keyring, keyVersion: nil))
                        continue
                    }
                    processors[p.name] = p.rule.action == .embedded
                        ? .embedded(try EmbeddedProcessor(column: p.name, policy: policy, keyring: keyring, keyVersions: p.embeddedKeyVersions))
                        : .column(try ColumnProcessor(column: p.name, rule: p.rule, policy: policy, keyring: keyring, keyVersion: p.keyVersion))
                }
                let box = Locked(processors)
                return { (unit: Unit) in
                    var u = unit
                    try box.with { procs in try transform(&u, procs, mode: mode) }
                    if !dropNames.isEmpty {
                        u.batch = u.batch.removingColumns(Set(u.batch.names.indices.filter { dropNames.contains(u.batch.names[$0]) }))
                    }
                    return (u, (rows: u.batch.rowCount, bytes: 0))
                }
            },
            write: { (u: Unit) throws -> Pipeline.Count in
                for r in u.readRejects {
                    rejectCounts.withLock { $0["read: " + r.reason, default: 0] += 1 }
                    if stopOnReject || !hasRejectsFile {
                        throw JobError("\(inputName): record \(r.record) (line \(r.line)): \(r.reason)" + (hasRejectsFile ? "" : " — pass --rejects FILE to set such records aside"))
                    }
                    try rejects.write(record: r.record, line: r.line, stage: "read", column: nil, reason: r.reason, raw: r.raw, values: nil)
                }
                for v in u.valueRejects {
                    rejectCounts.withLock { $0["column \(v.column): \(v.reason)", default: 0] += 1 }
                    counters.withLock { $0[v.column, default: 0] += 1 }
                    if stopOnReject || !hasRejectsFile {
                        throw JobError("\(inputName): record \(v.record), column '\(v.column)': \(v.reason)" + (hasRejectsFile ? "" : " — pass --rejects FILE to set such records aside"))
                    }
                    try rejects.write(record: v.record, line: nil, stage: mode.rawValue, column: v.column, reason: v.reason, raw: nil, values: v.values)
                }
                try writerBox.with { try $0.write(u.batch) }
                if let sealer {
                    // One batch per frame: flush the encoder, seal what it produced.
                    try writerBox.with { try $0.flush() }
                    try sealer.with { try $0.seal(sink.takeBuffered(), records: u.batch.rowCount) }
                }
                return (rows: u.batch.rowCount, bytes: 0)
            })
        try writerBox.with { try $0.flush() }
        if let sealer {
            try sealer.with { st in
                try st.seal(sink.takeBuffered(), records: 0)
                try st.finish()
            }
        }
        let stats = readerBox.with { $0.stats }
        summary.rowsIn = stats.records
        summary.rowsOut = result.writer.rows
        summary.rowsRejected = stats.rejects + counters.withLock { $0.values.reduce(0, +) }
        summary.bytesIn = stats.bytes
        summary.bytesOut = sink.count
        if o.mode != .retokenize { summary.inputSHA256 = Hex.encode(try inputHasher.finalize()) }
        if sealer == nil && o.output != "-" { summary.outputSHA256 = Hex.encode(try outputHasher.finalize()) }
        if let sealer {
            let st = sealer.with { $0 }
            summary.bytesOut = Int(lseek(output.fd, 0, SEEK_CUR))
            summary.encryptionSeconds = st.seconds
            summary.sealed = st.report
        }
        summary.stages = [result.reader, result.transform, result.writer]
        var cols = reports
        let perColumn = counters.withLock { $0 }
        for i in cols.indices { cols[i].rejected = perColumn[cols[i].name] ?? 0 }
        summary.columns = cols
        summary.rejectReasons = rejectCounts.withLock { $0 }
        summary.rejectsFile = o.rejectsPath
        guard summary.reconciles else {
            throw JobError("internal error: rows do not reconcile (\(summary.rowsIn) in, \(summary.rowsOut) out, \(summary.rowsRejected) rejected); output discarded")
        }
        summary.wallSeconds = monotonicSeconds() - start
        if let so = o.seal, let pct = summary.encryptionOverheadPercent, pct > so.maxOverheadPercent {
            throw JobError(String(format: "encryption overhead %.2f%% exceeds --max-encryption-overhead %.2f%%; output discarded", pct, so.maxOverheadPercent))
        }
        try output.commit()
        committed = true
        if o.mode == .tokenize, let path = o.manifestPath ?? (o.output == "-" ? nil : o.output + ".manifest.json") {
            let m = TokenManifest(format: format, policyAlgorithm: policy.algorithm.rawValue, policyCustody: policy.custody.rawValue, columns: cols)
            let e = JSONEncoder()
            e.outputFormatting = [.prettyPrinted, .sortedKeys]
            try e.encode(m).write(to: URL(fileURLWithPath: path), options: .atomic)
        }
        summary.wallSeconds = monotonicSeconds() - start
        return summary
    }

    // MARK: - Per batch

    struct ValueRejectRow: Sendable {
        var record: Int
        var column: String
        var reason: String
        var values: [String: String]
    }

    struct Unit: Sendable {
        var batch: Batch
        var readRejects: [RowReject]
        var valueRejects: [ValueRejectRow]
    }

    struct ColumnPlan: Sendable {
        var name: String
        var index: Int
        var tag: String?
        var rule: Rule
        var keyVersion: Int?
        var embeddedKeyVersions: [String: Int] = [:]
    }

    enum Processor {
        case column(ColumnProcessor)
        case embedded(EmbeddedProcessor)
        /// Retokenize: invert with the old key version, tokenize with the primary.
        case rekey(ColumnProcessor, ColumnProcessor)
        case embeddedRekey(EmbeddedProcessor, EmbeddedProcessor)

        func run(_ values: ByteColumn, mode: Mode) throws -> (output: ByteColumn, rejects: [ValueReject]) {
            switch self {
            case .column(let p): return try mode == .tokenize ? p.apply(values) : p.invert(values)
            case .embedded(let p): return try p.apply(values, invert: mode == .detokenize)
            case .rekey(let old, let new):
                let (clear, r1) = try old.invert(values)
                let (tokens, r2) = try new.apply(clear)
                return (tokens, (r1 + r2).sorted { $0.index < $1.index })
            case .embeddedRekey(let old, let new):
                let (clear, r1) = try old.apply(values, invert: true)
                let (tokens, r2) = try new.apply(clear, invert: false)
                return (tokens, (r1 + r2).sorted { $0.index < $1.index })
            }
        }
    }

    /// Applies each planned column's processor to the cells that hold a value (present, non-empty,
    /// not JSON null/boolean/object/array); a value the rule cannot take rejects its whole row.
    static func transform(_ u: inout Unit, _ processors: [String: Processor], mode: Mode) throws {
        let rows = u.batch.rowCount
        guard rows > 0 else { return }
        var keep = [Bool](repeating: true, count: rows)
        var reasons: [(row: Int, column: String, reason: String)] = []
        for (ci, name) in u.batch.names.enumerated() {
            guard let proc = processors[name] else { continue }
            let column = u.batch.columns[ci]
            var eligible: [Int] = []
            eligible.reserveCapacity(rows)
            var sub = ByteColumn(reservingValues: rows, bytes: column.bytes.count)
            let kinds = u.batch.kinds(column: ci)  // empty: every cell is plain CSV text
            column.bytes.withUnsafeBytes { all in
                for r in 0..<rows {
                    let range = column.offsets[r]..<column.offsets[r + 1]
                    guard !range.isEmpty else { continue }
                    if !kinds.isEmpty {
                        let kind = CellKind(rawValue: kinds[r]) ?? .text
                        guard kind != .absent, kind != .null, kind != .boolean, kind != .object, kind != .array else { continue }
                    }
                    eligible.append(r)
                    sub.append(bytes: UnsafeRawBufferPointer(rebasing: all[range]))
                }
            }
            guard !eligible.isEmpty else { continue }
            let (out, rejects) = try proc.run(sub, mode: mode)
            var replaced = ByteColumn(reservingValues: rows, bytes: column.bytes.count + 16 * eligible.count)
            var e = 0
            var rejected = Set<Int>()
            for rj in rejects {
                rejected.insert(rj.index)
                keep[eligible[rj.index]] = false
                reasons.append((eligible[rj.index], name, rj.reason))
            }
            column.bytes.withUnsafeBytes { src in
                out.bytes.withUnsafeBytes { tok in
                    for r in 0..<rows {
                        if e < eligible.count && eligible[e] == r {
                            if rejected.contains(e) {
                                replaced.append(bytes: UnsafeRawBufferPointer(rebasing: src[column.offsets[r]..<column.offsets[r + 1]]))
                            } else {
                                replaced.append(bytes: UnsafeRawBufferPointer(rebasing: tok[out.offsets[e]..<out.offsets[e + 1]]))
                            }
                            e += 1
                        } else {
                            replaced.append(bytes: UnsafeRawBufferPointer(rebasing: src[column.offsets[r]..<column.offsets[r + 1]]))
                        }
                    }
                }
            }
            u.batch.replaceColumn(ci, with: replaced)
        }
        guard keep.contains(false) else { return }
        // One reject per row (its first failing column), with the row's original values.
        var seen = Set<Int>()
        for (row, column, reason) in reasons.sorted(by: { $0.row < $1.row }) where !seen.contains(row) {
            seen.insert(row)
            var values: [String: String] = [:]
            for (ci, name) in u.batch.names.enumerated() where u.batch.isPresent(row: row, column: ci) {
                values[name] = u.batch.sourceColumn(ci).string(at: row)
            }
            u.valueRejects.append(ValueRejectRow(record: u.batch.rowNumbers[row], column: column, reason: reason, values: values))
        }
        u.batch.removeRows(keep: keep)
    }

    static func loadManifest(_ o: Options) throws -> TokenManifest {
        guard let path = o.manifestPath ?? (o.input == "-" ? nil : o.input + ".manifest.json") else {
            throw JobError("detokenize needs --manifest FILE (the manifest tokenize wrote) when reading stdin")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw JobError("cannot read manifest '\(path)' (tokenize writes <output>.manifest.json; pass --manifest)")
        }
        do { return try JSONDecoder().decode(TokenManifest.self, from: data) } catch {
            throw JobError("manifest '\(path)' is not a tokengate manifest: \(error)")
        }
    }

    static func planFromManifest(_ m: TokenManifest, names: [String]) throws -> [ColumnPlan] {
        let byName = Dictionary(m.columns.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        return names.enumerated().map { i, name in
            guard let c = byName[name], let rule = c.rule, rule.action == .tokenize || rule.action == .embedded else {
                return ColumnPlan(name: name, index: i, tag: byName[name]?.tag, rule: Rule(action: .keep), keyVersion: nil)
            }
            return ColumnPlan(name: name, index: i, tag: c.tag, rule: rule, keyVersion: c.keyVersion, embeddedKeyVersions: c.embeddedKeyVersions ?? [:])
        }
    }
}

public struct JobError: Error, CustomStringConvertible, Sendable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// A source that hashes what it passes on.
struct HashingSource<Inner: ByteSource>: ByteSource {
    private var inner: Inner
    private let hasher: SHA256Hasher
    init(_ inner: Inner, into hasher: SHA256Hasher) {
        self.inner = inner
        self.hasher = hasher
    }
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = try inner.read(into: buffer)
        if n > 0 { try hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n])) }
        return n
    }
}

/// The plaintext of a sealed dataset, frame after frame (each authenticated before it is read).
final class SealedFrameSource: ByteSource {
    private let reader: SealedReader
    private var next = 0
    private var pending: [UInt8] = []
    private var offset = 0

    init(_ reader: SealedReader) { self.reader = reader }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while offset == pending.count {
            guard next < reader.frameCount else { return 0 }
            pending = try reader.frame(at: next).plaintext
            offset = 0
            next += 1
        }
        let n = min(buffer.count, pending.count - offset)
        pending.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: n) }
        offset += n
        return n
    }
}

/// A value shared between pipeline threads that only one thread uses at a time.
final class Locked<T>: @unchecked Sendable {
    // @unchecked: every access goes through `lock`.
    private let lock = NSLock()
    private var value: T
    init(_ v: T) { value = v }
    func with<R>(_ body: (inout T) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

/// Counts what the writer emitted; passes it to a file descriptor, or buffers it for sealing.
final class CountingSink: ByteSink, @unchecked Sendable {
    // @unchecked: used by the writer thread only.
    private var inner: FileDescriptorSink?
    private var hasher: SHA256Hasher?
    private var buffered: [UInt8] = []
    private(set) var count = 0
    init(fd: Int32, hashing: SHA256Hasher? = nil) {
        inner = FileDescriptorSink(fileDescriptor: fd)
        hasher = hashing
    }
    init(buffering: Void) { inner = nil }
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        if inner != nil { try inner!.write(bytes) } else { buffered.append(contentsOf: bytes) }
        try hasher?.update(bytes)
        count += bytes.count
    }
    /// The bytes buffered since the last call (sealing mode).
    func takeBuffered() -> [UInt8] {
        defer { buffered.removeAll(keepingCapacity: true) }
        return buffered
    }
}

/// The sealing stage of `tokenize --seal`: frames of encoded batches. Its encryption cost is the
/// data-key set-up (HSM wrap, HKDF, header) plus the AES-GCM time of the frames and index; the
/// file writes are not counted (a plaintext output makes the same writes).
final class SealingStage: @unchecked Sendable {
    // @unchecked: used by the writer thread only (through a lock).
    let writer: SealedWriter
    private let setupSeconds: Double
    private var frames = 0

    init(writer: SealedWriter, setupSeconds: Double) {
        self.writer = writer
        self.setupSeconds = setupSeconds
    }

    var seconds: Double { setupSeconds + writer.encryptionSeconds }

    func seal(_ bytes: [UInt8], records: Int) throws {
        guard !bytes.isEmpty || records > 0 else { return }
        try writer.write(bytes, records: records)
    }

    func finish() throws {
        frames = try writer.finish().frames
    }

    var report: SealReport {
        SealReport(fileID: Hex.encode(writer.header.fileID), keyLabel: writer.header.envelope.ref.label(version: writer.header.envelope.keyVersion),
                   keyID: Hex.encode(writer.header.envelope.keyID), frames: frames, frameSize: writer.frameSize)
    }
}

/// The output: stdout, or a temporary file in the target's folder renamed over the target on commit.
final class OutputFile: @unchecked Sendable {
    // @unchecked: created and committed on one thread; the fd is written by the writer only.
    /// nil for stdout.
    private let file: TemporaryOutput?
    var fd: Int32 { file?.fd ?? 1 }

    init(path: String) throws {
        file = path == "-" ? nil : try TemporaryOutput(path: path)
    }

    func commit() throws { try file?.commit() }

    func discard() { file?.discard() }
}

/// Rejected records as JSON Lines: record, line, stage, column, reason, and the record itself
/// (`raw` text, `raw_base64` when not UTF-8, or `values` by column) so nothing is lost. Created
/// with mode 600: it holds clear values.
final class RejectsFile: @unchecked Sendable {
    // @unchecked: written by the writer thread only.
    private let handle: FileHandle?

    init(path: String?) throws {
        guard let path else { handle = nil; return }
        let fd: Int32
        do { fd = try FileDescriptor.open(path, [.writeOnly, .create, .truncate], mode: 0o600).release() } catch {
            throw JobError("rejects file: \(error)")
        }
        handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }

    func write(record: Int, line: Int?, stage: String, column: String?, reason: String, raw: [UInt8]?, values: [String: String]?) throws {
        guard let handle else { return }
        var obj: [String: Any] = ["record": record, "stage": stage, "reason": reason]
        if let line { obj["line"] = line }
        if let column { obj["column"] = column }
        if let raw {
            if let s = String(validating: raw, as: UTF8.self) { obj["raw"] = s } else { obj["raw_base64"] = Data(raw).base64EncodedString() }
        }
        if let values { obj["values"] = values }
        var data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .withoutEscapingSlashes])
        data.append(0x0A)
        try handle.write(contentsOf: data)
    }

    func close() { try? handle?.close() }
}
