import Crypto
import Formats
import Foundation
public import Keyring
import Parquet
import Pipeline
import Sealing
import SystemIO

/// The output: stdout, or a temporary file in the target's folder renamed over the target on
/// commit. Made, committed or discarded on the calling thread; the writer stage only gets ``fd``.
final class OutputFile {
    /// nil for stdout.
    private let file: TemporaryOutput?
    var fd: Int32 { file?.fd ?? 1 }

    init(path: String, mode: UInt32 = 0o600) throws {
        file = path == "-" ? nil : try TemporaryOutput(path: path, mode: mode)
    }

    func commit() throws { try file?.commit() }

    func discard() { file?.discard() }
}

/// The rejects file, created (mode 600: it holds clear values) on the calling thread before the
/// run so a bad path fails it at once, and closed there after it; the writer stage writes it
/// through a ``RejectsWriter``.
final class RejectsFile {
    private let file: FileDescriptor?
    var fd: Int32? { file?.rawValue }

    init(path: String?) throws {
        guard let path else {
            file = nil
            return
        }
        do {
            let f = try FileDescriptor.open(path, [.writeOnly, .create, .truncate], mode: 0o600)
            // It holds clear values: 0600 even when the file existed with a wider mode.
            try f.setMode(0o600)
            file = f
        } catch {
            throw JobError(.rejectsUnwritable, "rejects file: \(error)")
        }
    }

    func close() {
        try? file?.close()
    }
}

/// The writer stage: made on the writer thread by the pipeline's writer factory, it sets aside
/// rejected records, encodes the batches (CSV or JSON Lines) and writes them to the output, or
/// (`--seal`) seals them one frame per batch.
struct JobWriter: PipelineWriter {
    /// What the writer needs, made on the calling thread.
    struct Config: Sendable {
        var format: DataFormat
        /// The output descriptor (owned by the caller's ``OutputFile``).
        var fd: Int32
        /// Hash the plaintext output (a file output that is not sealed).
        var hashOutput: Bool
        var seal: Seal?
        var keyring: Keyring
        /// The rejects file's descriptor (owned by the caller's ``RejectsFile``); nil: none.
        var rejectsFD: Int32?
        var stopOnReject: Bool
        var mode: TokenizeJob.Mode
        /// The input's name in messages.
        var inputName: String
        /// A fault the tests inject (``JobFault``).
        var fault: JobFault? = nil
        /// Parquet output: the source file whose untouched column chunks are copied, the columns
        /// re-encoded from the batches, and those dropped.
        var parquet: ParquetOutput? = nil
        /// A CSV or JSON Lines input written as a new Parquet file (`--out x.parquet`).
        var parquetTable = false
        /// The output is a file: its write-back is paced (``WritebackPacer``) so the commit's
        /// fsync finds little left.
        var pacesWriteback = false
        /// `--seal` with a Parquet output: Parquet Modular Encryption with these data keys (drawn
        /// and wrapped on the calling thread), and the time that took.
        var pme: ParquetSealKeys? = nil
        var pmeSetupSeconds = 0.0

        struct ParquetOutput: Sendable {
            var source: ParquetFile
            var reencode: Set<String>
            var drop: Set<String>
            /// Leading bytes the output shares with the input (``ParquetCopyWriter/sharedPrefix(source:reencode:drop:)``).
            var sharedPrefix = 0
            /// The input's digest, whose state after ``sharedPrefix`` bytes starts the output's.
            var inputDigest: BackgroundDigest? = nil
        }

        struct Seal: Sendable {
            var keyName: String
            var frameSize: Int
            var metadata: SealedMetadata
        }
    }

    /// What the run summary needs from the writer.
    struct Output: Sendable {
        var bytesOut: Int
        var outputSHA256: [UInt8]?
        var sealed: Sealed?
        /// Reject reasons and how often each occurred.
        var rejectReasons: [String: Int]
        /// Rows rejected per column.
        var rejectedPerColumn: [String: Int]

