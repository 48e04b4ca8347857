public import Columns

/// A line ending for rows that have no source line ending to reproduce.
public enum LineEnding: Sendable {
    case lf
    case crlf
}

/// Options of ``CSVWriter``.
public struct CSVWriteOptions: Sendable {
    /// Field delimiter; `nil` writes a CSV batch with its source's delimiter (and other batches with `,`).
    public var delimiter: UInt8?
    /// For batches not read from CSV with the same delimiter: write the column names as a header line first.
    public var header: Bool
    /// For batches not read from CSV with the same delimiter: the line ending.
    public var lineEnding: LineEnding
    /// Bytes buffered before writing to the sink.
    public var bufferSize: Int

    public init(delimiter: UInt8? = nil, header: Bool = true, lineEnding: LineEnding = .lf, bufferSize: Int = 1 << 20) {
        self.delimiter = delimiter
        self.header = header
        self.lineEnding = lineEnding
        self.bufferSize = bufferSize
    }
}

/// Writes batches as CSV, reproducing a CSV source byte for byte where values were not changed.
///
/// For a batch read by ``CSVReader`` (same delimiter): the prologue (byte-order mark, header line
/// as in the source), each row's blank lines and line ending (LF, CRLF, CR, or none for a last line
/// without one), a quoted source field stays quoted, an unquoted one is written as it was.
/// A value changed by ``Batch/replaceColumn(_:with:)`` is quoted when the source field was quoted
/// or when it holds the delimiter, a quote, CR or LF (quotes doubled).
///
/// Other batches (built in memory, read from JSON Lines, or written with another delimiter) are
/// encoded from their values: a header line from the column names (``CSVWriteOptions/header``),
/// values quoted only where needed, ``CSVWriteOptions/lineEnding`` after each row.
///
/// Call ``flush()`` at the end: the writer buffers up to ``CSVWriteOptions/bufferSize`` bytes.
public final class CSVWriter: BatchWriter {
    public let options: CSVWriteOptions
    private var sink: any ByteSink
    private var out: OutputBuffer
    private var started = false
    private var headerColumns = -1
    private var lastRowUnterminated = false
    private var rowPos: [Int] = []
    private var quoteFlags: [UInt8] = []

    /// - Throws: ``FormatError/Code/invalidOptions`` for a delimiter of `"`, CR or LF.
    public init(sink: some ByteSink, options: CSVWriteOptions = .init()) throws {
        if let d = options.delimiter, d == quote || d == cr || d == lf {
            throw FormatError(.invalidOptions, "the delimiter cannot be a quote, CR or LF")
        }
        self.options = options
        self.sink = sink
        out = OutputBuffer(capacity: options.bufferSize + 4096)
    }

    /// Writes to a file descriptor (not closed by the writer).
    public convenience init(fileDescriptor: Int32, options: CSVWriteOptions = .init()) throws {
        try self.init(sink: FileDescriptorSink(fileDescriptor: fileDescriptor), options: options)
    }

    deinit { out.free() }

    public func flush() throws {
        var o = out
        defer { out = o }
        try o.flush(to: &sink)
    }

    public func write(_ batch: Batch) throws {
        let layout = batch.layout
        let fromCSV = layout.format == .csv
        let d = options.delimiter ?? (fromCSV ? layout.delimiter : UInt8(ascii: ","))
        let preserve = fromCSV && layout.delimiter == d
        var o = out
        defer { out = o }
        if preserve {
            o.append(batch.prologue)
        } else {
            if !started && options.header && batch.columnCount > 0 {
                writeHeader(batch.names, d, &o)
                headerColumns = batch.columnCount
            }
            if headerColumns >= 0 && batch.columnCount != headerColumns && batch.rowCount > 0 {
                throw FormatError(.unencodableValue, "the batch has \(batch.columnCount) columns, the header \(headerColumns)")
            }
        }
        started = true
        if batch.rowCount > 0 {
            if lastRowUnterminated { appendLineEnding(&o) }
            encodeRows(batch, delimiter: d, preserve: preserve, &o)
        }
        if preserve { o.append(batch.epilogue) }
        if o.count >= options.bufferSize { try o.flush(to: &sink) }
    }

    private func appendLineEnding(_ o: inout OutputBuffer) {
        if options.lineEnding == .crlf { o.append(cr) }
        o.append(lf)
    }

