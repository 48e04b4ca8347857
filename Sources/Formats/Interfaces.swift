public import Columns
public import SystemIO

/// A reader that turns a byte stream into batches, one call at a time.
///
/// The pipeline calls ``next()`` until it returns `nil`. Each result carries a batch of at most
/// the configured number of rows and the records of that stretch of input that could not be
/// read (``RowReject``). Records read = rows in all batches + all rejects (``ReadStats``).
public protocol BatchReader {
    /// The next batch and the rejects found while reading it, or `nil` at the end of the input.
    ///
    /// A batch may hold zero rows (every record of its stretch rejected, or only a header or
    /// trailing blank lines left); its rejects and prologue/epilogue must still be handled.
    ///
    /// - Throws: ``FormatError`` for what stops the whole stream: a read error, an unreadable CSV header.
    mutating func next() throws -> ReadResult?
    /// Counts so far.
    var stats: ReadStats { get }
}

/// A writer that streams batches out, reproducing the source's shape.
public protocol BatchWriter {
    /// Encodes and buffers one batch (writing full buffers to the sink).
    ///
    /// - Throws: ``FormatError`` on a write error or a value the format cannot hold.
    mutating func write(_ batch: Batch) throws
    /// Writes out whatever is buffered. Call once at the end; writing after it is allowed.
    mutating func flush() throws
}

/// One step of a ``BatchReader``.
public struct ReadResult: Sendable {
    /// The rows read.
    public var batch: Batch
    /// Records of the same stretch of input that could not be read, in input order.
    public var rejects: [RowReject]

    public init(batch: Batch, rejects: [RowReject]) {
        self.batch = batch
        self.rejects = rejects
    }
}

/// A record that could not be read. The record is not in any batch; parsing went on after it.
public struct RowReject: Sendable, Equatable, CustomStringConvertible {
    /// 1-based record number, counted like ``Batch/rowNumbers`` (CSV: records, the header being
    /// record 1 when present; JSON Lines: the line number).
    public var record: Int
    /// 1-based line of the input where the record starts.
    public var line: Int
    /// Why, in words. Never contains field values (they may be card numbers).
    public var reason: String
    /// The record's source bytes, line terminator included (truncated to the reader's maximum
    /// record size when it was longer; ``truncated`` says so).
    public var raw: [UInt8]
    /// Whether ``raw`` holds only the first bytes of the record.
    public var truncated: Bool

    public init(record: Int, line: Int, reason: String, raw: [UInt8], truncated: Bool = false) {
        self.record = record
        self.line = line
        self.reason = reason
        self.raw = raw
        self.truncated = truncated
    }

    /// `record N (line L): reason` — no field values.
    public var description: String { "record \(record) (line \(line)): \(reason)" }
}

/// What a reader has consumed so far.
public struct ReadStats: Sendable, Equatable {
    /// Data records seen (rows + rejects; a CSV header and blank lines are not records).
    public var records = 0
    /// Rows returned in batches.
    public var rows = 0
    /// Records rejected.
    public var rejects = 0
    /// Blank lines passed through (not records).
    public var blankLines = 0
    /// Bytes read from the source.
    public var bytes = 0

    public init() {}
}

/// An error that stops a stream: a code and a human reason (never field values; for an I/O error
/// the system error as SystemIO reports it). Equality compares the code only; the description is
/// `code: reason`.
public typealias FormatError = ModuleError<FormatErrorCode>

/// The codes of ``FormatError``.
public enum FormatErrorCode: String, ErrorCode {
    /// Reading the source or writing the sink failed (the reason holds the system error).
    case io
    /// The CSV header record is malformed.
    case badHeader
    /// The CSV header record looks like a data row (a card number, SSN, email, phone, IBAN, or
    /// mostly numbers and dates): the file probably has no header; read it with `--no-header`.
    case headerLooksLikeData
    /// The CSV header names a column twice (the names would share one policy rule).
    case duplicateHeader
    /// A value cannot be written in the output format (for example invalid UTF-8 in a JSON string).
    case unencodableValue
    /// A value handed to ``JSONContainer`` is not a valid JSON object or array.
    case invalidJSON
    /// Reader or writer options are inconsistent.
    case invalidOptions
}
