import Columns
import Crypto
import Formats
import Foundation
public import Keyring
import Pipeline
import SystemIO

/// `tokenize --pipe` / `detokenize --pipe`: a long-lived subprocess (one per Spark partition
/// task) that reads length-prefixed CSV batches from stdin and writes each batch's result to
/// stdout as soon as it is done, in order, one output row per input row, before it reads the
/// next batch (docs/spark.md, "Pipe framing").
///
/// Framing, both directions: an ASCII decimal byte count, LF, then exactly that many bytes of
/// CSV (UTF-8, `,`, header row first). A count of 0 ends the stream; the process then exits 0.
/// A stream that ends anywhere else (EOF without the end frame, or inside a frame) fails the run:
/// nothing a caller did not see written is ever reported as done.
///
/// Tagging is off: a tokenize pipe refuses a column the policy does not name (every partition
/// must decide the same way), and the residual output scan stays on. Any rejected record fails
/// the run with its row and column named (a partition's output must have every input row).
public enum PipeJob {
    public struct Options: Sendable {
        /// tokenize or detokenize.
        public var mode: TokenizeJob.Mode = .tokenize
        /// Rows per batch inside one frame (a frame may hold more).
        public var batchRows = 8192
        /// tokenize: where to write the manifest at the end (optional). detokenize: the manifest
        /// tokenize wrote (required: it names the key and transform versions to invert).
        public var manifestPath: String?
        /// tokenize: the residual scan of what leaves untokenized (on unless granted off).
        public var verifyOutput = true
        /// The largest frame accepted, in bytes.
        public var maxFrameBytes = 1 << 30
        /// Descriptors (stdin and stdout by default; borrowed, not closed).
        public var inputFD: Int32 = 0
        public var outputFD: Int32 = 1

        public init() {}
    }

