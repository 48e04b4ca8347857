internal import Columns

/// Options of ``CSVReader``.
public struct CSVReadOptions: Sendable {
    /// Field delimiter, one byte: `,` (default), `;`, `\t`, `|`, … Not `"`, CR or LF.
    public var delimiter: UInt8 = UInt8(ascii: ",")
    /// Whether the first record is a header naming the columns. Without one, columns are
    /// named `column1`, `column2`, … after the field count of the first record.
    ///
    /// A header is checked before anything is returned: one that looks like a data row
    /// (``CSVHeaderCheck/dataLikeReason(_:)``) throws ``FormatErrorCode/headerLooksLikeData``, one
    /// with a name used twice throws ``FormatErrorCode/duplicateHeader``. Only `hasHeader: false`
    /// (`--no-header`) turns the check off.
    public var hasHeader = true
    /// How errors name the input (a path, `stdin`).
    public var sourceName = "input"
    /// Most rows per batch (rows and rejects together never exceed it).
    public var batchRows = 8192
    /// A batch also ends once its records hold this many source bytes.
    public var maxBatchBytes = 64 << 20
    /// Bytes requested from the source per read.
    public var chunkSize = 1 << 20
    /// A record longer than this is rejected (its first line; parsing resumes after it), which
    /// bounds memory when a stray quote would swallow the rest of the input.
    public var maxRecordBytes = 16 << 20
    /// Reject records that are not well-formed UTF-8.
    public var validateUTF8 = true

    public init(
        delimiter: UInt8 = UInt8(ascii: ","), hasHeader: Bool = true, batchRows: Int = 8192,
        chunkSize: Int = 1 << 20, maxRecordBytes: Int = 16 << 20, validateUTF8: Bool = true, sourceName: String = "input"
    ) {
        self.sourceName = sourceName
        self.delimiter = delimiter
        self.hasHeader = hasHeader
        self.batchRows = batchRows
        self.chunkSize = chunkSize
        self.maxRecordBytes = maxRecordBytes
        self.validateUTF8 = validateUTF8
    }
}

/// Reads RFC 4180 CSV into batches, streaming with bounded memory.
///
/// - Quoted fields may hold delimiters, CR, LF and `""` (one quote). A quote inside an unquoted
///   field is taken literally (lenient); text after a closing quote rejects the record.
/// - Records end with LF, CRLF or CR (recorded per row and reproduced by ``CSVWriter``); the
///   last record may lack one. The stream's first line ending outside quotes decides whether a
///   lone CR ends records (CR files: then a lone LF is data) or a lone LF does (LF and CRLF
///   files: then a lone CR is data); CRLF ends records in both.
/// - With ``CSVReadOptions/hasHeader`` the header is checked (``CSVHeaderCheck``) before any
///   batch: data-like or duplicate names stop the stream. A UTF-8 byte-order mark is skipped and kept in the first batch's prologue.
/// - An empty line (nothing before its LF/CRLF) is not a record: it is passed through to the
///   output at its place (as the next row's leading bytes, or in the epilogue).
/// - Records with a field count other than the header's (or the first record's), an unclosed
///   quote at the end of the input, text after a closing quote, or invalid UTF-8 become
///   ``RowReject``s with their raw bytes, and reading goes on with the next record. An unclosed
///   quote (or a record over ``CSVReadOptions/maxRecordBytes``) rejects the record's first
///   line and resumes on the line after it.
public final class CSVReader: BatchReader {
    public let options: CSVReadOptions
    public private(set) var stats = ReadStats()
    /// Column names (known after the first call to ``next()``).
    public private(set) var names: [String] = []

    private var source: any ByteSource
    private var input: InputBuffer
    private var builders = BuilderSet()
    private var columnCount = 0  // 0 until the header / first record is read
    private var started = false
    private var finished = false
    private var prologue: [UInt8] = []
    private var prologueSent = false
    private var pendingLeading: [UInt8] = []
    private var record = 0  // number of the last record started
    private var line = 1  // line where the next record starts
    private var skipping = false  // discarding the rest of an over-long line
    /// The stream's line terminator byte: LF (LF and CRLF records) or CR (CR and CRLF records),
    /// decided from the first line ending (``detectTerminator(_:_:_:eof:delimiter:)``).
    private var terminatorByte = lf
    private var valueCapacityHint = 1024
    private var byteCapacityHint = 16 * 1024