    private func writeHeader(_ names: [String], _ d: UInt8, _ o: inout OutputBuffer) {
        for (j, name) in names.enumerated() {
            if j > 0 { o.append(d) }
            Array(name.utf8).withUnsafeBufferPointer { b in
                let p = b.baseAddress ?? UnsafePointer(emptyBytes)
                if csvNeedsQuotes(p, b.count, d) {
                    o.reserve(2 * b.count + 2)
                    o.count += writeQuoted(p, b.count, o.base + o.count)
                } else {
                    o.append(p, b.count)
                }
            }
        }
        appendLineEnding(&o)
    }

    /// Encodes all rows of `batch` into `o`: a first pass per column adds each cell's encoded length
    /// to its row, a second pass per column copies the cells to their row's position. Columns
    /// are read one at a time, sequentially; rows come out in order.
    private func encodeRows(_ batch: Batch, delimiter d: UInt8, preserve: Bool, _ o: inout OutputBuffer) {
        let n = batch.rowCount
        let m = batch.columnCount
        let layout = batch.layout
        var pos = rowPos
        rowPos = []
        defer { rowPos = pos }
        pos.removeAll(keepingCapacity: true)
        // pos[0..<n]: each row's length, then its write position; pos[n]: total;
        // pos[n + 1 + r]: where row r ends.
        pos.append(contentsOf: repeatElement(0, count: 2 * n + 1))
        var flags = quoteFlags
        quoteFlags = []
        defer { quoteFlags = flags }
        flags.removeAll(keepingCapacity: true)
        flags.append(contentsOf: repeatElement(0, count: n * m))
        // Column modes: 0 = every cell copied as is; 1 = per cell flag in `flags`.
        var modes = [UInt8](repeating: 0, count: m)
        let quotedKind = CellKind.quotedText.rawValue
        let sourceTerminators = preserve ? layout.terminators : []
        let ending: UInt8 = options.lineEnding == .crlf ? terminatorCRLF : terminatorLF

        @inline(__always) func terminator(_ r: Int) -> UInt8 {
            if !preserve { return ending }
            if sourceTerminators.isEmpty { return terminatorLF }
            let t = sourceTerminators[r]
            return t == terminatorNone && r < n - 1 ? terminatorLF : t
        }

        pos.withUnsafeMutableBufferPointer { rp in
            flags.withUnsafeMutableBufferPointer { fp in
                // Pass 1: lengths.
                for k in layout.leadingRows.indices { rp[layout.leadingRows[k]] += layout.leading.range(k).count }
                for r in 0..<n { rp[r] += terminatorLength(terminator(r)) + max(m - 1, 0) }
                for j in 0..<m {
                    let kinds = preserve ? layout.kinds[j] : []
                    let original = preserve ? layout.originals[j] : nil
                    if preserve && kinds.isEmpty && original == nil {
                        batch.columns[j].offsets.withUnsafeBufferPointer { ob in
                            for r in 0..<n { rp[r] += ob[r + 1] - ob[r] }
                        }
                        continue
                    }
                    modes[j] = 1
                    let f = fp.baseAddress! + j * n
                    withValues(batch.columns[j]) { vb, ob in
                        withValues(original ?? ByteColumn()) { sb, so in
                            kinds.withUnsafeBufferPointer { kb in
                                for r in 0..<n {
                                    let v = vb + ob[r]
                                    let len = ob[r + 1] - ob[r]
                                    var q: Bool
                                    if !preserve {
                                        q = csvNeedsQuotes(v, len, d)
                                    } else {
                                        let sourceQuoted = !kb.isEmpty && kb[r] == quotedKind
                                        q = sourceQuoted
                                        if original != nil && !sameBytes(v, len, sb + so[r], so[r + 1] - so[r]) {
                                            q = sourceQuoted || csvNeedsQuotes(v, len, d)
                                        }
                                    }
                                    f[r] = q ? 1 : 0
                                    rp[r] += q ? len + 2 + countQuotes(v, len) : len
                                }
                            }
                        }
                    }
                }
                // Row positions.
                var total = 0
                for r in 0..<n {
                    let l = rp[r]
                    rp[r] = total
                    total += l
                    rp[n + 1 + r] = total
                }
                rp[n] = total
                o.reserve(total + 16)
                let dst = o.base + o.count
                // Pass 2: bytes.
                for k in layout.leadingRows.indices {
                    let r = layout.leadingRows[k]
                    layout.leading.bytes.withUnsafeBufferPointer { lb in
                        let range = layout.leading.range(k)
                        (dst + rp[r]).update(from: lb.baseAddress! + range.lowerBound, count: range.count)
                    }
                    rp[r] += layout.leading.range(k).count
                }
                for j in 0..<m {
                    let last = j == m - 1
                    withValues(batch.columns[j]) { vb, ob in
                        if modes[j] == 0 && !last {
                            // A short value is copied as 16 bytes when the column has them and
                            // the row has room: the extra bytes land in this row's later columns
                            // or terminator, written afterwards.
                            let columnBytes = ob[n]
                            for r in 0..<n {
                                let start = ob[r]
                                let len = ob[r + 1] &- start
                                var w = dst + rp[r]
                                if len <= 16 && start &+ 16 <= columnBytes && rp[r] &+ 16 <= rp[n &+ 1 &+ r] {
                                    copy16(w, vb + start)
                                } else {
                                    copyBytes(w, vb + start, len)
                                }
                                w += len
                                w.pointee = d
                                rp[r] = dst.distance(to: w) &+ 1
                            }
                        } else if modes[j] == 0 {
                            for r in 0..<n {
                                let len = ob[r + 1] &- ob[r]
                                let w = dst + rp[r]
                                copyBytes(w, vb + ob[r], len)
                                rp[r] &+= len
                            }
                        } else {
                            let f = fp.baseAddress! + j * n
                            for r in 0..<n {
                                let len = ob[r + 1] - ob[r]
                                var w = dst + rp[r]
                                if f[r] != 0 {
                                    w += writeQuoted(vb + ob[r], len, w)
                                } else {
                                    copyBytes(w, vb + ob[r], len)
                                    w += len
                                }
                                if !last {
                                    w.pointee = d
                                    w += 1
                                }
                                rp[r] = dst.distance(to: w)
                            }
                        }
                    }
                }
                for r in 0..<n {
                    let t = terminator(r)
                    var w = dst + rp[r]
                    if t == terminatorCR {
                        w.pointee = cr
                        continue
                    }
                    if t == terminatorCRLF {
                        w.pointee = cr
                        w += 1
                    }
                    if t != terminatorNone { w.pointee = lf }
                }
                o.count += total
                lastRowUnterminated = terminator(n - 1) == terminatorNone
            }
        }
    }
}

