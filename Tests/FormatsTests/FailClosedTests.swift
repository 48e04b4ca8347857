import Columns
import Formats
import Testing

/// Issue 11 (fail closed): CR-only line endings, header checks.
@Suite("CR line endings")
struct CRLineEndingTests {
    @Test func crOnlyCSVIsReadAsRecords() throws {
        let input = try fixture("cr.csv")
        let all = try readAll(input, .csv)
        #expect(all.rejects.isEmpty)
        #expect(all.batches[0].names == ["id", "name", "pan"])
        #expect(columnValues(all, "id") == ["1", "2", "3", "4"])
        #expect(columnValues(all, "name") == ["Ann", "Smith, J", "crlf\r\ninside", "Dee"])
        // A CR inside quotes is data.
        #expect(columnValues(all, "pan") == ["4111111111111111", "line one\rline two", "x", "5555555555554444"])
        #expect(all.stats.blankLines == 1)
        #expect(try writeAll(all.batches, .csv) == input)
    }

    @Test func crOnlyCSVReplacedValuesKeepTheTerminators() throws {
        let input = try fixture("cr.csv")
        let all = try readAll(input, .csv)
        var b = all.batches[0]
        let pan = try #require(b.columnIndex(named: "pan"))
        b.replaceColumn(pan, with: ByteColumn(["T1", "line one\rline two", "T3", "T4"]))
        let out = text(try writeAll([b], .csv))
        #expect(
            out
                == "id,name,pan\r1,Ann,T1\r2,\"Smith, J\",\"line one\rline two\"\r3,\"crlf\r\ninside\",T3\r\r4,Dee,T4")
    }

    @Test func crAndCRLFMixAndJSONLines() throws {
        let mixed = try readAll(try fixture("cr-mixed.csv"), .csv)
        #expect(columnValues(mixed, "v") == ["a", "b"])
        let jl = try readAll(try fixture("cr.jsonl"), .jsonl)
        #expect(jl.rejects.isEmpty)
        #expect(columnValues(jl, "a") == ["x", "y\r", "z"])
        #expect(jl.batches[0].rowNumbers == [1, 2, 4])
        var b = jl.batches[0]
        b.replaceColumn(0, with: ByteColumn(["X", "y\r", "Z"]))
        #expect(text(try writeAll([b], .jsonl)) == "{\"a\":\"X\",\"b\":1}\r{\"a\":\"y\\r\",\"b\":2}\r\r{\"a\":\"Z\",\"b\":3}\r")
    }

    /// Generated CR-only CSV, split at many offsets.
    @Test func generatedCROnlyInputSplitAnywhere() throws {
        var input = bytes("id,note\r")
        var expected: [String] = []
        for i in 0..<50 {
            let v = i % 3 == 0 ? "\"q\r\(i)\"" : "v\(i)"
            expected.append(i % 3 == 0 ? "q\r\(i)" : "v\(i)")
            input += bytes("\(i),\(v)\r")
        }
        for chunk in [1, 2, 3, 5, 7, 64] {
            for maxRead in [1, 3, chunk] {
                let all = try readAll(input, Format.csv.with(chunkSize: chunk, batchRows: 7), maxRead: maxRead)
                #expect(all.rejects.isEmpty)
                #expect(columnValues(all, "note") == expected, "chunk \(chunk) read \(maxRead)")
                #expect(try writeAll(all.batches, .csv) == input, "chunk \(chunk) read \(maxRead)")
            }
        }
    }
}

@Suite("CSV header checks")
struct CSVHeaderCheckTests {
    func readError(_ s: String, name: String = "cards.csv") -> FormatError? {
        do {
            var o = CSVReadOptions()
            o.sourceName = name
            _ = try readAll(bytes(s), .csv(o))
            return nil
        } catch let e as FormatError {
            return e
        } catch {
            return nil
        }
    }

    @Test(arguments: [
        "4111111111111111,Alice,Paris\n2,Bob,Rome\n",
        "123-45-6789,Alice,x\n",
        "Alice,alice@example.com,x\n",
        "Alice,+1 555 0100,x\n",
        "Alice,DE89 3704 0044 0532 0130 00,x\n",
        "1,10.50,2024-01-01\n",
        "7,Alice,2024-01-31T10:00:00Z\n",
    ])
    func dataAsHeaderIsRefused(input: String) throws {
        let e = try #require(readError(input))
        #expect(e.code == .headerLooksLikeData)
        let message = "\(e)"
        #expect(message.contains("cards.csv, line 1"))
        #expect(message.contains("--no-header"))
        for secret in ["4111111111111111", "123-45-6789", "alice@example.com", "555 0100", "3704"] {
            #expect(!message.contains(secret))
        }
        // --no-header reads it.
        var o = CSVReadOptions()
        o.hasHeader = false
        #expect(try readAll(bytes(input), .csv(o)).rows >= 1)
    }

    @Test(arguments: [
        "card_number,cardNumber,Card Number\n1,2,3\n",
        "\"customer name\",\"e-mail address\",phone\nx,y,z\n",
        "address_line_2,q1_2024_total,id\na,b,c\n",
        "name,2022,2023\nAnn,1,2\n",
        "id,amount,date\n1,2,3\n",
        "ssn,iban,email,pan\n1,2,3,4\n",
        "v\nx\n",
    ])
    func realHeadersPass(input: String) throws {
        #expect(readError(input) == nil)
    }

    @Test func duplicateNamesAreRefused() throws {
        let e = try #require(readError("id,pan,name,pan,id\n1,2,3,4,5\n"))
        #expect(e.code == .duplicateHeader)
        let message = "\(e)"
        #expect(message.contains("\"pan\" at columns 2, 4"))
        #expect(message.contains("\"id\" at columns 1, 5"))
        #expect(message.contains("rename the columns or use --no-header"))
        #expect(message.contains("cards.csv, line 1"))
    }

    @Test func refusedBeforeAnyBatchAndAfterBlankLines() throws {
        var reader = try CSVReader(bytes: bytes("\n4111111111111111,x\n"))
        #expect(throws: FormatError(.headerLooksLikeData, "")) { _ = try reader.next() }
        let e = try #require(readError("\n4111111111111111,x\n"))
        #expect("\(e)".contains("line 2"))
    }

    @Test func shapeCheck() {
        #expect(CSVHeaderCheck.dataLikeReason(["4000 0566 5566 5556"]) != nil)
        // Not Luhn-valid, but a number: still data.
        #expect(CSVHeaderCheck.dataLikeReason(["4111111111111112"]) != nil)
        #expect(CSVHeaderCheck.dataLikeReason(["GB82 WEST 1234 5698 7654 32"]) != nil)
        #expect(CSVHeaderCheck.dataLikeReason(["GB00 WEST 1234 5698 7654 32", "x"]) == nil)
        #expect(CSVHeaderCheck.duplicates(["a", "b", "a"]).map(\.columns) == [[1, 3]])
    }
}