    /// Runs the pipe until its end frame. A detokenizing mode needs the `authorization`
    /// ``TokenizeJob/authorize(_:policy:config:)`` returned.
    public static func run(_ o: Options, policy: Policy, keyring: Keyring, authorization: DetokenizeAuthorization?) throws -> RunSummary {
        let start = monotonicSeconds()
        guard o.mode == .tokenize || o.mode == .detokenize else {
            throw JobError(.optionsInvalid, "--pipe runs tokenize or detokenize, not \(o.mode.rawValue)")
        }
        if o.mode != .tokenize && authorization == nil {
            throw JobError(.permissionDenied, "\(o.mode.rawValue) refused: not authorized by the keyring's detokenize grant")
        }
        // A caller that stops reading makes the next write fail (EPIPE) instead of killing the
        // process, so the run's audit record is closed with the failure.
        try ignoreBrokenPipeSignal()
        var jobOptions = TokenizeJob.Options()
        jobOptions.manifestPath = o.manifestPath
        let manifest: TokenManifest? =
            o.mode == .detokenize
            ? try {
                guard o.manifestPath != nil else {
                    throw JobError(.manifestMissing, "detokenize --pipe needs --manifest FILE (the manifest tokenize wrote)")
                }
                return try JobPlan.loadManifest(jobOptions)
            }() : nil
        let classify: TokenizeJob.Classifier = { batch in
            for name in batch.names where policy.columns[name] == nil {
                throw JobError(
                    .columnUnresolved,
                    "--pipe: column '\(name)' is not named in the policy: pipe mode does not tag (every partition must decide the same way), so the policy must name every column under 'columns' — `tokengate scan --emit-policy` writes one"
                )
            }
            return batch.names.map { _ in nil }
        }

        let frames = FrameReader(fd: FileDescriptor(borrowing: o.inputFD, label: "stdin"), maxFrameBytes: o.maxFrameBytes)
        let output = FileDescriptor(borrowing: o.outputFD, label: "stdout")
        let inputHash = try SHA256Hasher()
        let outputHash = try SHA256Hasher()
        var summary = RunSummary(operation: o.mode.rawValue, input: "stdin (pipe)", output: "stdout (pipe)", format: "csv")
        var stats = PipeStats()
        var plan: JobPlan?
        var transform: BatchTransform?
        var names: [String] = []
        var rowsBefore = 0

        while true {
            let t0 = monotonicSeconds()
            let payload = try frames.next(number: stats.batches + 1)
            stats.waitSeconds += monotonicSeconds() - t0
            guard let payload else { break }
            let t1 = monotonicSeconds()
            stats.batches += 1
            let frame = stats.batches
            summary.bytesIn += payload.count
            try payload.withUnsafeBytes { try inputHash.update($0) }
            let reader = try CSVReader(
                source: MemorySource(payload), options: CSVReadOptions(batchRows: o.batchRows, sourceName: "stdin (pipe) batch \(frame)"))
            let sink = MemorySink()
            let writer = try CSVWriter(sink: sink)
            var rowsInFrame = 0
            var batchesInFrame = 0
            while let r = try reader.next() {
                batchesInFrame += 1
                // Record numbers count the header as record 1 in each frame: data row k is record k + 1.
                if let rj = r.rejects.first {
                    throw JobError(
                        .recordRejected,
                        "stdin (pipe): row \(rowsBefore + rj.record - 1) (batch \(frame), line \(rj.line)) cannot be read: \(rj.reason)")
                }
                if plan == nil {
                    let p = try JobPlan(
                        mode: o.mode, format: .csv, manifest: manifest, first: r.batch, policy: policy, keyring: keyring, classify: classify)
                    plan = p
                    names = r.batch.names
                    transform = try BatchTransform(plan: p, policy: policy, keyring: keyring, verifyOutput: o.verifyOutput)
                } else if r.batch.names != names {
                    throw JobError(.inputInvalid, "stdin (pipe): batch \(frame) has other columns than the first batch (every batch repeats the same header)")
                }
                let (u, _) = try transform!.run(JobUnit(batch: r.batch, readRejects: [], valueRejects: []))
                if let v = u.valueRejects.first {
                    throw JobError(
                        .recordRejected,
                        "stdin (pipe): row \(rowsBefore + v.record - 1) (batch \(frame)), column '\(v.column)': \(v.reason); the run stops (a partition's output keeps every row)"
                    )
                }
                guard u.batch.rowCount == r.batch.rowCount else {
                    throw JobError(.reconciliation, "internal error: batch \(frame) lost rows (\(r.batch.rowCount) in, \(u.batch.rowCount) out)")
                }
                rowsInFrame += u.batch.rowCount
                try writer.write(u.batch)
            }
            if reader.names.isEmpty {
                // (An empty answer would read as the end frame.)
                throw JobError(.inputInvalid, "stdin (pipe): batch \(frame) has no header row (every batch is a CSV document with its header)")
            }
            if batchesInFrame == 0, plan == nil {
                // A header-only first batch (an empty partition, or a caller pinning the plan and
                // its key versions before any data): the plan from the names alone.
                let empty = Batch(names: reader.names, columns: reader.names.map { _ in ByteColumn() })
                let p = try JobPlan(mode: o.mode, format: .csv, manifest: manifest, first: empty, policy: policy, keyring: keyring, classify: classify)
                plan = p
                names = reader.names
                transform = try BatchTransform(plan: p, policy: policy, keyring: keyring, verifyOutput: o.verifyOutput)
                try writer.write(empty)
            } else if batchesInFrame == 0 {
                guard reader.names == names else {
                    throw JobError(.inputInvalid, "stdin (pipe): batch \(frame) has other columns than the first batch (every batch repeats the same header)")
                }
                try writer.write(Batch(names: names, columns: names.map { _ in ByteColumn() }))
            }
            try writer.flush()
            rowsBefore += rowsInFrame
            summary.rowsIn += rowsInFrame
            summary.rowsOut += rowsInFrame
            let body = sink.bytes
            guard !body.isEmpty else {
                throw JobError(.reconciliation, "internal error: batch \(frame) produced no output (an empty frame would read as the end)")
            }
            try body.withUnsafeBytes { try outputHash.update($0) }
            stats.processingSeconds += monotonicSeconds() - t1
            let t2 = monotonicSeconds()
            // One write per frame (header and payload): the caller can read the whole batch now.
            try output.write(Array("\(body.count)\n".utf8) + body)
            stats.writeSeconds += monotonicSeconds() - t2
            summary.bytesOut += body.count
        }
        // The end frame, so the caller knows the stream is complete.
        try output.write(Array("0\n".utf8))

        summary.inputSHA256 = Hex.encode(try inputHash.finalize())
        summary.outputSHA256 = Hex.encode(try outputHash.finalize())
        summary.columns = plan?.reports ?? []
        if o.mode == .tokenize { summary.outputVerified = o.verifyOutput }
        summary.pipe = stats
        summary.wallSeconds = monotonicSeconds() - start
        guard summary.reconciles else {
            throw JobError(.reconciliation, "internal error: rows do not reconcile (\(summary.rowsIn) in, \(summary.rowsOut) out)")
        }
        if o.mode == .tokenize, let path = o.manifestPath, let plan {
            let e = JSONEncoder()
            e.outputFormatting = [.prettyPrinted, .sortedKeys]
            try e.encode(plan.manifest(policy: policy, columns: summary.columns)).write(to: URL(fileURLWithPath: path), options: .atomic)
        }
        return summary
    }
}

