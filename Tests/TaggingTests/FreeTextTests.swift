import Tagging
import Testing

@Suite struct FreeTextScanning {
    func found(_ text: String) -> [(Tag, String)] {
        let bytes = Array(text.utf8)
        return scanFreeText(text).map { ($0.tag, String(decoding: bytes[$0.range], as: UTF8.self)) }
    }

    @Test func findsPlantedValues() {
        #expect(found("Please update card 4111 1111 1111 1111 on file").map(\.1) == ["4111 1111 1111 1111"])
        #expect(found("card:4111111111111111, exp 12/25").map(\.1) == ["4111111111111111"])
        #expect(found("Card (5555-5555-5555-4444) declined").map(\.1) == ["5555-5555-5555-4444"])
        #expect(found("amex 3782 822463 10005.").map(\.1) == ["3782 822463 10005"])
        #expect(found("card 4111 1111 1111 1111 2025").map(\.1) == ["4111 1111 1111 1111"])
        #expect(found("Verified SSN 219-09-9998 by phone").map(\.0) == [.ssn])
        #expect(found("Contact <jane.doe@example.com> about renewal").map(\.1) == ["jane.doe@example.com"])
        #expect(found("New address jane@example.org.").map(\.1) == ["jane@example.org"])
        let both = found("Card 6011111111111117 belongs to x.y@example.net")
        #expect(both.map(\.0) == [.pan, .email])
    }

    @Test func rangesAreByteOffsets() {
        let m = scanFreeText("Zoë paid with 4111111111111111")
        #expect(m == [EmbeddedMatch(range: 15..<31, tag: .pan)])
    }

    @Test func ignoresLookAlikes() {
        for text in [
            "Order 4014089072871752 shipped on 2024-03-05",  // fails Luhn
            "Zip 12345-6789 confirmed",
            "Session 550e8400-e29b-41d4-a716-446655440000 expired",
            "App 1.2.3.4 installed",
            "Refund of $1234.56 issued",
            "Called (415) 555-0132 and +44 20 7946 0958",
            "Call +4915112345678",
            "Customer 219099998 updated profile",  // bare 9 digits: no header in free text
            "Ticket opened 2024-03-05T10:00:00Z",
            "IBAN on file DE89 3704 0044 0532 0130 00",
            "IBAN on file GB29 NWBK 6016 1331 9268 19",
            "Tracking 9400 1000 0000 1234 56",
            "Reference 1234-5678-9012",
            "SSN 078-05-1120 is the advertising number",
            "test 4111111111111111x and x4111111111111111 and 4111111111111111.5",
            "mail me at jane@localhost or @handle",
            "4444 4444 4444 4444",  // all same
        ] {
            #expect(scanFreeText(text).isEmpty, "\(text): \(found(text))")
        }
    }

    @Test func rawBufferOverload() {
        let bytes = Array("x 4111111111111111 y".utf8)
        let m = bytes.withUnsafeBytes { scanFreeText($0) }
        #expect(m.count == 1 && m[0].range == 2..<18)
        #expect(scanFreeText(bytes[...]) == m)
    }
}