    /// - Parameters:
    ///   - source: where the bytes come from (``FileDescriptorSource``, ``MemorySource``, …).
    ///   - options: dialect and limits.
    /// - Throws: ``FormatError/Code/invalidOptions`` for a delimiter of `"`, CR or LF or non-positive sizes.
    public init(source: some ByteSource, options: CSVReadOptions = .init()) throws {
        let d = options.delimiter
        guard d != quote, d != cr, d != lf else {
            throw FormatError(.invalidOptions, "the delimiter cannot be a quote, CR or LF")
        }
        guard options.batchRows > 0, options.chunkSize > 0, options.maxRecordBytes > 0, options.maxBatchBytes > 0
        else { throw FormatError(.invalidOptions, "batchRows, chunkSize, maxRecordBytes and maxBatchBytes must be positive") }
        self.options = options
        self.source = source
        input = InputBuffer(capacity: min(options.chunkSize, 1 << 26) + 64)
    }

    /// Reads a file descriptor (not closed by the reader).
    public convenience init(fileDescriptor: Int32, options: CSVReadOptions = .init()) throws {
        try self.init(source: FileDescriptorSource(fileDescriptor: fileDescriptor), options: options)
    }

    /// Reads bytes in memory.
    public convenience init(bytes: [UInt8], options: CSVReadOptions = .init()) throws {
        try self.init(source: MemorySource(bytes), options: options)
    }

    deinit {
        input.free()
        builders.free()
    }

    // MARK: - Reading

    private func refill(atLeast: Int = 0) throws {
        stats.bytes += try input.refill(from: &source, chunkSize: options.chunkSize, atLeast: atLeast)
    }

