import Columns
import Tagging
import Testing

/// Issue 11: no clear PCI/PII value leaves a run. Content evidence against negative headers, strong
/// headers with the right shape, and free-text spellings.
@Suite struct FailClosedColumns {
    func col(_ values: [String]) -> ByteColumn {
        var c = ByteColumn()
        for v in values { c.append(v) }
        return c
    }

    func ssns(_ count: Int, _ fmt: (String, String, String) -> String) -> ByteColumn {
        var g = DecisionRules.Gen(state: 11)
        var out: [String] = []
        while out.count < count {
            let s = g.digits(9)
            guard Validators.ssnValid(digitValues(s)) else { continue }
            let a = String(s.prefix(3)), b = String(s.dropFirst(3).prefix(2)), c = String(s.suffix(4))
            out.append(fmt(a, b, c))
        }
        return col(out)
    }

    @Test func dashedSSNsUnderANegativeHeader() {
        let r = tagger.classify(name: "customer_ref", index: 0, values: ssns(200) { "\($0)-\($1)-\($2)" })
        #expect(r.status == .tagged && r.tag == .ssn && r.headerConflict, "\(r.reason)")
        #expect(r.confidence < 0.9)
        // Bare 9-digit ids under an id header stay clear.
        let ids = tagger.classify(name: "customer_id", index: 0, values: ssns(200) { $0 + $1 + $2 })
        #expect(ids.status == .none, "\(ids.reason)")
    }

    @Test func datesOfBirthUnderCreated() {
        var g = DecisionRules.Gen(state: 3)
        var dobs: [String] = [], events: [String] = [], stamps: [String] = []
        for _ in 0..<200 {
            let m = 1 + Int(g.next() % 12), d = 1 + Int(g.next() % 28)
            func p(_ x: Int) -> String { x < 10 ? "0\(x)" : "\(x)" }
            dobs.append("\(1930 + Int(g.next() % 70))-\(p(m))-\(p(d))")
            events.append("\(2019 + Int(g.next() % 5))-\(p(m))-\(p(d))")
            stamps.append("\(2019 + Int(g.next() % 5))-\(p(m))-\(p(d))T13:23:54Z")
        }
        let r = tagger.classify(name: "created", index: 0, values: col(dobs))
        #expect(r.status != .none && r.proposed == .dateOfBirth && r.headerConflict, "\(r.reason)")
        #expect(tagger.classify(name: "created", index: 0, values: col(events)).status == .none)
        #expect(tagger.classify(name: "created_at", index: 0, values: col(stamps)).status == .none)
    }

    @Test func cardNumbersFailingLuhnUnderACardHeader() {
        var g = DecisionRules.Gen(state: 5)
        var bad: [String] = []
        while bad.count < 200 {
            let v = "4" + g.digits(15)
            if !Validators.luhnValid(digitValues(v)) { bad.append(v) }
        }
        let r = tagger.classify(name: "Card Number", index: 0, values: col(bad))
        #expect(r.status == .tagged && r.tag == .pan && !r.validated && r.confidence < 0.9, "\(r.reason)")
        // Order numbers failing Luhn under an order header stay clear.
        #expect(tagger.classify(name: "order_number", index: 0, values: col(bad)).status == .none)
    }

    @Test(arguments: ["ssn", "tax_id", "tin", "taxpayer_no", "social_security"])
    func ssnSpellingsUnderSSNHeaders(_ header: String) {
        for values in [
            ssns(200) { "\($0) \($1) \($2)" }, ssns(200) { " \($0)-\($1)-\($2) " }, ssns(200) { $0 + $1 + $2 },
        ] {
            let r = tagger.classify(name: header, index: 0, values: values)
            #expect(r.status == .tagged && r.tag == .ssn, "\(header): \(r.reason)")
        }
    }

    @Test func lookAlikesStayClear() {
        var g = DecisionRules.Gen(state: 9)
        var zip4: [String] = [], uuids: [String] = [], amounts: [String] = [], versions: [String] = []
        var epochs: [String] = []
        for _ in 0..<200 {
            zip4.append("\(g.digits(5))-\(g.digits(4))")
            uuids.append("\(g.digits(8))-\(g.digits(4))-4\(g.digits(3))-a\(g.digits(3))-\(g.digits(12))")
            amounts.append("\(1 + g.next() % 9000).\(g.digits(2))")
            versions.append("\(g.next() % 9).\(g.next() % 20).\(g.next() % 30)")
            epochs.append("17\(g.digits(8))")
        }
        for (h, v) in [
            ("zip", zip4), ("request_id", uuids), ("amount", amounts), ("app_version", versions),
            ("created", epochs),
        ] {
            let r = tagger.classify(name: h, index: 0, values: col(v))
            #expect(r.status == .none, "\(h): \(r.reason)")
        }
    }
}

@Suite struct FreeTextSpellings {
    func found(_ text: String) -> [(Tag, String)] {
        let bytes = Array(text.utf8)
        return scanFreeText(text).map { ($0.tag, String(decoding: bytes[$0.range], as: UTF8.self)) }
    }

    @Test(arguments: [
        ("paid 4111111111111111/12 ok", "4111111111111111"),
        ("card4111111111111111 declined", "4111111111111111"),
        ("card 4111.1111.1111.1111 on file", "4111.1111.1111.1111"),
        ("card 4111_1111_1111_1111 on file", "4111_1111_1111_1111"),
        ("card 4111\u{A0}1111\u{A0}1111\u{A0}1111 on file", "4111\u{A0}1111\u{A0}1111\u{A0}1111"),
        ("card 4111  1111  1111  1111 on file", "4111  1111  1111  1111"),
        ("card -4111111111111111 on file", "4111111111111111"),
        ("card №4111111111111111 on file", "4111111111111111"),
        ("card ４１１１１１１１１１１１１１１１ on file", "４１１１１１１１１１１１１１１１"),
        ("card 4111 1111 1111 1111 on file", "4111 1111 1111 1111"),
        ("card 4111-1111-1111-1111 on file", "4111-1111-1111-1111"),
        ("amex 3782 822463 10005", "3782 822463 10005"),
        ("his SSN is 234 56 7890", "234 56 7890"),
        ("social 234567890 on file", "234567890"),
        ("soc sec 234-56-7890", "234-56-7890"),
        ("tax id: 234567890", "234567890"),
        ("234567890 is the ssn", "234567890"),
    ])
    func finds(_ text: String, _ expected: String) {
        #expect(found(text).map(\.1) == [expected], "\(text)")
    }

    @Test func rangesCoverTheOriginalBytes() {
        let text = "№４１１１１１１１１１１１１１１１."
        let m = scanFreeText(text)
        #expect(m.count == 1 && m[0].range == 3..<51 && m[0].tag == .pan)
    }

    @Test func lookAlikesStayClear() {
        for text in [
            "order 4111111111111112 shipped",  // fails Luhn
            "uuid 12345678-1234-4123-a123-411111111111111 x",
            "uuid 41111111-1111-1111-1111-111111111111",
            "at 2024-09-14T13:23:54Z",
            "record 234567890 updated",  // bare 9 digits without a keyword
            "call 234 56 7890 today",
            "IBAN GB29NWBK60161331926819 on file",
            "hash ab4111111111111111cd",
            "x4111111111111111 and 4111111111111111x",
        ] {
            #expect(scanFreeText(text).isEmpty, "\(text): \(found(text))")
        }
    }
}
