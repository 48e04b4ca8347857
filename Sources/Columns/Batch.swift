/// What a cell held in its source. Readers record it so writers can reproduce untouched values
/// byte for byte, and so stages can tell a JSON `null` or a missing key from text.
public enum CellKind: UInt8, Sendable, CaseIterable {
    /// A CSV field written without quotes, or a value of a batch built in memory.
    case text = 0
    /// A CSV field written between double quotes (the value is the unquoted, unescaped text).
    case quotedText = 1
    /// A JSON string (the value is its content, unescaped, in UTF-8).
    case string = 2
    /// A JSON number (the value is the number's source text).
    case number = 3
    /// JSON `true` or `false` (the value is the literal).
    case boolean = 4
    /// JSON `null` (the value is the literal `null`).
    case null = 5
    /// A nested JSON object (the value is its raw source text, untouched).
    case object = 6
    /// A nested JSON array (the value is its raw source text, untouched).
    case array = 7
    /// A JSON Lines row without this key. The value is empty; writers keep the key absent.
    case absent = 8
}

/// A columnar batch of rows: per column one ``ByteColumn`` holding each row's decoded text value,
/// plus the row's record number in the source.
///
/// Stages work on whole columns: read ``columns``, swap a column for transformed values with
/// ``replaceColumn(_:with:)``, drop rejected rows with ``filteringRows(keep:)``. Readers attach
/// what their writer needs to reproduce the input (quoting, line endings, raw JSON lines,
/// blank lines, a byte-order mark and the header); stages treat that as opaque.
///
/// A batch made in memory with ``init(names:columns:rowNumbers:)`` has no source layout: writers
/// encode every value from scratch.
public struct Batch: Sendable, Equatable {
    /// Column names, in source order (CSV header or `column1…`; JSON Lines keys in first-seen order).
    public private(set) var names: [String]
    /// Per column, each row's decoded value.
    public private(set) var columns: [ByteColumn]
    /// Per row, the 1-based record number in the source (CSV: the header is record 1 when present;
    /// JSON Lines: the line number).
    public private(set) var rowNumbers: [Int]
    /// Bytes a writer emits before the first row: a UTF-8 byte-order mark, the CSV header line and
    /// blank lines before it. Non-empty only on the first batch of a stream.
    public var prologue: [UInt8]
    /// Bytes a writer emits after the last row (blank lines at the end of the input, and those of
    /// dropped rows at the end of the batch). Non-empty only on the last batch of a stream, or
    /// after ``filteringRows(keep:)`` dropped rows that had blank lines before them.
    public var epilogue: [UInt8]
    /// Source-format details for the writer.
    package var layout: SourceLayout

    /// A batch built in memory (no source layout: writers encode every value).
    ///
    /// - Parameters:
    ///   - names: one name per column.
    ///   - columns: one column per name, all with the same count.
    ///   - rowNumbers: per row record numbers; `1...count` when `nil`.
    public init(names: [String], columns: [ByteColumn], rowNumbers: [Int]? = nil) {
        precondition(names.count == columns.count, "Batch: \(names.count) names for \(columns.count) columns")
        let rows = columns.first?.count ?? (rowNumbers?.count ?? 0)
        for c in columns { precondition(c.count == rows, "Batch: columns differ in length") }
        if let rowNumbers { precondition(rowNumbers.count == rows, "Batch: rowNumbers count differs from rows") }
        self.names = names
        self.columns = columns
        self.rowNumbers = rowNumbers ?? (0..<rows).map { $0 + 1 }
        prologue = []
        epilogue = []
        layout = SourceLayout(format: .memory, columnCount: columns.count)
    }

    /// A batch made by a reader, with its source layout.
    package init(
        names: [String], columns: [ByteColumn], rowNumbers: [Int],
        prologue: [UInt8], epilogue: [UInt8], layout: SourceLayout
    ) {
        self.names = names
        self.columns = columns
        self.rowNumbers = rowNumbers
        self.prologue = prologue
        self.epilogue = epilogue
        self.layout = layout
    }