    public func next() throws -> ReadResult? {
        if finished { return nil }
        if !started {
            started = true
            // A UTF-8 byte-order mark is tolerated and reproduced.
            while input.available < 3 && !input.eof { try refill() }
            if input.available >= 3 && input.base[input.start] == 0xEF && input.base[input.start + 1] == 0xBB
                && input.base[input.start + 2] == 0xBF
            {
                prologue.append(contentsOf: [0xEF, 0xBB, 0xBF])
                input.start += 3
            }
            try detectLineTerminator()
        }
        builders.resetAll()
        var rows = 0
        var rejects: [RowReject] = []
        var rowNumbers: [Int] = []
        rowNumbers.reserveCapacity(min(options.batchRows, valueCapacityHint))
        var terminators: [UInt8] = []
        terminators.reserveCapacity(min(options.batchRows, valueCapacityHint))
        var leadingRows: [Int] = []
        var leading = ByteColumn()
        var batchBytes = 0
        let delimiter = options.delimiter
        let dMask = UInt64(delimiter) &* 0x0101_0101_0101_0101
        let term = terminatorByte
        let crMode = term == cr
        let tMask = UInt64(term) &* 0x0101_0101_0101_0101
        let validate = options.validateUTF8
        let batchRows = options.batchRows
        let maxBatchBytes = options.maxBatchBytes
        // True until the header record is read (when there is one).
        var headerPending = options.hasHeader && columnCount == 0
        var scanner = StructuralScanner()

        reading: while rows + rejects.count < batchRows && batchBytes < maxBatchBytes {
            if skipping {
                let i = find(term, input.base, input.start, input.end)
                if i < input.end {
                    input.start = i + 1
                    skipping = false
                } else {
                    input.start = input.end
                    if input.eof { skipping = false } else { try refill() }
                    scanner.reset()
                }
                continue
            }
            if input.available == 0 {
                if input.eof {
                    finished = true
                    break
                }
                try refill()
                scanner.reset()
                continue
            }
            let base = UnsafePointer(input.base)
            let start = input.start
            let end = input.end
            // An empty line is not a record: pass it through.
            let c0 = base[start]
            if c0 == lf || c0 == cr {
                var blankEnd = -1
                if c0 == lf || (crMode && start + 1 < end && base[start + 1] != lf) || (crMode && start + 1 == end && input.eof) {
                    blankEnd = start + 1
                } else if start + 1 < end {
                    if base[start + 1] == lf { blankEnd = start + 2 }
                } else if !input.eof {
                    try refill()
                    scanner.reset()
                    continue
                }
                if blankEnd > 0 {
                    let bytes = UnsafeBufferPointer(start: base + start, count: blankEnd - start)
                    if headerPending { prologue.append(contentsOf: bytes) } else { pendingLeading.append(contentsOf: bytes) }
                    stats.blankLines += 1
                    line += 1
                    input.start = blankEnd
                    continue
                }
            }

            let result: CSVRecord?
            if columnCount == 0 {
                // Header, or first record without a header: count its fields, then store them.
                if let counted = parseCSVRecord(base, start, end, input.eof, dMask, tMask, builders.base, 0, &scanner) {
                    for _ in builders.count..<counted.fields {
                        builders.add(ColumnBuilder(byteCapacity: byteCapacityHint / 4, valueCapacity: valueCapacityHint))
                    }
                    scanner.reset()
                    result = parseCSVRecord(base, start, end, input.eof, dMask, tMask, builders.base, counted.fields, &scanner)
                } else {
                    result = nil
                }
            } else {
                result = parseCSVRecord(base, start, end, input.eof, dMask, tMask, builders.base, columnCount, &scanner)
            }

            guard let r = result else {
                // The record is retried from its start (after a refill, or after rejecting its
                // first line): positions go back, so the scanner's block is stale.
                scanner.reset()
                builders.truncateAll(values: rows)
                let partial = end - start
                if input.eof || partial > options.maxRecordBytes {
                    if headerPending {
                        throw FormatError(.badHeader, input.eof ? "unclosed quoted field in the header" : "header longer than \(options.maxRecordBytes) bytes")
                    }
                    let reason =
                        input.eof
                        ? "unclosed quoted field at end of input (record's first line rejected)"
                        : "record longer than \(options.maxRecordBytes) bytes (unbalanced quote?); its first line rejected"
                    rejects.append(rejectFirstLine(reason: reason))
                    continue
                }
                try refill(atLeast: partial >= options.chunkSize ? partial : 0)
                continue
            }

            record += 1
            let recordLine = line
            line += r.newlines
            input.start = r.end
            let isHeader = headerPending
            if columnCount == 0 {
                columnCount = r.fields
                if !isHeader { names = (1...columnCount).map { "column\($0)" } }
            }
            var reason: String? = nil
            if r.fields != columnCount {
                reason = "expected \(columnCount) fields, found \(r.fields)"
            } else if r.error {
                reason = "unexpected character after a closing quote"
            } else if validate && !isValidUTF8(base, start, r.end) {
                reason = "invalid UTF-8"
            }
            if isHeader {
                if let reason { throw FormatError(.badHeader, "header: \(reason)") }
                names = (0..<columnCount).map { j in
                    String(decoding: UnsafeBufferPointer(start: builders.base[j].bytes, count: builders.base[j].byteCount), as: UTF8.self)
                }
                try checkHeader(line: recordLine)
                builders.resetAll()
                prologue.append(contentsOf: UnsafeBufferPointer(start: base + start, count: r.end - start))
                headerPending = false
                continue
            }
            stats.records += 1
            if let reason {
                builders.truncateAll(values: rows)
                stats.rejects += 1
                rejects.append(
                    RowReject(
                        record: record, line: recordLine, reason: reason,
                        raw: Array(UnsafeBufferPointer(start: base + start, count: r.end - start))))
                continue
            }
            if !pendingLeading.isEmpty {
                leadingRows.append(rows)
                leading.append(pendingLeading[...])
                pendingLeading.removeAll(keepingCapacity: true)
            }
            rows += 1
            rowNumbers.append(record)
            terminators.append(r.terminator)
            batchBytes += r.end - start
        }

        stats.rows += rows
        var layout = SourceLayout(format: .csv, columnCount: columnCount)
        layout.delimiter = delimiter
        layout.sourceNames = names
        layout.terminators = terminators
        layout.leadingRows = leadingRows
        layout.leading = leading
        var columns: [ByteColumn] = []
        columns.reserveCapacity(columnCount)
        for j in 0..<columnCount {
            columns.append(builders.base[j].makeColumn())
            layout.kinds[j] = builders.base[j].makeKinds()
        }
        if columnCount > 0 && rows > 0 {
            valueCapacityHint = max(valueCapacityHint, rows)
            byteCapacityHint = max(byteCapacityHint, batchBytes)
        }
        var epilogue: [UInt8] = []
        if finished {
            epilogue = pendingLeading
            pendingLeading = []
        }
        let pro = prologueSent ? [] : prologue
        prologueSent = true
        if rows == 0 && rejects.isEmpty && pro.isEmpty && epilogue.isEmpty && finished { return nil }
        let batch = Batch(
            names: names, columns: columns, rowNumbers: rowNumbers, prologue: pro, epilogue: epilogue, layout: layout)
        return ReadResult(batch: batch, rejects: rejects)
    }

