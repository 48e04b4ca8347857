import Columns
import Foundation
import Tagging

/// Swift Testing also exports a `Tag`.
typealias Tag = Tagging.Tag

/// The reference date of the fixtures (gen_feed.py REF_YEAR/MONTH/DAY).
let fixtureToday = CivilDate(year: 2024, month: 6, day: 30)!

func digitValues(_ s: String) -> [UInt8] { s.utf8.filter { $0 >= 0x30 && $0 <= 0x39 }.map { $0 - 0x30 } }

/// Appends the Luhn check digit to a digit string.
func withLuhn(_ body: String) -> String {
    for d in 0...9 where Validators.luhnValid(digitValues(body + "\(d)")) { return body + "\(d)" }
    fatalError("unreachable")
}

func valid(_ tag: Tag, _ s: String) -> Bool { Validators.isValid(tag, s, today: fixtureToday) }

var fixturesDirectory: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/feeds")
}

/// A parsed feed: header names and one column of values per header.
struct Feed {
    var names: [String]
    var columns: [ByteColumn]

    func column(_ name: String) -> ByteColumn { columns[names.firstIndex(of: name)!] }
}

/// Test-only CSV splitter: commas, double-quoted fields with "" escapes, no newlines inside fields.
/// (The real reader lives in Formats.)
func splitCSVLine(_ line: Substring) -> [String] {
    var fields: [String] = []
    var cur = ""
    var quoted = false
    var it = line.makeIterator()
    var pendingQuote = false
    while let c = it.next() {
        if quoted {
            if pendingQuote {
                pendingQuote = false
                if c == "\"" {
                    cur.append("\"")
                    continue
                }
                quoted = false
            } else if c == "\"" {
                pendingQuote = true
                continue
            } else {
                cur.append(c)
                continue
            }
        }
        if c == "," {
            fields.append(cur)
            cur = ""
        } else if c == "\"" && cur.isEmpty {
            quoted = true
        } else {
            cur.append(c)
        }
    }
    fields.append(cur)
    return fields
}

func loadCSV(_ file: String) throws -> Feed {
    let text = try String(contentsOf: fixturesDirectory.appendingPathComponent(file), encoding: .utf8)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
    let names = splitCSVLine(lines[0])
    var columns = [ByteColumn](repeating: ByteColumn(), count: names.count)
    for line in lines.dropFirst() {
        let f = splitCSVLine(line)
        precondition(f.count == names.count, "ragged row")
        for (k, v) in f.enumerated() { columns[k].append(v) }
    }
    return Feed(names: names, columns: columns)
}

func loadJSONL(_ file: String) throws -> Feed {
    let data = try Data(contentsOf: fixturesDirectory.appendingPathComponent(file))
    var names: [String] = []
    var columns: [ByteColumn] = []
    for line in data.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
        let obj = try JSONSerialization.jsonObject(with: Data(line)) as! [String: Any]
        if names.isEmpty {
            // Key order of the first line as written (JSONSerialization loses it): take it from the text.
            names = orderedKeys(String(decoding: line, as: UTF8.self))
            columns = [ByteColumn](repeating: ByteColumn(), count: names.count)
        }
        for (k, name) in names.enumerated() { columns[k].append(obj[name] as? String ?? "") }
    }
    return Feed(names: names, columns: columns)
}

/// Keys of a flat JSON object in textual order (values are strings).
private func orderedKeys(_ line: String) -> [String] {
    var keys: [String] = []
    var inString = false, escaped = false, isKey = true
    var cur = ""
    for c in line {
        if inString {
            if escaped {
                escaped = false
                cur.append(c)
            } else if c == "\\" {
                escaped = true
            } else if c == "\"" {
                inString = false
                if isKey { keys.append(cur) }
            } else {
                cur.append(c)
            }
        } else if c == "\"" {
            inString = true
            cur = ""
        } else if c == ":" {
            isKey = false
        } else if c == "," || c == "{" {
            isKey = true
        }
    }
    return keys
}

struct Expected: Decodable {
    var rows: Int
    var columns: [String: String?]
    var memo_embedded_rows: [String: Int]
}

func loadExpected() throws -> Expected {
    let data = try Data(contentsOf: fixturesDirectory.appendingPathComponent("customers.expected.json"))
    return try JSONDecoder().decode(Expected.self, from: data)
}
