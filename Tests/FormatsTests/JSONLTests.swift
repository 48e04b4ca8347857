import Columns
import Formats
import Foundation
import TestSupport
import Testing

@Suite("JSON Lines reader")
struct JSONLReaderTests {
    @Test func valuesOfEveryType() throws {
        let all = try readAll(try fixture("types.jsonl"), .jsonl)
        let rows = flatten(all.batches)
        #expect(all.rejects.isEmpty)
        #expect(all.batches[0].names == ["s", "i", "n", "t", "f", "z", "o", "a", "e"])
        #expect(
            rows[0].cells == [
                "s": Cell(.string, "text"), "i": Cell(.number, "42"), "n": Cell(.number, "-3.5e+2"),
                "t": Cell(.boolean, "true"), "f": Cell(.boolean, "false"), "z": Cell(.null, "null"),
                "o": Cell(.object, #"{"a":[1,{"b":"}"}]}"#), "a": Cell(.array, #"[1,"two",null]"#),
                "e": Cell(.string, ""),
            ])
        #expect(rows[1].cells["o"] == Cell(.object, "{}"))
        #expect(rows[1].cells["n"] == Cell(.number, "1.0"))
        #expect(rows.map(\.record) == [1, 2])
    }

    @Test func absentKeysAndFirstSeenColumnOrder() throws {
        let all = try readAll(try fixture("absent.jsonl"), .jsonl)
        let b = all.batches[0]
        #expect(b.names == ["id", "name", "email", "phone"])
        #expect(columnValues(all, "name") == ["Ann", "Bob", "<absent>", "<absent>", "Chen"])
        #expect(columnValues(all, "phone") == ["<absent>", "<absent>", "<absent>", "<absent>", "+1 555 0100"])
        #expect(b.kind(row: 2, column: 1) == .absent)
        #expect(b.string(row: 2, column: 1) == "")
        #expect(b.rowNumbers == [1, 2, 3, 4, 5])
    }

    @Test func columnsGrowAcrossBatches() throws {
        let all = try readAll(try fixture("absent.jsonl"), Format.jsonl.with(chunkSize: 1 << 20, batchRows: 2))
        #expect(all.batches.map(\.names) == [["id", "name", "email"], ["id", "name", "email"], ["id", "name", "email", "phone"]])
        #expect(all.batches.map(\.rowCount) == [2, 2, 1])
    }

    @Test func escapesAreDecoded() throws {
        let all = try readAll(try fixture("escapes.jsonl"), .jsonl)
        #expect(all.rejects.isEmpty)
        let r = flatten(all.batches)
        #expect(r[0].cells["q"]?.value == "she said \"hi\"")
        #expect(r[0].cells["b"]?.value == "back\\slash")
        #expect(r[0].cells["nl"]?.value == "a\nb\tc")
        #expect(r[0].cells["u"]?.value == "café")
        #expect(r[0].cells["p"]?.value == "😀")
        #expect(r[0].cells["sl"]?.value == "a/b")
        #expect(r[0].cells["raw"]?.value == "é日")
        #expect(r[1].cells["k\"ey"]?.value == "escaped key")
        #expect(r[1].cells["ctl"]?.value == "\u{01}\u{1F}")
    }