        struct Sealed: Sendable {
            var seconds: Double
            var report: SealReport
        }
    }

    private let config: Config
    private var writer: any BatchWriter
    private let parquet: ParquetCopyWriter?
    private let table: ParquetTableWriter?
    /// A Parquet copy's output digest.
    private let outputDigest: OutputDigest?
    private let sink: CountingSink
    private let hasher: SHA256Hasher?
    private let sealer: SealingStage?
    private let rejects: RejectsWriter
    private var rejectReasons: [String: Int] = [:]
    private var rejectedPerColumn: [String: Int] = [:]
    private var pacer = WritebackPacer()

    /// - Parameter sealer: with `--seal`, the sealing stage made on the calling thread by
    ///   ``SealingStage/make(_:fd:keyring:)`` before the pipeline starts.
    init(_ c: Config, sealer: consuming SealingStage?) throws {
        config = c
        self.sealer = sealer
        hasher = sealer == nil && c.hashOutput ? try SHA256Hasher() : nil
        let sink = sealer == nil ? CountingSink(fd: c.fd, hashing: hasher) : CountingSink(buffering: ())
        self.sink = sink
        // A Parquet output is hashed on the way, copied chunks included.
        let observer: ((UnsafeRawBufferPointer) throws -> Void)? = hasher.map { h in { try h.update($0) } }
        if let p = c.parquet {
            // The bytes the output shares with the input are hashed once, by the input's digest:
            // the output's starts from its state there.
            let prefixed = c.hashOutput && sealer == nil && c.pme == nil && p.inputDigest != nil && p.sharedPrefix > 0
            let box = OutputDigest(prefixed ? p.inputDigest : nil, fallback: hasher)
            outputDigest = box
            do {
                // Sealed: the Parquet bytes are buffered and sealed as each row group completes.
                parquet = try ParquetCopyWriter(
                    source: p.source, output: sealer == nil ? FileDescriptor(borrowing: c.fd, label: "the output") : nil, reencode: p.reencode,
                    drop: p.drop, observer: hasher == nil ? nil : { try box.update($0) }, observeFrom: prefixed ? p.sharedPrefix : 0,
                    encryption: c.pme?.encryption)
            } catch let e as ParquetError { throw JobError(.outputUnsupported, e.reason) }
        } else {
            parquet = nil
            outputDigest = nil
        }
        table =
            c.parquetTable
            ? try ParquetTableWriter(output: FileDescriptor(borrowing: c.fd, label: "the output"), observer: observer, encryption: c.pme?.encryption)
            : nil
        writer =
            switch c.format {
            case .csv, .parquet: try CSVWriter(sink: sink, options: CSVWriteOptions())
            case .jsonl: JSONLWriter(sink: sink)
            }
        rejects = RejectsWriter(fd: c.rejectsFD)
    }