    /// Number of rows.
    public var rowCount: Int { rowNumbers.count }
    /// Number of columns.
    public var columnCount: Int { columns.count }

    /// Index of the first column called `name`.
    public func columnIndex(named name: String) -> Int? { names.firstIndex(of: name) }

    /// The decoded value of one cell (a slice of the column buffer: no copy).
    public func value(row: Int, column: Int) -> ArraySlice<UInt8> { columns[column][row] }

    /// The decoded value of one cell as a `String` (for display and tests; not for hot paths).
    public func string(row: Int, column: Int) -> String { columns[column].string(at: row) }

    /// What the cell held in the source (for a replaced column: what it held before).
    public func kind(row: Int, column: Int) -> CellKind {
        let k = layout.kinds[column]
        return k.isEmpty ? .text : CellKind(rawValue: k[row]) ?? .text
    }

    /// Per row cell kinds of one column, as ``CellKind`` raw values; empty when every cell is
    /// ``CellKind/text`` (a CSV column without quoted fields).
    public func kinds(column: Int) -> [UInt8] { layout.kinds[column] }

    /// Whether the row has a value for this column (false only for JSON Lines rows without the key).
    public func isPresent(row: Int, column: Int) -> Bool { kind(row: row, column: column) != .absent }

    /// Whether ``replaceColumn(_:with:)`` replaced this column.
    public func isReplaced(column: Int) -> Bool { layout.originals[column] != nil }

    /// The column's values as read from the source, also after it was replaced.
    public func sourceColumn(_ index: Int) -> ByteColumn { layout.originals[index] ?? columns[index] }

    /// Replaces every value of one column (for example with tokens).
    ///
    /// Writers encode a replaced value for its format: CSV quotes it when it contains the
    /// delimiter, a quote, CR or LF, or when the source field was quoted; JSON Lines writes it as
    /// a JSON string, except a number replaced by a valid JSON number (kept a number) and an
    /// object or array replaced by a valid one of the same kind (written as raw JSON). A replaced value equal to the source value is written exactly as in the
    /// source, and a JSON Lines key absent from a row stays absent whatever its replacement value.
    ///
    /// - Parameters:
    ///   - index: the column.
    ///   - values: one value per row (`values.count == rowCount`).
    public mutating func replaceColumn(_ index: Int, with values: ByteColumn) {
        precondition(values.count == rowCount, "replaceColumn: \(values.count) values for \(rowCount) rows")
        if layout.originals[index] == nil { layout.originals[index] = columns[index] }
        columns[index] = values
    }

    /// The batch without the rows whose `keep` flag is false (rows the pipeline rejected).
    ///
    /// Blank lines that preceded a dropped row move to the next kept row (or to the epilogue),
    /// so the output keeps them.
    ///
    /// - Parameter keep: one flag per row.
    public func filteringRows(keep: [Bool]) -> Batch {
        precondition(keep.count == rowCount, "filteringRows: \(keep.count) flags for \(rowCount) rows")
        if !keep.contains(false) { return self }
        var out = self
        out.columns = columns.map { $0.filtered(keep: keep) }
        out.rowNumbers = rowNumbers.filtered(keep: keep)
        out.layout = layout.filtered(keep: keep, epilogue: &out.epilogue)
        return out
    }

    /// Drops the rows whose `keep` flag is false, in place. See ``filteringRows(keep:)``.
    public mutating func removeRows(keep: [Bool]) {
        self = filteringRows(keep: keep)
    }
}

/// The rows of a Parquet row group a batch holds.
package struct ParquetSlice: Sendable, Equatable {
    package var rowGroup: Int
    /// The first row's index in the row group.
    package var firstRow: Int
    /// The row group's row count.
    package var rowsInGroup: Int
    package init(rowGroup: Int, firstRow: Int, rowsInGroup: Int) {
        self.rowGroup = rowGroup
        self.firstRow = firstRow
        self.rowsInGroup = rowsInGroup
    }
}

/// Line terminators recorded per row.
package enum LineTerminator {
    package static let none: UInt8 = 0
    package static let lf: UInt8 = 1
    package static let crlf: UInt8 = 2
    /// A lone CR (classic Mac line endings).
    package static let cr: UInt8 = 3
}

