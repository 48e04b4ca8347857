import Crypto
import Formats
import Foundation
import Keyring
import Sealing
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
        reader =
            switch format {
            case .csv:
                try CSVReader(
                    source: input,
                    options: CSVReadOptions(
                        delimiter: o.delimiter, hasHeader: o.hasHeader, batchRows: o.batchRows, sourceName: o.input == "-" ? "stdin" : o.input))
            case .jsonl: try JSONLReader(source: input, options: JSONLReadOptions(batchRows: o.batchRows))
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
    func digest() throws -> [UInt8] { try hasher.finalize() }
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