/// An always-valid pointer for empty buffers.
nonisolated(unsafe) let emptyBytes = UnsafeMutablePointer<UInt8>.allocate(capacity: 16)

/// Calls `body` with the base of a column's bytes and its offsets (valid even when empty).
@inline(__always)
func withValues<R>(_ c: ByteColumn, _ body: (UnsafePointer<UInt8>, UnsafeBufferPointer<Int>) -> R) -> R {
    c.bytes.withUnsafeBufferPointer { vb in
        c.offsets.withUnsafeBufferPointer { ob in
            body(vb.baseAddress ?? UnsafePointer(emptyBytes), ob)
        }
    }
}

@inline(__always)
func sameBytes(_ a: UnsafePointer<UInt8>, _ n: Int, _ b: UnsafePointer<UInt8>, _ m: Int) -> Bool {
    n == m && bytesEqual(a, b, n)
}

/// Whether a CSV value must be quoted: it holds the delimiter, a quote, CR or LF.
@inline(__always)
func csvNeedsQuotes(_ p: UnsafePointer<UInt8>, _ n: Int, _ d: UInt8) -> Bool {
    for i in 0..<n {
        let c = p[i]
        if c == d || c == quote || c == lf || c == cr { return true }
    }
    return false
}

@inline(__always)
func countQuotes(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int {
    var k = 0
    var i = find(quote, p, 0, n)
    while i < n {
        k += 1
        i = find(quote, p, i + 1, n)
    }
    return k
}

/// Writes `"value"` with quotes doubled at `w`; returns the bytes written.
@inline(__always)
func writeQuoted(_ p: UnsafePointer<UInt8>, _ n: Int, _ w: UnsafeMutablePointer<UInt8>) -> Int {
    var o = w
    o.pointee = quote
    o += 1
    var s = 0
    while s < n {
        let q = find(quote, p, s, n)
        o.update(from: p + s, count: q - s)
        o += q - s
        if q == n { break }
        o[0] = quote
        o[1] = quote
        o += 2
        s = q + 1
    }
    o.pointee = quote
    o += 1
    return w.distance(to: o)
}