/// Where a pipe run's time went: processing the batches, waiting for the caller's next batch,
/// and writing results the caller had not read yet.
public struct PipeStats: Sendable, Codable, Equatable {
    public var batches = 0
    public var processingSeconds = 0.0
    public var waitSeconds = 0.0
    public var writeSeconds = 0.0
}

/// Reads `<decimal count>\n<count bytes>` frames from a descriptor. It reads only what a pipe
/// has (one `read(2)` returns what is there), so it never waits for bytes past a complete frame.
final class FrameReader {
    private let fd: FileDescriptor
    private let maxFrameBytes: Int
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)
    private var start = 0
    private var end = 0

    init(fd: FileDescriptor, maxFrameBytes: Int) {
        self.fd = fd
        self.maxFrameBytes = maxFrameBytes
    }

    /// Reads more into the buffer (after compacting it); false at the end of the input.
    private func fill() throws -> Bool {
        if start > 0 {
            buffer.withUnsafeMutableBytes { b in
                if end > start { b.baseAddress!.copyMemory(from: b.baseAddress! + start, byteCount: end - start) }
            }
            end -= start
            start = 0
        }
        let n = try buffer.withUnsafeMutableBytes { b in try fd.read(into: UnsafeMutableRawBufferPointer(rebasing: b[end...])) }
        end += n
        return n > 0
    }

    /// The next frame's payload; nil after the end frame.
    /// - Throws: ``JobError`` `inputInvalid` for a malformed header, a frame over the limit, or
    ///   an input that ends without the end frame.
    func next(number: Int) throws -> [UInt8]? {
        // Header: 1 to 12 digits, then LF.
        var digits = 0
        var count = 0
        while true {
            if start == end {
                guard try fill() else {
                    throw JobError(
                        .inputInvalid,
                        digits == 0
                            ? "stdin (pipe): the input ended before batch \(number) without the end frame (0): the caller stopped mid-stream"
                            : "stdin (pipe): the input ended inside the header of batch \(number)")
                }
            }
            let c = buffer[start]
            start += 1
            if c == UInt8(ascii: "\n") && digits > 0 { break }
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9"), digits < 12 else {
                throw JobError(.inputInvalid, "stdin (pipe): batch \(number) does not start with a byte count and a newline (docs/spark.md, pipe framing)")
            }
            count = count * 10 + Int(c - UInt8(ascii: "0"))
            digits += 1
        }
        if count == 0 { return nil }
        guard count <= maxFrameBytes else {
            throw JobError(.inputInvalid, "stdin (pipe): batch \(number) is \(count) bytes, over the \(maxFrameBytes)-byte limit")
        }
        var payload = [UInt8](repeating: 0, count: count)
        var have = min(count, end - start)
        payload.withUnsafeMutableBytes { p in
            buffer.withUnsafeBytes { b in p.baseAddress!.copyMemory(from: b.baseAddress! + start, byteCount: have) }
        }
        start += have
        while have < count {
            let n = try payload.withUnsafeMutableBytes { p in try fd.read(into: UnsafeMutableRawBufferPointer(rebasing: p[have...])) }
            guard n > 0 else {
                throw JobError(.inputInvalid, "stdin (pipe): the input ended inside batch \(number) (\(have) of \(count) bytes)")
            }
            have += n
        }
        return payload
    }
}