    /// Refuses a header that looks like a data row or repeats a name (``CSVHeaderCheck``).
    private func checkHeader(line: Int) throws {
        let at = "\(options.sourceName), line \(line)"
        if let why = CSVHeaderCheck.dataLikeReason(names) {
            throw FormatError(
                .headerLooksLikeData,
                "\(at): the header record looks like data, not column names (\(why)); "
                    + "if the file has no header line, use --no-header")
        }
        let dups = CSVHeaderCheck.duplicates(names)
        if !dups.isEmpty {
            let list = dups.map { d in "\"\(d.name)\" at columns \(d.columns.map(String.init).joined(separator: ", "))" }
            throw FormatError(
                .duplicateHeader,
                "\(at): duplicate column names \(list.joined(separator: "; ")); refused because one policy rule "
                    + "would apply to different columns: rename the columns or use --no-header")
        }
    }

    /// Decides ``terminatorByte`` from the first line ending outside quotes (reading at most
    /// about a megabyte ahead; LF when none is found).
    private func detectLineTerminator() throws {
        let limit = min(options.maxRecordBytes, 1 << 20)
        while true {
            if let t = detectTerminator(input.base, input.start, input.end, eof: input.eof, delimiter: options.delimiter) {
                terminatorByte = t
                return
            }
            if input.available >= limit { return }
            try refill()
        }
    }

    /// Rejects the first line of the record at `input.start` (its quote never closed, or it is
    /// too long) and resumes after that line.
    private func rejectFirstLine(reason: String) -> RowReject {
        record += 1
        stats.records += 1
        stats.rejects += 1
        let start = input.start
        let limit = min(input.end, start + options.maxRecordBytes)
        let i = find(terminatorByte, input.base, start, limit)
        let reject: RowReject
        if i < limit || limit == input.end && input.eof {
            var stop = i < limit ? i + 1 : limit
            if terminatorByte == cr && stop < input.end && input.base[stop] == lf { stop += 1 }
            reject = RowReject(
                record: record, line: line, reason: reason,
                raw: Array(UnsafeBufferPointer(start: input.base + start, count: stop - start)))
            input.start = stop
        } else {
            reject = RowReject(
                record: record, line: line, reason: reason,
                raw: Array(UnsafeBufferPointer(start: input.base + start, count: limit - start)), truncated: true)
            input.start = limit
            skipping = true
        }
        line += 1
        return reject
    }
}

/// A complete record found by ``parseCSVRecord``.
struct CSVRecord {
    /// Index after the record's terminator.
    var end: Int
    var fields: Int
    var terminator: UInt8
    /// LF bytes in the record, its terminator included.
    var newlines: Int
    /// Text after a closing quote.
    var error: Bool
}

