import Columns
import Formats
import Testing

/// Issue 11: JSON numbers stay numbers; nested JSON values walked and rebuilt.
@Suite("JSON numbers and containers")
struct JSONContainerTests {
    @Test func tokenizedNumbersStayNumbers() throws {
        let input = bytes("{\"account\": 1234567890123456, \"s\":\"42\", \"o\":{\"pan\":\"x\"}}\n{\"account\":7}\n")
        let all = try readAll(input, .jsonl)
        var b = all.batches[0]
        #expect(b.kind(row: 0, column: 0) == .number)
        #expect(b.kind(row: 0, column: 2) == .object)
        b.replaceColumn(0, with: ByteColumn(["9876543210987654", "0123"]))  // a leading zero is no JSON number
        b.replaceColumn(1, with: ByteColumn(["99", ""]))
        b.replaceColumn(2, with: ByteColumn(["{\"pan\":\"T\"}", ""]))
        #expect(
            text(try writeAll([b], .jsonl))
                == "{\"account\": 9876543210987654, \"s\":\"99\", \"o\":{\"pan\":\"T\"}}\n{\"account\":\"0123\"}\n")
    }

    @Test func leavesOfNestedValues() throws {
        let raw = bytes(
            #"{ "payment" : {"pan":"5478","exp":"12/27"}, "cards":["4111", 42, -1.5e3], "x":[[ "é\u00e9" ]], "t":true, "n":null, "e":{}, "a":[], "q":"\"\\" }"#)
        let leaves = try JSONContainer.leaves(in: raw[...])
        #expect(leaves.map(\.path) == ["payment.pan", "payment.exp", "cards[]", "cards[]", "cards[]", "x[][]", "q"])
        #expect(leaves.map(\.kind) == [.string, .string, .string, .number, .number, .string, .string])
        #expect(leaves.map { text($0.value) } == ["5478", "12/27", "4111", "42", "-1.5e3", "éé", "\"\\"])
        for l in leaves { #expect(l.kind == .number ? Array(raw[l.range]) == l.value : raw[l.range.lowerBound] == 0x22) }
        let top = try JSONContainer.leaves(in: bytes("  [ 1 ,[\"a\"] ]\t")[...])
        #expect(top.map(\.path) == ["[]", "[][]"])
        #expect(try JSONContainer.leaves(in: bytes("{}")[...]).isEmpty)
        #expect(throws: FormatError(.invalidJSON, "")) { try JSONContainer.leaves(in: bytes("{\"a\":}")[...]) }
        #expect(throws: FormatError(.invalidJSON, "")) { try JSONContainer.leaves(in: bytes("\"s\"")[...]) }
        #expect(throws: FormatError(.invalidJSON, "")) { try JSONContainer.leaves(in: bytes("{} x")[...]) }
        let deep = String(repeating: "[", count: 300) + String(repeating: "]", count: 300)
        #expect(throws: FormatError(.invalidJSON, "")) { try JSONContainer.leaves(in: bytes(deep)[...]) }
        let ok = String(repeating: "{\"k\":", count: 50) + "1" + String(repeating: "}", count: 50)
        let l = try JSONContainer.leaves(in: bytes(ok)[...])
        #expect(l.first?.path == Array(repeating: "k", count: 50).joined(separator: "."))
    }

    @Test func replacingLeaves() throws {
        let raw = bytes("{\"payment\": {\"pan\" :\"caf\\u00e9\"}, \"cards\":[ \"a\\\"b\", 1234 ],\n \"z\":0}")
        let leaves = try JSONContainer.leaves(in: raw[...])
        // Identity: byte-identical, escapes kept.
        let same = leaves.map { JSONLeafReplacement(range: $0.range, kind: $0.kind, value: $0.value) }
        #expect(try JSONContainer.replacingLeaves(in: raw[...], with: same) == raw)
        let changed = [
            JSONLeafReplacement(range: leaves[2].range, kind: .number, value: bytes("9999")),
            JSONLeafReplacement(range: leaves[0].range, kind: .string, value: bytes("t\"é\n")),
            JSONLeafReplacement(range: leaves[3].range, kind: .string, value: bytes("tok")),
        ]
        let out = try JSONContainer.replacingLeaves(in: raw[...], with: changed)
        #expect(text(out) == "{\"payment\": {\"pan\" :\"t\\\"é\\n\"}, \"cards\":[ \"a\\\"b\", 9999 ],\n \"z\":\"tok\"}")
        #expect(try JSONContainer.leaves(in: out[...]).map { text($0.value) } == ["t\"é\n", "a\"b", "9999", "tok"])
        #expect(throws: FormatError(.unencodableValue, "")) {
            try JSONContainer.replacingLeaves(in: raw[...], with: [JSONLeafReplacement(range: leaves[2].range, kind: .number, value: bytes("12a"))])
        }
        #expect(throws: FormatError(.unencodableValue, "")) {
            try JSONContainer.replacingLeaves(in: raw[...], with: [JSONLeafReplacement(range: 0..<3, kind: .string, value: [])])
        }
    }

    @Test func containerCellsRoundTripThroughTheWriter() throws {
        let input = bytes("{\"id\":1,\"data\":{\"cards\":[\"5478000000000000\"]}}\n{\"id\":2,\"data\":[ {\"pan\":\"4111\"} ]}\n")
        var b = try readAll(input, .jsonl).batches[0]
        let c = try #require(b.columnIndex(named: "data"))
        var values = ByteColumn()
        for r in 0..<b.rowCount {
            #expect(b.kind(row: r, column: c) == .object || b.kind(row: r, column: c) == .array)
            let raw = b.value(row: r, column: c)
            let reps = try JSONContainer.leaves(in: raw).map { JSONLeafReplacement(range: $0.range, kind: $0.kind, value: bytes("T")) }
            values.append(try JSONContainer.replacingLeaves(in: raw, with: reps)[...])
        }
        b.replaceColumn(c, with: values)
        #expect(text(try writeAll([b], .jsonl)) == "{\"id\":1,\"data\":{\"cards\":[\"T\"]}}\n{\"id\":2,\"data\":[ {\"pan\":\"T\"} ]}\n")
    }
}