    mutating func write(_ u: JobUnit) throws -> Pipeline.Count {
        if let parquet {
            // A Parquet output copies the untouched columns of every row group whole: a record
            // cannot be set aside, so a rejected one stops the run (naming it) before the footer.
            if let v = u.valueRejects.first {
                throw JobError(
                    .recordRejected,
                    "\(config.inputName): record \(v.record), column '\(v.column)': \(v.reason) — a Parquet output keeps every row (its untouched columns are copied as they are), so the run stops; the output is discarded"
                )
            }
            let before = parquet.rowsWritten
            do { try parquet.write(u.batch) } catch let e as ParquetError { throw JobError(.recordRejected, "\(config.inputName): \(e.reason)") }
            // A sealed Parquet output: each completed row group goes into the sealed stream with its records.
            try sealer?.seal(parquet.takeBuffered(), records: parquet.rowsWritten - before)
            try pace()
            return (rows: u.batch.rowCount, bytes: 0)
        }
        let hasRejectsFile = config.rejectsFD != nil
        for r in u.readRejects {
            rejectReasons["read: " + r.reason, default: 0] += 1
            if config.stopOnReject || !hasRejectsFile {
                throw JobError(
                    .recordRejected,
                    "\(config.inputName): record \(r.record) (line \(r.line)): \(r.reason)"
                        + (hasRejectsFile ? "" : " — pass --rejects FILE to set such records aside"))
            }
            try rejects.write(record: r.record, line: r.line, stage: "read", column: nil, reason: r.reason, raw: r.raw, values: nil)
        }
        for v in u.valueRejects {
            rejectReasons["column \(v.column): \(v.reason)", default: 0] += 1
            rejectedPerColumn[v.column, default: 0] += 1
            if config.stopOnReject || !hasRejectsFile {
                throw JobError(
                    .recordRejected,
                    "\(config.inputName): record \(v.record), column '\(v.column)': \(v.reason)"
                        + (hasRejectsFile ? "" : " — pass --rejects FILE to set such records aside"))
            }
            try rejects.write(record: v.record, line: nil, stage: config.mode.rawValue, column: v.column, reason: v.reason, raw: nil, values: v.values)
        }
        if let table {
            do { try table.write(u.batch) } catch let e as ParquetError {
                throw JobError(e.code == .io ? .recordRejected : .outputUnsupported, "\(config.inputName): \(e.reason)")
            }
        } else {
            try writer.write(u.batch)
        }
        if let sealer {
            // One batch per frame: flush the encoder, seal what it produced.
            try writer.flush()
            try sealer.seal(sink.takeBuffered(), records: u.batch.rowCount)
        }
        try pace()
        switch config.fault {
        case .writerLosesARow: return (rows: max(0, u.batch.rowCount - 1), bytes: 0)
        case .writerDuplicatesARow: return (rows: u.batch.rowCount + 1, bytes: 0)
        case nil: return (rows: u.batch.rowCount, bytes: 0)
        }
    }

    /// Paces the output file's write-back by its size so far.
    private mutating func pace() throws {
        guard config.pacesWriteback else { return }
        let file = FileDescriptor(borrowing: config.fd, label: "the output")
        try pacer.wrote(upTo: try file.size(), on: file)
    }

    mutating func finish() throws -> Output {
        if let parquet, let sealer {
            do { try parquet.finish() } catch let e as ParquetError { throw JobError(.recordRejected, "\(config.inputName): \(e.reason)") }
            try sealer.seal(parquet.takeBuffered(), records: 0)
            try sealer.finish()
            return Output(
                bytesOut: sink.count, outputSHA256: nil, sealed: Output.Sealed(seconds: sealer.seconds, report: sealer.report),
                rejectReasons: rejectReasons, rejectedPerColumn: rejectedPerColumn)
        }
        if parquet != nil || table != nil {
            do {
                try parquet?.finish()
                try table?.finish()
            } catch let e as ParquetError { throw JobError(.recordRejected, "\(config.inputName): \(e.reason)") }
            let size = Int(lseek(config.fd, 0, SEEK_CUR))
            // A PME output: its footer key's envelope, row groups, and the encryption time.
            let sealed = try config.pme.map { k in
                Output.Sealed(
                    seconds: config.pmeSetupSeconds + (parquet?.encryptionSeconds ?? table?.encryptionSeconds ?? 0),
                    report: SealReport(
                        fileID: Hex.encode(k.encryption.fileUnique), keyLabel: k.envelopes[0].ref.label(version: k.envelopes[0].keyVersion),
                        keyID: Hex.encode(k.envelopes[0].keyID), frames: parquet?.rowGroupsWritten ?? table?.rowGroupsWritten ?? 0, frameSize: 0,
                        dataKeys: try k.envelopes.enumerated().map { i, w in
                            try DataKeyReport(
                                role: i == 0 ? "footer" : "column", columns: i == 0 ? nil : k.encryption.columnKeys.keys.sorted(), envelope: w)
                        }))
            }
            return Output(
                bytesOut: size, outputSHA256: try outputDigest?.finalize() ?? hasher?.finalize(), sealed: sealed,
                rejectReasons: rejectReasons, rejectedPerColumn: rejectedPerColumn)
        }
        try writer.flush()
        var sealed: Output.Sealed?
        if let sealer {
            try sealer.seal(sink.takeBuffered(), records: 0)
            try sealer.finish()
            sealed = Output.Sealed(seconds: sealer.seconds, report: sealer.report)
        }
        return Output(
            bytesOut: sink.count, outputSHA256: try hasher?.finalize(), sealed: sealed,
            rejectReasons: rejectReasons, rejectedPerColumn: rejectedPerColumn)
    }
}

