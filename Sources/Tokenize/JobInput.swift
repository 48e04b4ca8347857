import Crypto
import Formats
import Foundation
import Keyring
import Parquet
import Sealing
import Synchronization
import SystemIO

/// The input stage of a run, on the calling thread: a file or stdin (its format sniffed when
/// nothing declares it), or (retokenize) the frames of a sealed dataset; the bytes read are
/// hashed on the way (SHA-256 for the audit record) instead of reading the file twice, and
/// decoded into batches by the format's reader.
final class JobInput {
    let format: DataFormat
    /// retokenize: the manifest recorded in the sealed dataset.
    let manifest: TokenManifest?
    private var reader: any BatchReader
    private let hasher: SHA256Hasher
    /// Parquet input: the reader (its file, and which columns it still decodes).
    let parquet: ParquetBatchReader?
    /// Parquet input: the file's digest, computed beside the run (the run reads only some of it),
    /// started by ``startDigest(snapshotAt:)`` once the plan knows the output's shared prefix.
    private(set) var parquetDigest: BackgroundDigest?
    /// The input file, closed on release (stdin is borrowed; nil for a sealed dataset).
    private let file: FileDescriptor?

    init(_ o: TokenizeJob.Options, keyring: Keyring) throws {
        let hasher = try SHA256Hasher()
        let input: any ByteSource
        var format: DataFormat
        var inFile: FileDescriptor?
        if o.mode == .retokenize {
            guard o.seal != nil else { throw JobError(.optionsInvalid, "retokenize writes a sealed dataset: give the seal options") }
            let reader = try SealedReader(path: o.input, keyring: keyring)
            guard let m = reader.header.metadata.attributes[TokenManifest.attributeKey],
                let manifest = try? JSONDecoder().decode(TokenManifest.self, from: Data(m.utf8))
            else {
                throw JobError(.manifestMissing, "\(o.input) carries no tokengate manifest (it was not written by `tokenize --seal`)")
            }
            self.manifest = manifest
            format = manifest.format
            input = SealedFrameSource(reader)
        } else if o.mode != .retokenize, JobPlan.declaredFormat(o) == .parquet || DataFormat.isParquet(path: o.input, format: o.format) {
            manifest = nil
            let r = ParquetBatchReader(file: try DataFormat.openParquet(path: o.input), batchRows: o.batchRows)
            parquet = r
            reader = r
            parquetDigest = nil
            self.format = .parquet
            self.hasher = hasher
            self.file = nil
            return
        } else {
            manifest = nil
            let f: FileDescriptor
            do { f = o.input == "-" ? .standardInput : try FileDescriptor.open(o.input, .readOnly) } catch {
                throw JobError(.inputUnreadable, "input: \(error)")
            }
            inFile = f
            var source = FileDescriptorSource(fileDescriptor: f.rawValue)
            var head: [UInt8] = []
            if let f = JobPlan.declaredFormat(o) {
                format = f
            } else {
                // stdin (or a file without a known extension): look at the first line.
                head = try SniffedFormat.readHead(&source)
                format = SniffedFormat.sniff(head[...]) == .jsonl ? .jsonl : .csv
            }
            input = HashingSource(PrefixedSource(prefix: head, then: source), into: hasher)
        }
        parquet = nil
        parquetDigest = nil
        reader =
            switch format {
            case .csv:
                try CSVReader(
                    source: input,
                    options: CSVReadOptions(
                        delimiter: o.delimiter, hasHeader: o.hasHeader, batchRows: o.batchRows, sourceName: o.input == "-" ? "stdin" : o.input))
            case .jsonl: try JSONLReader(source: input, options: JSONLReadOptions(batchRows: o.batchRows))
            case .parquet: throw JobError(.optionsInvalid, "a sealed Parquet dataset cannot be retokenized yet")
            }
        self.format = format
        self.hasher = hasher
        file = inFile
    }

    /// The next batch and its read rejects, or nil at the end.
    func next() throws -> ReadResult? { try reader.next() }

    /// What the reader saw so far.
    var stats: ReadStats { reader.stats }

    /// SHA-256 of the bytes read (file or stdin input; call once, at the end).
    func digest() throws -> [UInt8] {
        if let p = parquet {
            return try (parquetDigest ?? startDigest(p, snapshotAt: nil)).wait()
        }
        return try hasher.finalize()
    }

    /// Parquet input: starts hashing the file on its own thread, keeping the state after
    /// `snapshotAt` bytes (the output's shared prefix).
    @discardableResult
    func startDigest(_ p: ParquetBatchReader, snapshotAt: Int?) -> BackgroundDigest {
        let d = BackgroundDigest(p.file.file, snapshotAt: snapshotAt)
        parquetDigest = d
        return d
    }
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

/// SHA-256 of a whole file, computed on a thread of its own while the run goes on (a Parquet run
/// reads only the chunks it decodes; the audit record still names the input's digest). With
/// `snapshotAt`, the state after that many bytes is kept too (``prefix()``): a Parquet output
/// that starts with the same bytes as its input continues from it instead of hashing them again.
final class BackgroundDigest: Sendable {
    private final class State: Sendable {
        let result = Mutex<Result<[UInt8], any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let prefix = Mutex<Result<SHA256Box, any Error>?>(nil)
        let prefixDone = DispatchSemaphore(value: 0)
    }
    /// A hasher handed from the digest thread to the writer thread once (then used by it alone).
    final class SHA256Box: @unchecked Sendable {
        let hasher: SHA256Hasher
        init(_ h: SHA256Hasher) { hasher = h }
    }
    private let state = State()

    init(_ file: FileDescriptor, snapshotAt: Int? = nil) {
        let state = self.state
        let thread = Thread {
            var snapshotTaken = snapshotAt == nil
            let r = Result<[UInt8], any Error> {
                let h = try SHA256Hasher()
                var buffer = [UInt8](repeating: 0, count: 4 << 20)
                var offset = 0
                while true {
                    // Stop a read at the snapshot's offset, so the state there can be copied.
                    let want = !snapshotTaken ? min(buffer.count, snapshotAt! - offset) : buffer.count
                    if !snapshotTaken && want == 0 {
                        state.prefix.withLock { $0 = Result { SHA256Box(try h.copy()) } }
                        snapshotTaken = true
                        state.prefixDone.signal()
                        continue
                    }
                    let n = try buffer.withUnsafeMutableBytes { try file.read(at: offset, into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<want])) }
                    if n == 0 { break }
                    try buffer.withUnsafeBytes { try h.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                    offset += n
                }
                return try h.finalize()
            }
            if !snapshotTaken {
                state.prefix.withLock { $0 = .failure(r.error ?? JobError(.inputUnreadable, "the input ended before its shared prefix")) }
                state.prefixDone.signal()
            }
            state.result.withLock { $0 = r }
            state.done.signal()
        }
        thread.start()
    }

    /// Waits for the digest.
    func wait() throws -> [UInt8] {
        state.done.wait()
        state.done.signal()
        return try state.result.withLock { $0! }.get()
    }

    /// Waits for the state after the first `snapshotAt` bytes: a hasher of its own.
    func prefix() throws -> SHA256Hasher {
        state.prefixDone.wait()
        state.prefixDone.signal()
        return try state.prefix.withLock { $0! }.get().hasher
    }
}

extension Result {
    fileprivate var error: Failure? {
        if case .failure(let e) = self { return e }
        return nil
    }
}
