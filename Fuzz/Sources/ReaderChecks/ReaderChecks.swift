public import Columns
public import Formats

#if canImport(Glibc)
    import Glibc
#endif

func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() {
        var line = "INVARIANT FAILED: \(message())\n"
        line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
        abort()
    }
}

/// Options a harness takes from the input's first byte, so that one input is read with several
/// batch and chunk sizes (records split across reads and batches).
public struct ReadShape {
    public let batchRows: Int
    public let chunkSize: Int
    public let maxRecordBytes: Int
    public let maxReadSize: Int

    public init(_ b: UInt8) {
        batchRows = [1, 2, 3, 7, 8192][Int(b & 7) % 5]
        chunkSize = [1, 5, 64, 1 << 20][Int(b >> 3) & 3]
        maxRecordBytes = (b & 0x20) != 0 ? 40 : 16 << 20
        maxReadSize = (b & 0x40) != 0 ? 3 : .max
    }
}

/// Reads everything and checks the accounting every reader promises (Interfaces.swift):
/// records = rows + rejects; the counters equal what was returned; no batch over `batchRows`;
/// every record number once, as a row or a reject (CSV: `contiguousFrom` on, counting records;
/// JSON Lines, `nil`: line numbers, so blank lines leave gaps); the whole input consumed.
/// - Returns: the batches and rejects, or nil when the stream was refused (a `FormatError`).
public func readChecked(
    _ reader: inout some BatchReader, input: [UInt8], batchRows: Int, contiguousFrom: Int?
) -> (batches: [Batch], rejects: [RowReject])? {
    var batches: [Batch] = []
    var rejects: [RowReject] = []
    do {
        while let r = try reader.next() {
            require(r.batch.rowCount + r.rejects.count <= batchRows, "batch of \(r.batch.rowCount) rows + \(r.rejects.count) rejects over \(batchRows)")
            batches.append(r.batch)
            rejects += r.rejects
        }
    } catch let e as FormatError {
        // A stream-stopping error must be one of the documented codes for reading.
        require([.badHeader, .headerLooksLikeData, .duplicateHeader].contains(e.code), "unexpected reader error \(e)")
        return nil
    } catch {
        require(false, "reader threw a non-FormatError: \(error)")
    }
    let s = reader.stats
    let rows = batches.reduce(0) { $0 + $1.rowCount }
    require(s.records == s.rows + s.rejects, "stats: \(s.records) records ≠ \(s.rows) rows + \(s.rejects) rejects")
    require(s.rows == rows, "stats.rows \(s.rows) ≠ \(rows) rows returned")
    require(s.rejects == rejects.count, "stats.rejects \(s.rejects) ≠ \(rejects.count) rejects returned")
    require(s.bytes == input.count, "read \(s.bytes) of \(input.count) bytes")
    let numbers = (batches.flatMap(\.rowNumbers) + rejects.map(\.record)).sorted()
    if let first = contiguousFrom {
        require(numbers == Array(first..<first + s.records), "record numbers are not \(first)..<\(first + s.records): \(numbers.prefix(20))")
    } else {
        require(numbers.count == s.records && Set(numbers).count == numbers.count, "a line number twice: \(numbers.prefix(20))")
        require(numbers.allSatisfy { $0 >= 1 && $0 <= s.records + s.blankLines }, "a line number beyond the lines read")
    }
    for b in batches {
        require(b.rowNumbers == b.rowNumbers.sorted(), "row numbers out of order in a batch")
        for c in 0..<b.columnCount { require(b.sourceColumn(c).count == b.rowCount, "column \(c) has a row count unlike the batch") }
    }
    for r in rejects where !r.truncated {
        require(r.raw.count <= input.count, "reject raw longer than the input")
    }
    return (batches, rejects)
}

/// Writing the batches back reproduces the input byte for byte when nothing was rejected.
public func requireRoundTrip(_ input: [UInt8], _ out: [UInt8], rejects: [RowReject]) {
    if rejects.isEmpty {
        require(out == input, "no rejects, but writing the batches back gives \(out.count) bytes for \(input.count), not the input")
    } else {
        require(out.count <= input.count, "writing the batches back gives more bytes (\(out.count)) than the input (\(input.count))")
    }
}