/// The digest of a Parquet copy's output: from the input digest's state after the shared prefix
/// (fetched when the first byte past it is written), or a plain hasher over every byte.
final class OutputDigest {
    private let input: BackgroundDigest?
    private var hasher: SHA256Hasher?

    init(_ input: BackgroundDigest?, fallback: SHA256Hasher?) {
        self.input = input
        hasher = input == nil ? fallback : nil
    }

    func update(_ bytes: UnsafeRawBufferPointer) throws {
        if hasher == nil { hasher = try input?.prefix() }
        try hasher?.update(bytes)
    }

    func finalize() throws -> [UInt8]? {
        if hasher == nil { hasher = try input?.prefix() }
        return try hasher?.finalize()
    }
}

/// Counts what the writer emitted; passes it to a file descriptor, or buffers it for sealing.
final class CountingSink: ByteSink {
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
final class SealingStage {
    let writer: SealedWriter
    private let setupSeconds: Double
    private var frames = 0

    init(writer: SealedWriter, setupSeconds: Double) {
        self.writer = writer
        self.setupSeconds = setupSeconds
    }

    /// Creates the sealed writer — data key from the HSM, header written — on the calling thread
    /// before the pipeline starts, so its set-up time is measured while nothing else competes for
    /// the cores (on the writer thread it ran beside the reader and the workers, and the bound on
    /// the encryption overhead tripped on small inputs for scheduling, not encryption).
    static func make(_ s: JobWriter.Config.Seal, fd: Int32, keyring: Keyring) throws -> SealingStage {
        let t0 = monotonicSeconds()
        let w = try SealedWriter(fileDescriptor: fd, keyring: keyring, keyName: s.keyName, metadata: s.metadata, frameSize: s.frameSize)
        return SealingStage(writer: w, setupSeconds: monotonicSeconds() - t0)
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
        SealReport(
            fileID: Hex.encode(writer.header.fileID), keyLabel: writer.header.envelope.ref.label(version: writer.header.envelope.keyVersion),
            keyID: Hex.encode(writer.header.envelope.keyID), frames: frames, frameSize: writer.frameSize,
            dataKeys: (try? DataKeyReport(role: "file", envelope: writer.header.envelope)).map { [$0] })
    }
}

extension DataKeyReport {
    /// A data key named by its envelope: the wrapping at-rest key version and the envelope's SHA-256.
    public init(role: String, columns: [String]? = nil, envelope w: WrappedDataKey) throws {
        self.init(
            role: role, columns: columns, keyLabel: w.ref.label(version: w.keyVersion), keyID: Hex.encode(w.keyID), keyVersion: w.keyVersion,
            envelopeSHA256: Hex.encode(try SHA256.hash(w.serialized)))
    }
}

/// Rejected records as JSON Lines: record, line, stage, column, reason, and the record itself
/// (`raw` text, `raw_base64` when not UTF-8, or `values` by column) so nothing is lost. Writes to
/// the descriptor of the caller's ``RejectsFile`` (does not close it).
struct RejectsWriter {
    private let handle: FileHandle?

    init(fd: Int32?) {
        handle = fd.map { FileHandle(fileDescriptor: $0, closeOnDealloc: false) }
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
}

/// Faults the tests inject into a run to prove that its own checks fire (rows in = rows out +
/// rows rejected). Never set outside this package.
package enum JobFault: Sendable {
    /// The writer reports one row fewer per batch than it received.
    case writerLosesARow
    /// The writer reports one row more per batch than it received.
    case writerDuplicatesARow
}
