import Testing

@testable import Server

/// The request-body parser (JSONParser + API.parseBody) against JSON's corner cases.
@Suite struct JSONBodyTests {
    func body(_ s: String) throws -> API.Body { try API.parseBody(Array(s.utf8)) }

    @Test func vaultBodiesParse() throws {
        let b = try body(#" { "value" : "a\"b\\c\/d\n\u00e9\ud83d\ude00", "transformation": null, "extra": [1, -2.5e3, true, {"x": false}] } "#)
        #expect(b.value == "a\"b\\c/d\né😀" && b.transformation == nil && b.batchInput == nil)
        let batch = try body(#"{"batch_input":[{"value":"1","reference":"r"},{"value":"2","transformation":"card"}]}"#)
        #expect(batch.batchInput?.map(\.value) == ["1", "2"])
        #expect(batch.batchInput?.map(\.reference) == ["r", nil] && batch.batchInput?[1].transformation == "card")
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
