import Foundation
import TestSupport
import Testing

@testable import Server

/// The request-body parser (JSONParser + API.parseBody) against JSON's corner cases.
@Suite struct JSONBodyTests {
    func body(_ s: String) throws -> VaultBody { try API.parseBody(Array(s.utf8)) }

    @Test func vaultBodiesParse() throws {
        let b = try body(#" { "value" : "a\"b\\c\/d\n\u00e9\ud83d\ude00", "transformation": null, "extra": [1, -2.5e3, true, {"x": false}] } "#)
        #expect(b.values.strings == ["a\"b\\c/d\né😀"] && b.transformation(at: 0) == nil && !b.isBatch && b.missingValue == nil)
        let batch = try body(#"{"batch_input":[{"value":"1","reference":"r\u0041"},{"value":"2","transformation":"card"},{"transformation":"card"}]}"#)
        #expect(batch.isBatch && batch.values.strings == ["1", "2", ""] && batch.missingValue == 2)
        // References are kept as the JSON literal sent (echoed without re-encoding).
        #expect(batch.references.strings == [#""r\u0041""#, "", ""] && batch.transformation(at: 1) == "card" && batch.names == ["card"])
        // A duplicate key keeps its last value; a later batch_input replaces the top-level value.
        let dup = try body(#"{"value":"x","batch_input":[{"value":"a","value":"bc","tweak":"t"}]}"#)
        #expect(dup.values.strings == ["bc"] && dup.tweakGiven)
        #expect(try body(#"{"value":null,"tweak":null}"#).missingValue == 0)
    }

    @Test func malformedBodiesAreRefused() {
        for bad in [
            "", "{", #"{"value": }"#, #"{"value": "x"} x"#, #"{"value": 12}"#, #"{"batch_input": {}}"#, #"{"batch_input": ["x"]}"#,
            #"{"value": "\ud83d"}"#, #"{"value": "\x"}"#, "{\"value\": \"\u{01}\"}", #"{"value": 01}"#, #"[1,]"#, "\"a\"",
            String(repeating: "[", count: 100) + String(repeating: "]", count: 100),
        ] {
            #expect(throws: Refusal.self, "\(bad.prefix(40))") { _ = try body(bad) }
        }
        // Invalid UTF-8 inside a string.
        #expect(throws: Refusal.self) { _ = try API.parseBody(Array(#"{"value": ""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)) }
    }

    /// A random string and its JSON literal, written with every escape form (short escapes,
    /// `\u` in either case, surrogate pairs, `\/`) and raw UTF-8 of 1 to 4 bytes.
    static func literal(_ rng: inout SplitMix64) -> (text: String, json: String) {
        let pool: [Unicode.Scalar] = [
            "a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\u{08}", "\u{0C}", "\r", "\u{01}", "\u{1F}", "é", "€", "😀", "\u{10FFFF}", "中",
        ]
        var text = "", json = "\""
        for _ in 0..<Int.random(in: 0...12, using: &rng) {
            let c = pool.randomElement(using: &rng)!
            text.unicodeScalars.append(c)
            let upper = Bool.random(using: &rng)
            func hex(_ v: UInt32) -> String {
                let h = String(v, radix: 16)
                let padded = String(repeating: "0", count: 4 - h.count) + h
                return upper ? padded.uppercased() : padded
            }
            switch (c, Int.random(in: 0..<3, using: &rng)) {
            case ("\"", _): json += "\\\""
            case ("\\", _): json += "\\\\"
            case ("/", 0): json += "\\/"
            case ("\n", 0): json += "\\n"
            case ("\t", 0): json += "\\t"
            case ("\r", 0): json += "\\r"
            case ("\u{08}", 0): json += "\\b"
            case ("\u{0C}", 0): json += "\\f"
            case (let c, let k) where c.value < 0x20 || k == 1:
                if c.value > 0xFFFF {
                    let v = c.value - 0x10000
                    json += "\\u" + hex(0xD800 + (v >> 10)) + "\\u" + hex(0xDC00 + (v & 0x3FF))
                } else {
                    json += "\\u" + hex(c.value)
                }
            default: json.unicodeScalars.append(c)
            }
        }
        return (text, json + "\"")
    }

    /// Random Vault bodies (single or batch, fields in any order, unknown fields of every JSON
    /// type, white space anywhere) parse to what Foundation's JSON parser reads in them; the
    /// same bodies with a byte changed are either refused or read as Foundation reads them.
    @Test func randomBodiesReadAsFoundationReadsThem() throws {
        var rng = SplitMix64(seed: 0x7A11_7E57)
        let space = [" ", "\n", "\t", "\r", ""]
        func ws() -> String { space.randomElement(using: &rng)! }
        func junk(_ depth: Int) -> String {
            switch Int.random(in: 0..<(depth > 2 ? 4 : 6), using: &rng) {
            case 0: return ["0", "-1", "12.5e-3", "1E+9", "-0.0"].randomElement(using: &rng)!
            case 1: return ["true", "false", "null"].randomElement(using: &rng)!
            case 2, 3: return Self.literal(&rng).json
            case 4: return "[" + (0..<Int.random(in: 0...3, using: &rng)).map { _ in ws() + junk(depth + 1) + ws() }.joined(separator: ",") + "]"
            default:
                return "{"
                    + (0..<Int.random(in: 0...3, using: &rng)).map { _ in Self.literal(&rng).json + ws() + ":" + ws() + junk(depth + 1) }.joined(separator: ",")
                    + "}"
            }
        }
        func item(_ fields: inout [String]) -> String {
            var parts: [String] = []
            let v = Self.literal(&rng)
            parts.append("\"value\"" + ws() + ":" + ws() + v.json)
            if Bool.random(using: &rng) {
                parts.append("\"transformation\":" + ws() + ["\"card\"", "\"c\\u0061rd\"", "\"email\""].randomElement(using: &rng)!)
            }
            if Bool.random(using: &rng) { parts.append("\"reference\":" + Self.literal(&rng).json) }
            for _ in 0..<Int.random(in: 0...2, using: &rng) { parts.append("\"x\(Int.random(in: 0...9, using: &rng))\":" + ws() + junk(0)) }
            parts.shuffle(using: &rng)
            fields.append(v.text)
            return "{" + ws() + parts.joined(separator: ws() + "," + ws()) + ws() + "}"
        }
        var accepted = 0, refused = 0
        for round in 0..<3000 {
            var texts: [String] = []
            let doc: String
            if Bool.random(using: &rng) {
                doc = ws() + item(&texts) + ws()
            } else {
                let items = (0..<Int.random(in: 1...5, using: &rng)).map { _ in item(&texts) }
                doc = ws() + "{" + ws() + "\"batch_input\"" + ws() + ":" + ws() + "[" + items.joined(separator: "," + ws()) + "]" + ws() + "}" + ws()
            }
            let bytes = Array(doc.utf8)
            let parsed = try API.parseBody(bytes)
            #expect(parsed.values.strings == texts, "round \(round): \(doc)")
            let foundation = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
            let items = (foundation?["batch_input"] as? [[String: Any]]) ?? [foundation ?? [:]]
            #expect(items.map { $0["value"] as? String } == texts.map { $0 }, "round \(round): Foundation reads another value")
            #expect(parsed.names.allSatisfy { $0 == "card" || $0 == "email" })

            // One byte changed: refused, or read as Foundation reads the changed text.
            var bent = bytes
            let at = Int.random(in: 0..<bent.count, using: &rng)
            bent[at] = [0x22, 0x5C, 0x2C, 0x3A, 0x7B, 0x7D, 0x5B, 0x5D, 0x75, 0x00, 0xFF, 0xC3, 0x20].randomElement(using: &rng)!
            guard let ours = try? API.parseBody(bent) else {
                refused += 1
                continue
            }
            accepted += 1
            let theirs = try? JSONSerialization.jsonObject(with: Data(bent))
            #expect(theirs != nil, "round \(round): accepted what Foundation refuses: \(String(decoding: bent, as: UTF8.self))")
            if let d = theirs as? [String: Any] {
                let theirItems = (d["batch_input"] as? [[String: Any]]) ?? [d]
                if theirItems.allSatisfy({ $0["value"] is String }) {
                    #expect(ours.values.strings == theirItems.map { $0["value"] as! String }, "round \(round): \(String(decoding: bent, as: UTF8.self))")
                }
            }
        }
        #expect(accepted > 100 && refused > 100, "\(accepted) changed bodies accepted, \(refused) refused")
    }
}
