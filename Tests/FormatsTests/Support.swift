import Columns
import Formats
import Foundation
import Testing

/// `Fixtures/formats` of this repository.
let fixturesDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/formats")

func fixture(_ name: String) throws -> [UInt8] {
    Array(try Data(contentsOf: fixturesDirectory.appendingPathComponent(name)))
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }
func text(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self) }

/// A reader/writer pairing under test.
enum Format {
    case csv(CSVReadOptions)
    case jsonl(JSONLReadOptions)

    static let csv = Format.csv(CSVReadOptions())
    static let jsonl = Format.jsonl(JSONLReadOptions())

    /// The format of a fixture, by extension (and `.tsv` for tab-separated).
    static func of(_ name: String) -> Format {
        if name.hasSuffix(".jsonl") { return .jsonl }
        var o = CSVReadOptions()
        if name.hasSuffix(".tsv") { o.delimiter = 0x09 }
        if name.contains("semicolon") { o.delimiter = UInt8(ascii: ";") }
        if name.contains("pipe") { o.delimiter = UInt8(ascii: "|") }
        if name.contains("no-header") { o.hasHeader = false }
        return .csv(o)
    }

    func with(chunkSize: Int, batchRows: Int) -> Format {
        switch self {
        case .csv(var o):
            o.chunkSize = chunkSize
            o.batchRows = batchRows
            return .csv(o)
        case .jsonl(var o):
            o.chunkSize = chunkSize
            o.batchRows = batchRows
            return .jsonl(o)
        }
    }

    func reader(_ source: some ByteSource) throws -> any BatchReader {
        switch self {
        case .csv(let o): try CSVReader(source: source, options: o)
        case .jsonl(let o): try JSONLReader(source: source, options: o)
        }
    }

    func writer(_ sink: some ByteSink) throws -> any BatchWriter {
        switch self {
        case .csv: try CSVWriter(sink: sink)
        case .jsonl: JSONLWriter(sink: sink)
        }
    }
}

struct ReadAll {
    var batches: [Batch] = []
    var rejects: [RowReject] = []
    var stats = ReadStats()

    var rows: Int { batches.reduce(0) { $0 + $1.rowCount } }
}

/// Reads everything; `maxRead` caps each read of the source (splitting records anywhere).
func readAll(_ input: [UInt8], _ format: Format, maxRead: Int = .max) throws -> ReadAll {
    var reader = try format.reader(MemorySource(input, maxReadSize: maxRead))
    var all = ReadAll()
    while let r = try reader.next() {
        all.batches.append(r.batch)
        all.rejects.append(contentsOf: r.rejects)
    }
    all.stats = reader.stats
    return all
}

func writeAll(_ batches: [Batch], _ format: Format) throws -> [UInt8] {
    let sink = MemorySink()
    var writer = try format.writer(sink)
    for b in batches { try writer.write(b) }
    try writer.flush()
    return sink.bytes
}

/// One cell, as a test sees it.
struct Cell: Equatable, CustomStringConvertible {
    var kind: CellKind
    var value: String

    init(_ kind: CellKind, _ value: String) {
        self.kind = kind
        self.value = value
    }

    var description: String { "\(kind)(\(value.debugDescription))" }
}

/// A row with its record number, cells by column name (absent cells left out).
struct FlatRow: Equatable, CustomStringConvertible {
    var record: Int
    var cells: [String: Cell]

    var description: String { "#\(record) \(cells.sorted { $0.key < $1.key })" }
}

func flatten(_ batches: [Batch]) -> [FlatRow] {
    var rows: [FlatRow] = []
    for b in batches {
        for r in 0..<b.rowCount {
            var cells: [String: Cell] = [:]
            for c in 0..<b.columnCount where b.isPresent(row: r, column: c) {
                cells[b.names[c]] = Cell(b.kind(row: r, column: c), b.string(row: r, column: c))
            }
            rows.append(FlatRow(record: b.rowNumbers[r], cells: cells))
        }
    }
    return rows
}

/// Values of one column across batches.
func columnValues(_ all: ReadAll, _ name: String) -> [String] {
    all.batches.flatMap { b -> [String] in
        guard let c = b.columnIndex(named: name) else { return Array(repeating: "<no column>", count: b.rowCount) }
        return (0..<b.rowCount).map { b.isPresent(row: $0, column: c) ? b.string(row: $0, column: c) : "<absent>" }
    }
}

/// `input` without the rejected records' bytes (rejects are whole, in-order stretches of it).
func removingRejects(_ input: [UInt8], _ rejects: [RowReject]) -> [UInt8] {
    var out: [UInt8] = []
    var cursor = 0
    for r in rejects {
        guard let at = firstIndex(of: r.raw, in: input, from: cursor) else {
            Issue.record("reject \(r) not found in the input after byte \(cursor)")
            return input
        }
        out.append(contentsOf: input[cursor..<at])
        cursor = at + r.raw.count
    }
    out.append(contentsOf: input[cursor...])
    return out
}

func firstIndex(of needle: [UInt8], in hay: [UInt8], from: Int) -> Int? {
    if needle.isEmpty { return from }
    var i = from
    while i + needle.count <= hay.count {
        if hay[i] == needle[0] && Array(hay[i..<i + needle.count]) == needle { return i }
        i += 1
    }
    return nil
}
