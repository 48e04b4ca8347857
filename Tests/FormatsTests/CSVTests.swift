import Columns
import Formats
import Foundation
import TestSupport
import Testing

@Suite("CSV reader")
struct CSVReaderTests {
    @Test func basicHeaderValuesAndRecordNumbers() throws {
        let all = try readAll(try fixture("basic.csv"), .csv)
        let b = try #require(all.batches.first)
        #expect(all.batches.count == 1)
        #expect(b.names == ["id", "name", "city", "amount"])
        #expect(b.rowCount == 3)
        #expect(b.rowNumbers == [2, 3, 4])
        #expect(columnValues(all, "city") == ["Paris", "Berlin", "Shanghai"])
        #expect(columnValues(all, "amount") == ["10.50", "7", "0"])
        #expect(b.kinds(column: 1).isEmpty)  // no quoted field: every cell .text
        #expect(all.rejects.isEmpty)
        #expect(all.stats.records == 3 && all.stats.rows == 3 && all.stats.rejects == 0)
        #expect(all.stats.bytes == (try fixture("basic.csv")).count)
    }

    @Test func quotedFieldsEscapesEmbeddedNewlinesAndDelimiters() throws {
        let all = try readAll(try fixture("quoted.csv"), .csv)
        #expect(all.rejects.isEmpty)
        #expect(columnValues(all, "id") == ["1", "2", "3", "4", "5", "6"])
        #expect(columnValues(all, "note") == ["hello, world", "she said \"hi\"", "line one\nline two", "", "\"quoted at start", "last"])
        #expect(columnValues(all, "pan") == ["4111111111111111", "4000 0566 5566 5556", "5555555555554444", "", "x,y,z", ""])
        // A quote inside an unquoted field is literal; CRLF inside quotes is data.
        #expect(columnValues(all, "comment") == ["plain", "", "a\r\nb", "5'10\" tall", "trailing \"", ""])
        let b = all.batches[0]
        let note = try #require(b.columnIndex(named: "note"))
        #expect(b.kind(row: 0, column: note) == .quotedText)
        #expect(b.kind(row: 3, column: note) == .text)
        #expect(b.kind(row: 5, column: 0) == .quotedText)  // "6"
        #expect(b.kind(row: 3, column: 2) == .quotedText)  // "" is a quoted empty field
        // Record numbers count records, not lines: record 4 spans lines 4-5.
        #expect(b.rowNumbers == [2, 3, 4, 5, 6, 7])
    }

    @Test(arguments: [
        ("semicolon.csv", [["1", "Ann", "a;b"], ["2", "Bob", "c,d"]]),
        ("tab.tsv", [["1", "Ann", "a\tb"], ["2", "Bob", "c;d"]]),
        ("pipe.csv", [["1", "Ann", "a|b"], ["2", "Bob", "plain"]]),
    ])
    func otherDelimiters(name: String, rows: [[String]]) throws {
        let all = try readAll(try fixture(name), Format.of(name))
        #expect(all.batches[0].names == ["id", "name", "note"])
        let got = (0..<all.batches[0].rowCount).map { r in (0..<3).map { all.batches[0].string(row: r, column: $0) } }
        #expect(got == rows)
    }

    @Test func crlfAndMixedLineEndings() throws {
        let all = try readAll(try fixture("crlf.csv"), .csv)
        #expect(all.batches[0].names == ["id", "name", "email"])
        #expect(columnValues(all, "email") == ["ann@example.com", "j@example.org", ""])  // no stray CR
        #expect(columnValues(all, "name") == ["Ann", "Smith, J", ""])
        let mixed = try readAll(try fixture("mixed-endings.csv"), .csv)
        #expect(columnValues(mixed, "b") == ["2", "4", "6"])
    }

    @Test func byteOrderMarkIsSkippedAndKept() throws {
        let input = try fixture("bom.csv")
        let all = try readAll(input, .csv)
        #expect(all.batches[0].names == ["id", "name"])
        #expect(columnValues(all, "name") == ["élodie", "Zoë"])
        #expect(all.batches[0].prologue.starts(with: [0xEF, 0xBB, 0xBF]))
        #expect(try writeAll(all.batches, .csv) == input)
    }