/// Source-format details a writer needs to reproduce its input. Opaque to stages.
package struct SourceLayout: Sendable, Equatable {
    package enum Format: UInt8, Sendable { case memory, csv, jsonl, parquet }

    package var format: Format
    /// CSV: the field delimiter of the source.
    package var delimiter: UInt8 = UInt8(ascii: ",")
    /// CSV: the column names as the header spelled them (a writer regenerates a header whose names changed).
    package var sourceNames: [String] = []
    /// Per column, per row ``CellKind`` raw values; an empty array means every cell is `.text`.
    package var kinds: [[UInt8]]
    /// Per row line terminator (``LineTerminator``: LF, CRLF, CR or none); empty means every row ends with LF.
    package var terminators: [UInt8] = []
    /// Ascending indexes of rows preceded by blank lines, and those lines' bytes (value `k`
    /// precedes row `leadingRows[k]`).
    package var leadingRows: [Int] = []
    package var leading = ByteColumn()
    /// JSON Lines: per row the raw line, without its terminator.
    package var lines = ByteColumn()
    /// JSON Lines: per column, two entries per row: start and end of the value's source text in
    /// the row's line (for a string: including the quotes).
    package var spans: [[Int]] = []
    /// Per column: the source values of a replaced column.
    package var originals: [ByteColumn?]
    /// Parquet: which rows of which row group the batch holds (the writer copies the untouched
    /// column chunks of that row group once its last rows have passed).
    package var parquet: ParquetSlice?

    package init(format: Format, columnCount: Int) {
        self.format = format
        kinds = Array(repeating: [], count: columnCount)
        originals = Array(repeating: nil, count: columnCount)
    }

    func filtered(keep: [Bool], epilogue: inout [UInt8]) -> SourceLayout {
        var out = self
        out.kinds = kinds.map { $0.isEmpty ? $0 : $0.filtered(keep: keep) }
        if !terminators.isEmpty { out.terminators = terminators.filtered(keep: keep) }
        if !lines.isEmpty { out.lines = lines.filtered(keep: keep) }
        out.spans = spans.map { s in
            var r: [Int] = []
            r.reserveCapacity(s.count)
            for i in keep.indices where keep[i] {
                r.append(s[2 * i])
                r.append(s[2 * i + 1])
            }
            return r
        }
        out.originals = originals.map { $0?.filtered(keep: keep) }
        // Blank lines of dropped rows move to the next kept row, or to the epilogue.
        if !leadingRows.isEmpty {
            var newIndex = [Int](repeating: -1, count: keep.count)
            var n = 0
            for i in keep.indices where keep[i] {
                newIndex[i] = n
                n += 1
            }
            out.leadingRows = []
            out.leading = ByteColumn()
            var carried: [UInt8] = []
            var k = 0
            for row in keep.indices {
                if k < leadingRows.count && leadingRows[k] == row {
                    carried.append(contentsOf: leading[k])
                    k += 1
                }
                if keep[row] && !carried.isEmpty {
                    out.leadingRows.append(newIndex[row])
                    out.leading.append(carried[...])
                    carried.removeAll(keepingCapacity: true)
                }
            }
            if !carried.isEmpty { epilogue = carried + epilogue }
        }
        return out
    }
}

extension ByteColumn {
    /// The values whose `keep` flag is true, in order.
    public func filtered(keep: [Bool]) -> ByteColumn {
        precondition(keep.count == count, "filtered: \(keep.count) flags for \(count) values")
        var out = ByteColumn(reservingValues: count, bytes: bytes.count)
        bytes.withUnsafeBytes { raw in
            for i in 0..<count where keep[i] {
                out.append(bytes: UnsafeRawBufferPointer(rebasing: raw[offsets[i]..<offsets[i + 1]]))
            }
        }
        return out
    }
}

extension Array {
    func filtered(keep: [Bool]) -> [Element] {
        var r: [Element] = []
        r.reserveCapacity(count)
        for i in indices where keep[i] { r.append(self[i]) }
        return r
    }
}
