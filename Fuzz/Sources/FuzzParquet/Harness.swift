import Columns
import Foundation
import FuzzSupport
import Parquet
import SystemIO

/// The valid files the edits apply to: pyarrow's nested snappy fixture, and a flat file written
/// by ParquetTableWriter (strings with nulls, snappy, dictionary pages).
let originals: [[UInt8]] = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let fixture = readFile(root.appendingPathComponent("Fixtures/parquet/footer-nested-snappy.parquet").path)
    let path = workDirectory + "/table.parquet"
    do {
        let fd = try FileDescriptor.open(path, [.readWrite, .create, .truncate], mode: 0o600)
        let w = try ParquetTableWriter(output: fd, rowGroupRows: 7)
        var ids = ByteColumn(), cards = ByteColumn()
        for i in 0..<20 {
            ids.append("\(i)")
            cards.append(i % 5 == 0 ? "" : "41111111111\(10_000 + i)")
        }
        try w.write(Batch(names: ["id", "card"], columns: [ids, cards]))
        try w.finish()
        try fd.close()
    } catch {
        require(false, "writing the flat original failed: \(error)")
    }
    return [fixture, readFile(path)]
}()

let candidate = workDirectory + "/candidate.parquet"
let rewritten = workDirectory + "/rewritten.parquet"

/// Every flat column of a file as text values (nil for null), read in batches of 5 rows.
func readAll(_ path: String) throws -> (ParquetFile, [String: [[UInt8]?]], [Batch]) {
    let file = try ParquetFile(path: path)
    let reader = ParquetBatchReader(file: file, batchRows: 5, allFlatColumns: true)
    var values: [String: [[UInt8]?]] = [:]
    var batches: [Batch] = []
    while let r = try reader.next() {
        let b = r.batch
        require(b.rowCount <= 5, "a batch of \(b.rowCount) rows for 5 asked")
        for (ci, name) in b.names.enumerated() {
            for row in 0..<b.rowCount {
                values[name, default: []].append(b.kind(row: row, column: ci) == .null ? nil : Array(b.value(row: row, column: ci)))
            }
        }
        batches.append(b)
    }
    return (file, values, batches)
}

/// Parquet reader and writer over edits of valid files (or, for an input starting with `PAR1`,
/// over the input itself). Invariants: a file either reads completely or throws a ParquetError
/// (never another error, never a trap); a file that reads is rewritten — every column that can
/// be written back re-encoded from its text values, the rest copied — and the rewrite reads
/// back to the same values; an unchanged original always reads.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let script = UnsafeBufferPointer(start: data, count: size)
    let raw = size >= 4 && Array(script[0..<4]) == Array("PAR1".utf8)
    let pick = size > 0 ? Int(script[0]) % originals.count : 0
    let bytes = raw ? Array(script) : applyEdits(UnsafeBufferPointer(rebasing: script.dropFirst(min(1, size))), to: originals[pick])
    let unchanged = originals.contains(bytes)
    writeFile(candidate, bytes)
    let file: ParquetFile
    let values: [String: [[UInt8]?]]
    let batches: [Batch]
    do {
        (file, values, batches) = try readAll(candidate)
    } catch let e as ParquetError {
        require(!unchanged, "an unchanged original was refused: \(e)")
        return 0
    } catch {
        require(false, "reading threw a non-Parquet error: \(error)")
        return 0
    }
    var reencode = Set<String>()
    for top in file.schema.topLevel where top.leafCount == 1 {
        let leaf = file.schema.leaves[top.firstLeaf]
        if !leaf.isNested, leaf.maxDefinitionLevel <= 1, ValueText(leaf).isWritable, values[top.name] != nil { reencode.insert(top.name) }
    }
    do {
        let fd = try FileDescriptor.open(rewritten, [.readWrite, .create, .truncate], mode: 0o600)
        defer { try? fd.close() }
        let w = try ParquetCopyWriter(source: file, output: fd, reencode: reencode, drop: [])
        for var b in batches {
            for name in reencode { if let i = b.columnIndex(named: name) { b.replaceColumn(i, with: b.columns[i]) } }
            try w.write(b)
        }
        try w.finish()
    } catch let e as ParquetError {
        // A value the file's own type cannot hold back (a malformed date, an edited FLBA width)
        // may be refused; nothing else.
        require(e.code == .unencodable || e.code == .invalidOptions, "rewriting a readable file failed: \(e)")
        return 0
    } catch {
        require(false, "rewriting threw a non-Parquet error: \(error)")
        return 0
    }
    do {
        let (_, again, _) = try readAll(rewritten)
        require(again == values, "the rewritten file reads back to other values")
    } catch {
        require(false, "the rewritten file does not read: \(error)")
    }
    return 0
}