    @Test func badLinesAreRejectedAndReadingGoesOn() throws {
        let input = try fixture("bad-lines.jsonl")
        let all = try readAll(input, .jsonl)
        #expect(all.batches.flatMap(\.rowNumbers) == [1, 12])
        #expect(columnValues(all, "id") == ["1", "13"])
        #expect(all.rejects.map(\.record) == Array(2...11))
        let reasons = all.rejects.map(\.reason)
        #expect(reasons[0].hasPrefix("expected ',' or a closing bracket"))
        #expect(reasons[1] == "not a JSON object")  // array
        #expect(reasons[2] == "not a JSON object")  // string
        #expect(reasons[3].hasPrefix("unexpected text after the object"))
        #expect(reasons[4].hasPrefix("duplicate key"))
        #expect(reasons[5].hasPrefix("invalid \\u escape"))
        #expect(reasons[6] == "invalid UTF-8")
        #expect(reasons[7].hasPrefix("unescaped control character"))
        #expect(reasons[8].hasPrefix("invalid JSON number"))
        #expect(reasons[9].hasPrefix("expected a key string"))
        // The key seen only on a rejected line does not become a column.
        #expect(all.batches[0].names == ["id", "v"])
        #expect(all.rejects[1].raw == bytes("[1,2,3]\n"))
        #expect(all.stats.records == 12 && all.stats.rows == 2 && all.stats.rejects == 10)
        for r in all.rejects {
            for value in ["missing", "trailing", "lone", "caf", "tab", "only on"] { #expect(!r.reason.contains(value)) }
        }
        #expect(try writeAll(all.batches, .jsonl) == removingRejects(input, all.rejects))
    }

    @Test func countsReconcileAcrossBatches() throws {
        for name in ["bad-lines.jsonl", "blank-lines.jsonl", "absent.jsonl"] {
            let input = try fixture(name)
            let lines = text(input).split(separator: "\n", omittingEmptySubsequences: false)
            let recordLines = lines.indices.filter { !lines[$0].allSatisfy { $0 == " " || $0 == "\t" || $0 == "\r" } }.map { $0 + 1 }
            for batchRows in [1, 2, 5, 8192] {
                let all = try readAll(input, Format.jsonl.with(chunkSize: 7, batchRows: batchRows))
                #expect(all.stats.records == all.rows + all.rejects.count)
                // Every non-blank line is a row or a reject, once.
                #expect((all.batches.flatMap(\.rowNumbers) + all.rejects.map(\.record)).sorted() == recordLines, "\(name)")
            }
        }
    }

    @Test func blankLinesPassThroughAndAreNotRecords() throws {
        let input = try fixture("blank-lines.jsonl")
        let all = try readAll(input, .jsonl)
        #expect(all.batches.flatMap(\.rowNumbers) == [2, 5])  // line numbers count blank lines
        #expect(all.stats.blankLines == 4)
        #expect(all.stats.records == 2)
        #expect(try writeAll(all.batches, .jsonl) == input)
    }

    @Test func lineEndingsBOMAndNoTrailingNewline() throws {
        let crlf = try readAll(try fixture("crlf.jsonl"), .jsonl)
        #expect(columnValues(crlf, "b") == ["1", "2"])
        let bom = try readAll(try fixture("bom.jsonl"), .jsonl)
        #expect(bom.batches[0].names == ["a"])
        let last = try readAll(try fixture("no-trailing-newline.jsonl"), .jsonl)
        #expect(columnValues(last, "a") == ["1", "two"])
    }

    @Test func deepNestingIsRejected() throws {
        let deep = String(repeating: "[", count: 300) + String(repeating: "]", count: 300)
        let all = try readAll(bytes("{\"a\":\(deep)}\n{\"a\":[[1]]}\n"), .jsonl)
        #expect(all.rejects.map(\.reason) == ["nesting too deep at byte 6"])
        #expect(columnValues(all, "a") == ["[[1]]"])
    }
}

@Suite("JSON Lines writer")
struct JSONLWriterTests {
    static let jsonlFixtures = [
        "types.jsonl", "absent.jsonl", "escapes.jsonl", "bad-lines.jsonl", "crlf.jsonl", "bom.jsonl",
        "blank-lines.jsonl", "no-trailing-newline.jsonl", "spacing.jsonl", "cr.jsonl",
    ]

    @Test(arguments: jsonlFixtures)
    func roundTripIsByteIdentical(name: String) throws {
        let input = try fixture(name)
        let all = try readAll(input, .jsonl)
        let out = try writeAll(all.batches, .jsonl)
        #expect(out == removingRejects(input, all.rejects))
        if all.rejects.isEmpty { #expect(out == input) }
    }

    @Test func replacedValuesAreSplicedAsJSONStrings() throws {
        let input = bytes(
            """
            {"id":1,"name":"Ann","card":4111111111111111}
            { "card" : "4000056655665556" , "id":2}
            {"id":3,"name":null,"card":"x"}

            """)
        let all = try readAll(input, .jsonl)
        var b = all.batches[0]
        let name = try #require(b.columnIndex(named: "name"))
        let card = try #require(b.columnIndex(named: "card"))
        b.replaceColumn(name, with: ByteColumn(["A\"n\\n", "ignored: absent", "null"]))
        b.replaceColumn(card, with: ByteColumn(["tok,1\n", "é😀\u{01}", "x"]))
        let out = text(try writeAll([b], .jsonl))
        #expect(
            out == """
                {"id":1,"name":"A\\"n\\\\n","card":"tok,1\\n"}
                { "card" : "é😀\\u0001" , "id":2}
                {"id":3,"name":null,"card":"x"}

                """)
        // It reads back as the replacement values.
        let back = flatten(try readAll(bytes(out), .jsonl).batches)
        #expect(back[0].cells["name"] == Cell(.string, "A\"n\\n"))
        #expect(back[0].cells["card"] == Cell(.string, "tok,1\n"))
        #expect(back[1].cells["card"] == Cell(.string, "é😀\u{01}"))
        #expect(back[1].cells["name"] == nil)  // absent stays absent
        #expect(back[2].cells["name"] == Cell(.null, "null"))  // unchanged value: source text
    }