    @Test func noHeaderNamesColumnsByPosition() throws {
        let all = try readAll(try fixture("no-header.csv"), Format.of("no-header.csv"))
        let b = all.batches[0]
        #expect(b.names == ["column1", "column2", "column3"])
        #expect(b.rowNumbers == [1, 2])
        #expect(columnValues(all, "column2") == ["Alice", "Bob, Jr"])
    }

    @Test func emptyFieldsAndSingleColumn() throws {
        let all = try readAll(try fixture("empty-fields.csv"), .csv)
        #expect(columnValues(all, "a") == ["", "1", "", ""])
        #expect(columnValues(all, "c") == ["", "", "3", ""])
        #expect(all.batches[0].kind(row: 3, column: 1) == .quotedText)
        let single = try readAll(try fixture("single-column.csv"), .csv)
        #expect(columnValues(single, "v") == ["x", "", "y"])
    }

    @Test func finalLineWithoutNewline() throws {
        let all = try readAll(try fixture("no-trailing-newline.csv"), .csv)
        #expect(columnValues(all, "v") == ["x", "y"])
        let crlf = try readAll(try fixture("no-trailing-newline-crlf.csv"), .csv)
        #expect(columnValues(crlf, "v") == ["x", "y"])
    }

    @Test func blankLinesAreNotRecordsAndPassThrough() throws {
        let input = try fixture("blank-lines.csv")
        let all = try readAll(input, .csv)
        #expect(all.batches[0].names == ["id", "v"])
        #expect(columnValues(all, "v") == ["a", "b"])
        #expect(all.batches[0].rowNumbers == [2, 3])
        #expect(all.stats.blankLines == 5)
        #expect(all.stats.records == 2)
        #expect(try writeAll(all.batches, .csv) == input)
    }

    @Test func headerOnlyAndEmptyInput() throws {
        let header = try readAll(bytes("a,b\n"), .csv)
        #expect(header.batches.count == 1)
        #expect(header.batches[0].names == ["a", "b"])
        #expect(header.batches[0].rowCount == 0)
        #expect(try writeAll(header.batches, .csv) == bytes("a,b\n"))
        let empty = try readAll([], .csv)
        #expect(empty.batches.isEmpty)
        #expect(try writeAll(empty.batches, .csv).isEmpty)
    }
}

@Suite("CSV rejects")
struct CSVRejectTests {
    @Test func raggedRowsAreRejectedAndReadingGoesOn() throws {
        let input = try fixture("ragged.csv")
        let all = try readAll(input, .csv)
        #expect(columnValues(all, "name") == ["Ann", "Dee"])
        #expect(all.batches[0].rowNumbers == [2, 5])
        #expect(all.rejects.map(\.record) == [3, 4])
        #expect(all.rejects.map(\.line) == [3, 4])
        #expect(all.rejects.map(\.reason) == ["expected 3 fields, found 2", "expected 3 fields, found 4"])
        #expect(all.rejects.map(\.raw) == [bytes("2,Bob\n"), bytes("3,Chen,Shanghai,extra\n")])
        #expect(all.stats.records == all.stats.rows + all.stats.rejects)
        #expect(try writeAll(all.batches, .csv) == removingRejects(input, all.rejects))
    }

    @Test func unclosedQuoteAtEndOfInputRejectsItsFirstLine() throws {
        let input = try fixture("unclosed-quote.csv")
        let all = try readAll(input, .csv)
        #expect(all.rejects.count == 1)
        let r = try #require(all.rejects.first)
        #expect(r.record == 3 && r.line == 3)
        #expect(r.raw == bytes("2,\"never closed\n"))
        #expect(r.reason.contains("unclosed quoted field"))
        // Reading resumed on the next line.
        #expect(columnValues(all, "note") == ["ok", "after"])
        #expect(all.batches[0].rowNumbers == [2, 4])
        #expect(all.stats.records == 3 && all.stats.rows == 2 && all.stats.rejects == 1)
        #expect(try writeAll(all.batches, .csv) == removingRejects(input, all.rejects))
    }