/// Parses one record at `start`, appending its fields to `builders[0..<columns]` (fields past
/// `columns` are counted, not stored). Returns `nil` when the record does not end before `end`
/// and more input may come (`eof == false`), or when a quoted field is still open at `eof`.
/// The caller truncates the builders after `nil` or a rejected record.
@inline(__always)
func parseCSVRecord(
    _ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int, _ eof: Bool, _ dMask: UInt64, _ tMask: UInt64,
    _ builders: UnsafeMutablePointer<ColumnBuilder>, _ columns: Int, _ scanner: inout StructuralScanner
) -> CSVRecord? {
    let d = UInt8(truncatingIfNeeded: dMask)
    // The line terminator byte: LF (LF and CRLF records), or CR (CR and CRLF records).
    let t = UInt8(truncatingIfNeeded: tMask)
    let crMode = t == cr
    let quoted = CellKind.quotedText.rawValue
    let text = CellKind.text.rawValue
    var p = start
    var field = 0
    var newlines = 0
    var error = false
    while true {
        if p < end && base[p] == quote {
            // Quoted field: copy the segments between quotes, `""` is one quote.
            var q = p + 1
            let store = field < columns
            while true {
                let qq = find(quote, base, q, end)
                if qq == end { return nil }  // more input needed, or unclosed at EOF
                if store { builders[field].appendFromInput(base + q, qq - q) }
                newlines += countLF(base, q, qq, t)
                if qq + 1 == end {
                    if !eof { return nil }
                    if store { builders[field].finishValue(kind: quoted) }
                    return CSVRecord(end: end, fields: field + 1, terminator: terminatorNone, newlines: newlines, error: error)
                }
                let c = base[qq + 1]
                if c == quote {
                    if store { builders[field].appendByte(quote) }
                    q = qq + 2
                    continue
                }
                if store { builders[field].finishValue(kind: quoted) }
                field += 1
                if c == d {
                    p = qq + 2
                    break
                }
                if c == lf {
                    return CSVRecord(end: qq + 2, fields: field, terminator: terminatorLF, newlines: newlines + 1, error: error)
                }
                if c == cr {
                    if qq + 2 == end && !eof { return nil }
                    if qq + 2 < end && base[qq + 2] == lf {
                        return CSVRecord(end: qq + 3, fields: field, terminator: terminatorCRLF, newlines: newlines + 1, error: error)
                    }
                    if crMode {
                        return CSVRecord(end: qq + 2, fields: field, terminator: terminatorCR, newlines: newlines + 1, error: error)
                    }
                }
                // Text after the closing quote: the record is malformed; find where it ends.
                error = true
                let r = findDelimiterOrLF(base, qq + 1, end, dMask, tMask)
                if r == end {
                    if !eof { return nil }
                    return CSVRecord(end: end, fields: field, terminator: terminatorNone, newlines: newlines, error: error)
                }
                if base[r] == t {
                    if !crMode {
                        return CSVRecord(end: r + 1, fields: field, terminator: terminatorLF, newlines: newlines + 1, error: error)
                    }
                    if r + 1 == end && !eof { return nil }
                    let crlf = r + 1 < end && base[r + 1] == lf
                    return CSVRecord(
                        end: crlf ? r + 2 : r + 1, fields: field, terminator: crlf ? terminatorCRLF : terminatorCR,
                        newlines: newlines + 1, error: error)
                }
                p = r + 1
                break
            }
            continue
        }
        // Unquoted field: up to the next delimiter or line terminator byte.
        let r = scanner.next(base, p, end, dMask, tMask)
        if r == end {
            if !eof { return nil }
            if field < columns {
                builders[field].appendFromInput(base + p, end - p)
                builders[field].finishValue(kind: text)
            }
            return CSVRecord(end: end, fields: field + 1, terminator: terminatorNone, newlines: newlines, error: error)
        }
        if base[r] == d {
            if field < columns {
                builders[field].appendFromInput(base + p, r - p)
                builders[field].finishValue(kind: text)
            }
            field += 1
            p = r + 1
            continue
        }
        if crMode {
            // CR, or CRLF when an LF follows.
            if r + 1 == end && !eof { return nil }
            let crlf = r + 1 < end && base[r + 1] == lf
            if field < columns {
                builders[field].appendFromInput(base + p, r - p)
                builders[field].finishValue(kind: text)
            }
            return CSVRecord(
                end: crlf ? r + 2 : r + 1, fields: field + 1, terminator: crlf ? terminatorCRLF : terminatorCR,
                newlines: newlines + 1, error: error)
        }
        var valueEnd = r
        var terminator = terminatorLF
        if r > p && base[r - 1] == cr {
            valueEnd = r - 1
            terminator = terminatorCRLF
        }
        if field < columns {
            builders[field].appendFromInput(base + p, valueEnd - p)
            builders[field].finishValue(kind: text)
        }
        return CSVRecord(end: r + 1, fields: field + 1, terminator: terminator, newlines: newlines + 1, error: error)
    }
}
