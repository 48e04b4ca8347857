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
}