    @Test func replacingWithTheSameValuesKeepsTheSourceBytes() throws {
        for name in ["types.jsonl", "escapes.jsonl", "spacing.jsonl", "absent.jsonl"] {
            let input = try fixture(name)
            var batches = try readAll(input, .jsonl).batches
            for i in batches.indices {
                for c in 0..<batches[i].columnCount { batches[i].replaceColumn(c, with: batches[i].columns[c]) }
            }
            #expect(try writeAll(batches, .jsonl) == input, "\(name)")
        }
    }

    @Test func invalidUTF8ReplacementThrows() throws {
        var b = try readAll(bytes("{\"a\":\"x\"}\n"), .jsonl).batches[0]
        var bad = ByteColumn()
        bad.append([0xFF][...])
        b.replaceColumn(0, with: bad)
        #expect(throws: FormatError(.unencodableValue, "")) { try writeAll([b], .jsonl) }
    }

    @Test func droppedRows() throws {
        let input = try fixture("blank-lines.jsonl")
        let b = try readAll(input, .jsonl).batches[0].filteringRows(keep: [false, true])
        // The dropped row's leading blank line moves to the next row.
        #expect(text(try writeAll([b], .jsonl)) == "\n   \n\t\n{\"a\":2}\n\n")
    }

    @Test func csvBatchesBecomeObjectsAndBack() throws {
        let csv = try readAll(try fixture("quoted.csv"), .csv)
        let jsonl = try writeAll(csv.batches, .jsonl)
        let lines = text(jsonl).split(separator: "\n")
        #expect(lines.count == 6)
        #expect(lines[1] == #"{"id":"2","note":"she said \"hi\"","pan":"4000 0566 5566 5556","comment":""}"#)
        let back = try readAll(jsonl, .jsonl)
        for name in ["id", "note", "pan", "comment"] { #expect(columnValues(back, name) == columnValues(csv, name)) }
        // JSON Lines to CSV: absent cells are empty fields.
        let fromJSON = try writeAll(try readAll(try fixture("absent.jsonl"), .jsonl).batches, .csv)
        #expect(text(fromJSON) == "id,name,email,phone\n1,Ann,,\n2,Bob,bob@example.com,\n3,,,\n,,,\n4,Chen,c@example.org,+1 555 0100\n")
    }
}

@Suite("JSON Lines streaming")
struct JSONLStreamingTests {
    @Test(arguments: JSONLWriterTests.jsonlFixtures)
    func chunkBoundariesDoNotMatter(name: String) throws {
        let input = try fixture(name)
        let whole = try readAll(input, .jsonl)
        let expectedRows = flatten(whole.batches)
        let expectedOut = try writeAll(whole.batches, .jsonl)
        for chunk in [1, 2, 3, 5, 7, 13, 64, 4096] {
            for batchRows in [1, 2, 3, 8192] {
                for maxRead in [1, 3, chunk] {
                    let got = try readAll(input, Format.jsonl.with(chunkSize: chunk, batchRows: batchRows), maxRead: maxRead)
                    let tag = "\(name) chunk \(chunk) batch \(batchRows) read \(maxRead)"
                    #expect(flatten(got.batches) == expectedRows, "\(tag)")
                    #expect(got.rejects == whole.rejects, "\(tag)")
                    #expect(got.stats == whole.stats, "\(tag)")
                    #expect(try writeAll(got.batches, .jsonl) == expectedOut, "\(tag)")
                    for b in got.batches { #expect(b.rowCount <= batchRows) }
                }
            }
        }
    }

    /// Generated objects (random key order and absence, escapes, long strings, nested values),
    /// read in random chunk sizes: decoded values as built, output byte-identical.
    @Test(arguments: [11, 12, 13])
    func generatedInputRoundTrips(seed: UInt64) throws {
        var g = SplitMix64(seed: seed)
        let keys = ["id", "name", "card", "note", "k\\u00e9y", "nested"]
        let decodedKeys = ["id", "name", "card", "note", "kéy", "nested"]
        // (JSON source text, decoded value)
        let pieces: [(String, String)] = [
            ("a", "a"), ("\\\"", "\""), ("\\\\", "\\"), ("\\n", "\n"), ("\\u00e9", "é"), ("é", "é"),
            ("\\ud83d\\ude00", "😀"), ("日本", "日本"), ("0123456789abcdef", "0123456789abcdef"),
            (String(repeating: "long text ", count: 5), String(repeating: "long text ", count: 5)), (" ", " "),
        ]
        var input: [UInt8] = []
        var expected: [[String: Cell]] = []
        for i in 0..<300 {
            var fields: [String] = []
            var cells: [String: Cell] = [:]
            for k in keys.indices.shuffled(using: &g) where k == 0 || Int.random(in: 0..<4, using: &g) > 0 {
                let value: (String, Cell)
                switch k {
                case 0: value = ("\(i)", Cell(.number, "\(i)"))
                case 5: value = (#"{"a": [1, "}\"", {"b": null}]}"#, Cell(.object, #"{"a": [1, "}\"", {"b": null}]}"#))
                default:
                    var src = ""
                    var dec = ""
                    for _ in 0..<Int.random(in: 0...6, using: &g) {
                        let p = pieces.randomElement(using: &g)!
                        src += p.0
                        dec += p.1
                    }
                    value = ("\"" + src + "\"", Cell(.string, dec))
                }
                let space = Bool.random(using: &g) ? " " : ""
                fields.append("\"\(keys[k])\"\(space):\(space)\(value.0)")
                cells[decodedKeys[k]] = value.1
            }
            expected.append(cells)
            input += bytes("{" + fields.joined(separator: ",") + "}\n")
        }
        for chunk in [1, 7, 100, 1 << 20] {
            let maxRead = Int.random(in: 1...64, using: &g)
            let all = try readAll(input, Format.jsonl.with(chunkSize: chunk, batchRows: 41), maxRead: maxRead)
            #expect(all.rejects.isEmpty)
            #expect(flatten(all.batches).map(\.cells) == expected)
            #expect(try writeAll(all.batches, .jsonl) == input)
        }
    }

    @Test func overlongLineIsRejectedAndSkipped() throws {
        let input = bytes("{\"a\":1}\n{\"a\":\"") + [UInt8](repeating: 0x78, count: 1000) + bytes("\"}\n{\"a\":3}\n")
        var o = JSONLReadOptions(chunkSize: 32, maxRecordBytes: 100)
        o.batchRows = 10
        let all = try readAll(input, .jsonl(o))
        #expect(all.rejects.count == 1)
        #expect(all.rejects[0].truncated && all.rejects[0].raw.count == 100 && all.rejects[0].record == 2)
        #expect(columnValues(all, "a") == ["1", "3"])
        #expect(all.batches.flatMap(\.rowNumbers) == [1, 3])
    }
}

@Suite("Batch")
struct BatchTests {
    @Test func inMemoryBatchAndFiltering() {
        let b = Batch(names: ["a", "b"], columns: [ByteColumn(["1", "2", "3"]), ByteColumn(["x", "", "z"])])
        #expect(b.rowNumbers == [1, 2, 3])
        #expect(b.kind(row: 1, column: 1) == .text)
        let f = b.filteringRows(keep: [true, false, true])
        #expect(f.columns[0].strings == ["1", "3"])
        #expect(f.columns[1].strings == ["x", "z"])
        #expect(f.rowNumbers == [1, 3])
        var r = f
        r.replaceColumn(1, with: ByteColumn(["p", "q"]))
        #expect(r.isReplaced(column: 1) && !r.isReplaced(column: 0))
        #expect(r.sourceColumn(1).strings == ["x", "z"])
        #expect(r.columns[1].strings == ["p", "q"])
    }
}