    @Test func invalidUTF8IsRejected() throws {
        let input = try fixture("invalid-utf8.csv")
        let all = try readAll(input, .csv)
        #expect(all.rejects.map(\.record) == [2, 4])
        #expect(all.rejects.allSatisfy { $0.reason == "invalid UTF-8" })
        #expect(all.rejects[0].raw == [0x31, 0x2C, 0x63, 0x61, 0x66, 0xE9, 0x0A])
        #expect(columnValues(all, "name") == ["ok", "fine"])
        // The same bytes pass when validation is off.
        var o = CSVReadOptions()
        o.validateUTF8 = false
        #expect(try readAll(input, .csv(o)).rejects.isEmpty)
    }

    @Test func textAfterAClosingQuoteIsRejected() throws {
        let all = try readAll(try fixture("after-quote.csv"), .csv)
        #expect(all.rejects.map(\.record) == [2])
        #expect(all.rejects[0].reason == "unexpected character after a closing quote")
        #expect(all.rejects[0].raw == bytes("1,\"ab\"c\n"))
        #expect(columnValues(all, "v") == ["ok", "x"])
    }

    @Test func reasonsNeverContainFieldValues() throws {
        for name in ["ragged.csv", "unclosed-quote.csv", "invalid-utf8.csv", "after-quote.csv"] {
            let all = try readAll(try fixture(name), .csv)
            #expect(!all.rejects.isEmpty)
            for r in all.rejects {
                for value in ["Bob", "Chen", "Shanghai", "never", "caf", "ab"] {
                    #expect(!r.reason.contains(value), "\(name): \(r.reason)")
                }
            }
        }
    }

    @Test func overlongRecordIsRejectedWithBoundedMemory() throws {
        // A stray quote opens a field that would swallow the rest of the input.
        var input = bytes("id,v\n1,\"stray\n")
        for i in 0..<200 { input += bytes("\(i + 2),value\n") }
        var o = CSVReadOptions()
        o.maxRecordBytes = 64
        o.chunkSize = 16
        let all = try readAll(input, .csv(o))
        #expect(all.rejects.count == 1)
        #expect(all.rejects[0].raw == bytes("1,\"stray\n"))
        #expect(all.rejects[0].reason.contains("longer than 64 bytes"))
        #expect(all.rows == 200)
        #expect(all.stats.records == 201)

        // A single line longer than the limit: raw truncated, the rest of the line skipped.
        let long = bytes("id,v\n1,") + [UInt8](repeating: UInt8(ascii: "x"), count: 500) + bytes("\n2,ok\n")
        let l = try readAll(long, .csv(o))
        #expect(l.rejects.count == 1)
        #expect(l.rejects[0].truncated)
        #expect(l.rejects[0].raw.count == 64)
        #expect(columnValues(l, "v") == ["ok"])
        #expect(l.stats.records == 2)
    }

    @Test func withoutHeaderTheFirstRecordSetsTheFieldCount() throws {
        var o = CSVReadOptions()
        o.hasHeader = false
        let all = try readAll(bytes("a,b\nc\nd,e,f\ng,h\n"), .csv(o))
        #expect(all.batches[0].names == ["column1", "column2"])
        #expect(all.batches[0].rowNumbers == [1, 4])
        #expect(all.rejects.map(\.record) == [2, 3])
    }

    @Test func batchesAreBoundedByRowsAndBytes() throws {
        var input = bytes("id,v\n")
        for i in 0..<5000 { input += bytes("\(i),\(String(repeating: "x", count: i % 50))\n") }
        var o = CSVReadOptions(batchRows: 700, chunkSize: 4096)
        let byRows = try readAll(input, .csv(o))
        #expect(byRows.batches.map(\.rowCount) == [700, 700, 700, 700, 700, 700, 700, 100])
        o.maxBatchBytes = 10_000
        let byBytes = try readAll(input, .csv(o))
        #expect(byBytes.rows == 5000)
        for b in byBytes.batches {
            let bytes = b.columns.reduce(0) { $0 + $1.bytes.count }
            #expect(bytes < 10_000 + 100)  // the record that crosses the bound ends the batch
        }
        #expect(try writeAll(byBytes.batches, .csv) == input)
    }

