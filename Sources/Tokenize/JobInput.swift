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

    /// A sealed input decrypted in memory for the run (a PME file; retokenize: a sealed Parquet
    /// dataset), with the envelopes unwrapped and the sealed file's digest.
    let decrypted: DecryptedInput?

    /// What the input is, once opened: a Parquet file (decrypted in memory, or read as it is) or
    /// a byte stream of CSV or JSON Lines.
    private enum Opened {
        case parquet(ParquetBatchReader, decrypted: DecryptedInput?, manifest: TokenManifest?)
        case stream(any ByteSource, format: DataFormat, manifest: TokenManifest?, file: FileDescriptor?)
    }

    init(_ o: TokenizeJob.Options, keyring: Keyring) throws {
        let hasher = try SHA256Hasher()
        self.hasher = hasher
        parquetDigest = nil
        switch try Self.open(o, keyring: keyring, hasher: hasher) {
        case .parquet(let r, let d, let m):
            manifest = m
            parquet = r
            reader = r
            decrypted = d
            format = .parquet
            file = nil
        case .stream(let input, let f, let m, let inFile):
            manifest = m
            parquet = nil
            decrypted = nil
            reader =
                switch f {
                case .csv:
                    try CSVReader(
                        source: input,
                        options: CSVReadOptions(
                            delimiter: o.delimiter, hasHeader: o.hasHeader, batchRows: o.batchRows, sourceName: o.input == "-" ? "stdin" : o.input))
                case .jsonl: try JSONLReader(source: input, options: JSONLReadOptions(batchRows: o.batchRows))
                case .parquet: throw JobError(.inputInvalid, "unreachable: a sealed Parquet dataset is read above")
                }
            format = f
            file = inFile
        }
    }

    private static func open(_ o: TokenizeJob.Options, keyring: Keyring, hasher: SHA256Hasher) throws -> Opened {
        if o.mode == .retokenize {
            guard o.seal != nil else { throw JobError(.optionsInvalid, "retokenize writes a sealed dataset: give the seal options") }
            if o.input != "-", Sealing.parquetMagic(path: o.input).encrypted {
                // A PME file: decrypted in memory; its manifest is the one tokenize wrote beside it.
                let d = try Self.decrypt(o.input) { try Sealing.decryptParquetInMemory(path: o.input, keyring: keyring, aadPrefix: o.aadPrefix) }
                // (Its format is the tokenize run's input, CSV or JSON Lines too; the file is Parquet.)
                let manifest = try JobPlan.loadManifest(o)
                return .parquet(try Self.reader(decrypted: d, name: o.input, batchRows: o.batchRows), decrypted: d, manifest: manifest)
            }
            let sealed = try SealedReader(path: o.input, keyring: keyring)
            guard let m = sealed.header.metadata.attributes[TokenManifest.attributeKey],
                let manifest = try? JSONDecoder().decode(TokenManifest.self, from: Data(m.utf8))
            else {
                throw JobError(.manifestMissing, "\(o.input) carries no tokengate manifest (it was not written by `tokenize --seal`)")
            }
            if manifest.format == .parquet {
                // The frames hold a Parquet file (its footer at the end): decrypted in memory.
                let d = try Self.decrypt(o.input) { try Sealing.openFramesInMemory(reader: sealed) }
                return .parquet(try Self.reader(decrypted: d, name: o.input, batchRows: o.batchRows), decrypted: d, manifest: manifest)
            }
            return .stream(SealedFrameSource(sealed), format: manifest.format, manifest: manifest, file: nil)
        }
        if JobPlan.declaredFormat(o) == .parquet || DataFormat.isParquet(path: o.input, format: o.format) {
            if o.input != "-", Sealing.parquetMagic(path: o.input).encrypted {
                // A PME input: decrypted in memory under the same unwraps (and authorization) as
                // `open`; detokenize does not take one (its output would be clear values of a file
                // that was sealed: `open` it first, on purpose).
                guard o.mode == .tokenize else {
                    throw JobError(
                        .inputInvalid,
                        "\(o.input) is encrypted (Parquet Modular Encryption): \(o.mode.rawValue) does not read PME input — `tokengate open` it first")
                }
                let d = try Self.decrypt(o.input) { try Sealing.decryptParquetInMemory(path: o.input, keyring: keyring, aadPrefix: o.aadPrefix) }
                return .parquet(try Self.reader(decrypted: d, name: o.input, batchRows: o.batchRows), decrypted: d, manifest: nil)
            }
            return .parquet(ParquetBatchReader(file: try DataFormat.openParquet(path: o.input), batchRows: o.batchRows), decrypted: nil, manifest: nil)
        }
        let f: FileDescriptor
        do { f = o.input == "-" ? .standardInput : try FileDescriptor.open(o.input, .readOnly) } catch {
            throw JobError(.inputUnreadable, "input: \(error)")
        }
        if o.input != "-", Sealing.isEncryptedParquet(file: f, path: o.input) {
            throw JobError(
                .inputInvalid,
                "\(o.input) is encrypted Parquet (Parquet Modular Encryption): it cannot be read as \(JobPlan.declaredFormat(o)?.rawValue ?? "text")")
        }
        var source = FileDescriptorSource(fileDescriptor: f.rawValue)
        var head: [UInt8] = []
        let format: DataFormat
        if let f = JobPlan.declaredFormat(o) {
            format = f
        } else {
            // stdin (or a file without a known extension): look at the first line.
            head = try SniffedFormat.readHead(&source)
            try DataFormat.refuseParquetStream(head, name: o.input == "-" ? "stdin" : o.input)
            format = SniffedFormat.sniff(head[...]) == .jsonl ? .jsonl : .csv
        }
        return .stream(HashingSource(PrefixedSource(prefix: head, then: source), into: hasher), format: format, manifest: nil, file: f)
    }

    /// The reader of a Parquet input decrypted in memory.
    private static func reader(decrypted d: DecryptedInput, name: String, batchRows: Int) throws -> ParquetBatchReader {
        do { return ParquetBatchReader(file: try d.parquetFile(name: name), batchRows: batchRows) } catch let e as ParquetError {
            throw JobError(.inputInvalid, "\(name) (decrypted): \(e.reason)")
        }
    }

    /// Decrypts a sealed input, fail closed: a data key this keyring cannot unwrap refuses the run
    /// by name (`encryptedInputRefused`), a module or frame that does not authenticate is invalid
    /// input — never read as anything else.
    static func decrypt(_ path: String, _ body: () throws -> DecryptedInput) throws -> DecryptedInput {
        do { return try body() } catch let e as SealingError {
            switch e.code {
            case .keyUnavailable, .keyVersionUnavailable, .unwrapFailed, .envelopeInvalid:
                throw JobError(
                    .encryptedInputRefused,
                    "\(path) is sealed: reading it needs an authorized open of its data keys (the at-rest token, as `tokengate open`), refused: \(e.reason)")
            case .io: throw JobError(.inputUnreadable, "\(path): \(e.reason)")
            default: throw JobError(.inputInvalid, "\(path): \(e.code.rawValue): \(e.reason)")
            }
        } catch let e as JobError { throw e } catch {
            throw JobError(
                .encryptedInputRefused, "\(path) is sealed: reading it needs an authorized open of its data keys (the at-rest token), refused: \(error)")
        }
    }

    /// The next batch and its read rejects, or nil at the end.
    func next() throws -> ReadResult? { try reader.next() }

    /// What the reader saw so far.
    var stats: ReadStats { reader.stats }

    /// The input's size in bytes: the sealed file's, the Parquet file's, or what was read.
    var bytesIn: Int { decrypted?.input.bytes ?? parquet?.file.size ?? stats.bytes }

    /// SHA-256 of the bytes read (file or stdin input; call once, at the end).
    func digest() throws -> [UInt8] {
        // A sealed input: the digest of the file on disk, computed as it was decrypted.
        if let d = decrypted { return d.input.sha256 }
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