    @Test func malformedHeaderStopsTheStream() throws {
        #expect(throws: FormatError(.badHeader, "")) { try readAll(bytes("a,\"b\n1,2\n"), .csv) }
        #expect(throws: FormatError(.badHeader, "")) { try readAll(bytes("a,\"b\"x\n1,2\n"), .csv) }
        #expect(throws: FormatError(.invalidOptions, "")) {
            try CSVReader(bytes: [], options: CSVReadOptions(delimiter: UInt8(ascii: "\"")))
        }
    }

    @Test func countsReconcileAcrossBatches() throws {
        for name in ["ragged.csv", "unclosed-quote.csv", "invalid-utf8.csv", "after-quote.csv", "quoted.csv"] {
            for batchRows in [1, 2, 3, 100] {
                let all = try readAll(try fixture(name), Format.of(name).with(chunkSize: 5, batchRows: batchRows))
                #expect(all.stats.records == all.rows + all.rejects.count, "\(name)")
                #expect(all.stats.rows == all.rows && all.stats.rejects == all.rejects.count)
                for b in all.batches { #expect(b.rowCount <= batchRows) }
                // Every record number appears exactly once, as a row or a reject.
                let numbers = (all.batches.flatMap(\.rowNumbers) + all.rejects.map(\.record)).sorted()
                let first = name == "no-header.csv" ? 1 : 2
                #expect(numbers == Array(first..<first + all.stats.records), "\(name)")
            }
        }
    }
}

@Suite("CSV writer")
struct CSVWriterTests {
    static let csvFixtures = [
        "basic.csv", "quoted.csv", "crlf.csv", "mixed-endings.csv", "bom.csv", "no-trailing-newline.csv",
        "no-trailing-newline-crlf.csv", "semicolon.csv", "tab.tsv", "pipe.csv", "no-header.csv", "blank-lines.csv",
        "empty-fields.csv", "unicode.csv", "single-column.csv", "ragged.csv", "unclosed-quote.csv",
        "invalid-utf8.csv", "after-quote.csv", "cr.csv", "cr-mixed.csv",
    ]

    @Test(arguments: csvFixtures)
    func roundTripIsByteIdentical(name: String) throws {
        let input = try fixture(name)
        let format = Format.of(name)
        let all = try readAll(input, format)
        let out = try writeAll(all.batches, format)
        #expect(out == removingRejects(input, all.rejects))
        if all.rejects.isEmpty { #expect(out == input) }
    }

    /// Replaces column `name` of every batch with `f(row index in batch, source value)`.
    func replacing(_ batches: [Batch], _ name: String, _ f: (Int, String) -> String) -> [Batch] {
        batches.map { b in
            var b = b
            let c = b.columnIndex(named: name)!
            b.replaceColumn(c, with: ByteColumn((0..<b.rowCount).map { f($0, b.string(row: $0, column: c)) }))
            return b
        }
    }

    @Test func replacedValuesAreQuotedWhenNeeded() throws {
        let input = bytes("id,pan,note\n1,4111,a\n2,\"4222\",b\n3,4333,c\n4,4444,d\n5,4555,e\n")
        let all = try readAll(input, .csv)
        let tokens = ["9,1", "9\"2", "plain", "line\nbreak", "4555"]
        let out = try writeAll(replacing(all.batches, "pan") { r, _ in tokens[r] }, .csv)
        // Row 1: comma → quoted. Row 2: source quoted → stays quoted. Row 3: plain → as is.
        // Row 4: LF → quoted. Row 5: unchanged value → as in the source.
        #expect(
            text(out)
                == "id,pan,note\n1,\"9,1\",a\n2,\"9\"\"2\",b\n3,plain,c\n4,\"line\nbreak\",d\n5,4555,e\n")
        // And it reads back to the tokens.
        #expect(columnValues(try readAll(out, .csv), "pan") == tokens)
    }

    @Test func replacingWithTheSameValuesKeepsTheSourceBytes() throws {
        for name in ["quoted.csv", "crlf.csv", "bom.csv", "semicolon.csv"] {
            let input = try fixture(name)
            let format = Format.of(name)
            let all = try readAll(input, format)
            var batches = all.batches
            for i in batches.indices {
                for c in 0..<batches[i].columnCount { batches[i].replaceColumn(c, with: batches[i].columns[c]) }
            }
            #expect(try writeAll(batches, format) == input, "\(name)")
        }
    }

    @Test func otherDelimiterTokensAreQuoted() throws {
        let all = try readAll(try fixture("semicolon.csv"), Format.of("semicolon.csv"))
        let out = try writeAll(replacing(all.batches, "name") { r, _ in r == 0 ? "x;y" : "x,y" }, Format.of("semicolon.csv"))
        #expect(text(out) == "id;name;note\n1;\"x;y\";\"a;b\"\n2;x,y;c,d\n")
    }

    @Test func droppedRowsKeepTheirBlankLinesAndTheRest() throws {
        let input = bytes("id,v\n1,a\n\n2,b\r\n3,\"c\"\n")
        let all = try readAll(input, .csv)
        let b = all.batches[0].filteringRows(keep: [true, false, true])
        #expect(b.rowNumbers == [2, 4])
        #expect(b.string(row: 1, column: 1) == "c")
        #expect(text(try writeAll([b], .csv)) == "id,v\n1,a\n\n3,\"c\"\n")
        // Dropping the last rows moves their blank lines to the epilogue.
        let last = all.batches[0].filteringRows(keep: [true, false, false])
        #expect(text(try writeAll([last], .csv)) == "id,v\n1,a\n\n")
        let none = all.batches[0].filteringRows(keep: [false, false, false])
        #expect(none.rowCount == 0)
        #expect(text(try writeAll([none], .csv)) == "id,v\n\n")
    }

    @Test func inMemoryBatchIsEncoded() throws {
        let batch = Batch(
            names: ["id", "a,b", "note"],
            columns: [ByteColumn(["1", "2"]), ByteColumn(["x", "say \"hi\""]), ByteColumn(["", "two\nlines"])])
        #expect(text(try writeAll([batch], .csv)) == "id,\"a,b\",note\n1,x,\n2,\"say \"\"hi\"\"\",\"two\nlines\"\n")
        let sink = MemorySink()
        let w = try CSVWriter(sink: sink, options: CSVWriteOptions(delimiter: UInt8(ascii: "|"), lineEnding: .crlf))
        try w.write(batch)
        try w.write(batch)  // header once
        try w.flush()
        #expect(text(sink.bytes) == "id|a,b|note\r\n1|x|\r\n2|\"say \"\"hi\"\"\"|\"two\nlines\"\r\n1|x|\r\n2|\"say \"\"hi\"\"\"|\"two\nlines\"\r\n")
    }

    @Test func changingTheDelimiterReencodes() throws {
        let all = try readAll(try fixture("semicolon.csv"), Format.of("semicolon.csv"))
        let sink = MemorySink()
        let w = try CSVWriter(sink: sink, options: CSVWriteOptions(delimiter: UInt8(ascii: ",")))
        for b in all.batches { try w.write(b) }
        try w.flush()
        #expect(text(sink.bytes) == "id,name,note\n1,Ann,a;b\n2,Bob,\"c,d\"\n")
    }

    @Test func rowsAfterAnUnterminatedLastRowGetALineEnding() throws {
        let a = try readAll(bytes("v\n1"), .csv).batches
        let b = try readAll(bytes("v\n2\n"), .csv).batches.map { $0.filteringRows(keep: [true]) }
        var second = b[0]
        second.prologue = []
        #expect(text(try writeAll(a + [second], .csv)) == "v\n1\n2\n")
    }
}

@Suite("CSV streaming")
struct CSVStreamingTests {
    /// Every fixture, split at every offset pattern: same rows, rejects, counts and output as one read.
    @Test(arguments: CSVWriterTests.csvFixtures)
    func chunkBoundariesDoNotMatter(name: String) throws {
        let input = try fixture(name)
        let format = Format.of(name)
        let whole = try readAll(input, format)
        let expectedRows = flatten(whole.batches)
        let expectedOut = try writeAll(whole.batches, format)
        for chunk in [1, 2, 3, 4, 5, 7, 11, 13, 64, 4096] {
            for batchRows in [1, 2, 3, 8192] {
                for maxRead in [1, 3, chunk] {
                    let got = try readAll(input, format.with(chunkSize: chunk, batchRows: batchRows), maxRead: maxRead)
                    let tag = "\(name) chunk \(chunk) batch \(batchRows) read \(maxRead)"
                    #expect(flatten(got.batches) == expectedRows, "\(tag)")
                    #expect(got.rejects == whole.rejects, "\(tag)")
                    #expect(got.stats == whole.stats, "\(tag)")
                    #expect(try writeAll(got.batches, format) == expectedOut, "\(tag)")
                }
            }
        }
    }

    /// Generated CSV with every kind of field, read in random chunk sizes.
    @Test(arguments: [1, 2, 3, 4, 5])
    func generatedInputRoundTrips(seed: UInt64) throws {
        var g = SplitMix64(seed: seed)
        // Short pieces, and long ones so values cross the 8/16/32/64-byte copy and scan paths.
        let pieces = [
            "a", "b", ",", "\"", "\n", "\r\n", " ", "é", "日", "😀", "x1", ";", "\t", "",
            "0123456789abcdef", String(repeating: "long field ", count: 4), String(repeating: "z", count: 70),
        ]
        let columns = Int.random(in: 1...6, using: &g)
        var input: [UInt8] = []
        var expected: [[String]] = []
        let crlf = Bool.random(using: &g)
        let header = (0..<columns).map { "c\($0)" }
        input += bytes(header.joined(separator: ",") + (crlf ? "\r\n" : "\n"))
        for _ in 0..<300 {
            var row: [String] = []
            var fields: [String] = []
            for _ in 0..<columns {
                var v = ""
                for _ in 0..<Int.random(in: 0...5, using: &g) { v += pieces.randomElement(using: &g)! }
                let mustQuote = v.contains(",") || v.contains("\"") || v.contains("\n") || v.contains("\r")
                // A single-column empty value is written quoted (an empty line is not a record).
                if mustQuote || Bool.random(using: &g) || (columns == 1 && v.isEmpty) {
                    fields.append("\"" + v.replacingOccurrences(of: "\"", with: "\"\"") + "\"")
                } else {
                    fields.append(v)
                }
                row.append(v)
            }
            expected.append(row)
            input += bytes(fields.joined(separator: ",") + (crlf ? "\r\n" : "\n"))
        }
        for chunk in [1, 7, 100, 1 << 20] {
            let maxRead = Int.random(in: 1...64, using: &g)
            let all = try readAll(input, Format.csv.with(chunkSize: chunk, batchRows: 37), maxRead: maxRead)
            #expect(all.rejects.isEmpty)
            let got = all.batches.flatMap { b in (0..<b.rowCount).map { r in (0..<b.columnCount).map { b.string(row: r, column: $0) } } }
            #expect(got == expected)
            #expect(try writeAll(all.batches, .csv) == input)
        }
    }

    @Test func fileDescriptorsInAndOut() throws {
        let input = try fixture("quoted.csv")
        let dir = FileManager.default.temporaryDirectory
        let inURL = dir.appendingPathComponent("formats-in-\(UUID().uuidString).csv")
        let outURL = dir.appendingPathComponent("formats-out-\(UUID().uuidString).csv")
        try Data(input).write(to: inURL)
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: inURL)
            try? FileManager.default.removeItem(at: outURL)
        }
        let inHandle = try FileHandle(forReadingFrom: inURL)
        let outHandle = try FileHandle(forWritingTo: outURL)
        let reader = try CSVReader(fileDescriptor: inHandle.fileDescriptor, options: CSVReadOptions(batchRows: 2, chunkSize: 8))
        let writer = try CSVWriter(fileDescriptor: outHandle.fileDescriptor, options: CSVWriteOptions(bufferSize: 16))
        var batches = 0
        while let r = try reader.next() {
            #expect(r.batch.rowCount <= 2)
            try writer.write(r.batch)
            batches += 1
        }
        try writer.flush()
        try inHandle.close()
        try outHandle.close()
        #expect(batches == 3)
        #expect(Array(try Data(contentsOf: outURL)) == input)
    }

    @Test func pipeInput() throws {
        let input = try fixture("crlf.csv")
        let pipe = Pipe()
        let writerThread = Thread {
            pipe.fileHandleForWriting.write(Data(input))
            try? pipe.fileHandleForWriting.close()
        }
        writerThread.start()
        let reader = try CSVReader(fileDescriptor: pipe.fileHandleForReading.fileDescriptor)
        var batches: [Batch] = []
        while let r = try reader.next() { batches.append(r.batch) }
        #expect(try writeAll(batches, .csv) == input)
        #expect(reader.stats.bytes == input.count)
    }
}
