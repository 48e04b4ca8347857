import Columns
import Foundation
import Tagging
import Testing

let tagger = Tagger(config: TaggerConfig(today: fixtureToday))

func classifyAll(_ feed: Feed) -> [ColumnClassification] {
    feed.names.enumerated().map { tagger.classify(name: $1, index: $0, values: feed.columns[$0]) }
}

@Suite struct FixtureClassification {
    func check(_ feed: Feed) throws {
        let expected = try loadExpected()
        let results = classifyAll(feed)
        #expect(results.count == expected.columns.count)
        var truePositives = 0, falsePositives = 0, falseNegatives = 0
        for r in results {
            let want = expected.columns[r.name]!.flatMap(Tag.init(rawValue:))
            if let want {
                #expect(r.status == .tagged && r.tag == want, "\(r.name): \(r.status) \(String(describing: r.tag)) — \(r.reason)")
                if r.tag == want { truePositives += 1 } else { falseNegatives += 1 }
                if r.tag != nil && r.tag != want { falsePositives += 1 }
                #expect(r.confidence >= 0.9, "\(r.name) confidence \(r.confidence)")
            } else {
                #expect(r.tag == nil, "look-alike \(r.name) tagged \(String(describing: r.tag)) — \(r.reason)")
                #expect(r.status == .none, "look-alike \(r.name): \(r.status) — \(r.reason)")
                if r.tag != nil { falsePositives += 1 }
            }
            #expect(r.sampled == expected.rows)
        }
        // Precision and recall over the sensitive columns: both 1.
        #expect(truePositives == expected.columns.values.compactMap { $0 }.count)
        #expect(falsePositives == 0)
        #expect(falseNegatives == 0)
    }

    @Test func csv() throws { try check(try loadCSV("customers.csv")) }

    @Test func jsonl() throws { try check(try loadJSONL("customers.jsonl")) }

    @Test func csvAndJSONLAgree() throws {
        let a = classifyAll(try loadCSV("customers.csv")), b = classifyAll(try loadJSONL("customers.jsonl"))
        #expect(a == b)
    }

    @Test func lookAlikesAreBlockedForTheRightReason() throws {
        let feed = try loadCSV("customers.csv")
        func result(_ name: String) -> ColumnClassification {
            tagger.classify(name: name, index: 0, values: feed.column(name))
        }
        // 9-digit customer ids mostly pass the SSA rules: the header blocks them.
        let ids = result("customer_id")
        #expect(ids.alternatives.contains { $0.tag == .ssn && $0.verdict == .blocked && $0.fraction > 0.8 })
        // Version strings are valid dotted quads: the header blocks them.
        let versions = result("app_version")
        #expect(versions.alternatives.contains { $0.tag == .ipAddress && $0.verdict == .blocked && $0.fraction == 1 })
        // Order numbers fail Luhn: no evidence at all.
        #expect(result("order_number").alternatives.allSatisfy { $0.tag != .pan || $0.fraction < 0.2 })
    }

    @Test func memoColumnReportsEmbeddedValues() throws {
        let expected = try loadExpected()
        let memo = tagger.classify(name: "memo", index: 20, values: try loadCSV("customers.csv").column("memo"))
        #expect(memo.status == .none)
        #expect(memo.containsEmbedded[.pan] == expected.memo_embedded_rows["pan"])
        #expect(memo.containsEmbedded[.email] == expected.memo_embedded_rows["email"])
        #expect(memo.containsEmbedded[.ssn] == expected.memo_embedded_rows["ssn"])
    }

    @Test func noEmbeddedValuesInOtherColumns() throws {
        let feed = try loadCSV("customers.csv")
        for (k, name) in feed.names.enumerated() where name != "memo" {
            let r = tagger.classify(name: name, index: k, values: feed.columns[k])
            #expect(r.containsEmbedded.isEmpty, "\(name): \(r.containsEmbedded)")
        }
    }

    @Test func encodesAsJSONWithTagNames() throws {
        let r = tagger.classify(name: "memo", index: 0, values: try loadCSV("customers.csv").column("memo"))
        let json = String(decoding: try JSONEncoderShim.encode(r), as: UTF8.self)
        #expect(json.contains("\"containsEmbedded\":{"))
        #expect(json.contains("\"pan\":"))
    }
}

enum JSONEncoderShim {
    static func encode(_ v: some Encodable) throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return try e.encode(v)
    }
}

/// Synthetic columns for the decision rules.
@Suite struct DecisionRules {
    /// Deterministic values.
    struct Gen {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func digits(_ n: Int) -> String { String((0..<n).map { _ in Character(String(next() % 10)) }) }
        mutating func ssn() -> String {
            while true {
                let s = digits(9)
                if Validators.ssnValid(digitValues(s)) { return s }
            }
        }
        mutating func aba() -> String {
            while true {
                let s = format2(Int(next() % 12) + 1) + digits(6)
                for d in 0...9 where Validators.abaValid(digitValues(s + "\(d)")) { return s + "\(d)" }
            }
        }
        mutating func phone() -> String {
            let npa = ["212", "415", "617", "305"][Int(next() % 4)]
            return npa + "555" + "01" + digits(2)
        }
        func format2(_ x: Int) -> String { x < 10 ? "0\(x)" : "\(x)" }
    }

    func column(_ n: Int, _ make: (inout Gen) -> String) -> ByteColumn {
        var g = Gen(state: 42)
        return ByteColumn((0..<n).map { _ in make(&g) })
    }

    @Test func thinEvidenceNeedsReview() {
        let r = tagger.classify(name: "ssn", index: 0, values: column(20) { g in g.ssn() })
        #expect(r.status == .needsReview)
        #expect(r.tag == nil)
        #expect(r.proposed == .ssn)
        #expect(r.reason.contains("thin"))
        #expect(r.confidence < 0.5)
        // With enough values the same column is tagged.
        #expect(tagger.classify(name: "ssn", index: 0, values: column(60) { g in g.ssn() }).tag == .ssn)
    }

    @Test func bareNineDigitsNeedAHeader() {
        let values = column(200) { g in g.ssn() }
        #expect(tagger.classify(name: "ssn", index: 0, values: values).tag == .ssn)
        let neutral = tagger.classify(name: "col_7", index: 0, values: values)
        #expect(neutral.status == .needsReview && neutral.proposed == .ssn && neutral.tag == nil)
        let ids = tagger.classify(name: "customer_id", index: 0, values: values)
        #expect(ids.status == .none && ids.tag == nil)
    }

    @Test func dashedSSNsAreFormattingEvidence() {
        let values = column(200) { g in
            let s = g.ssn()
            return "\(s.prefix(3))-\(s.dropFirst(3).prefix(2))-\(s.suffix(4))"
        }
        #expect(tagger.classify(name: "value", index: 0, values: values).tag == .ssn)
        // Dashed SSNs that all validate win over a header naming something else (issue 11).
        let conflict = tagger.classify(name: "customer_id", index: 0, values: values)
        #expect(conflict.tag == .ssn && conflict.headerConflict && conflict.confidence < 0.9, "\(conflict.reason)")
    }

    @Test func bareTenDigitsNeedAPhoneHeader() {
        let values = column(200) { g in g.phone() }
        #expect(tagger.classify(name: "mobile", index: 0, values: values).tag == .phone)
        #expect(tagger.classify(name: "account_ref", index: 0, values: values).status == .none)
        let neutral = tagger.classify(name: "x", index: 0, values: values)
        #expect(neutral.status == .needsReview && neutral.proposed == .phone)
        let formatted = column(200) { g in
            let p = g.phone()
            return "(\(p.prefix(3))) \(p.dropFirst(3).prefix(3))-\(p.suffix(4))"
        }
        #expect(tagger.classify(name: "x", index: 0, values: formatted).tag == .phone)
    }

    @Test func routingNumbersNeedAHeader() {
        let values = column(200) { g in g.aba() }
        #expect(tagger.classify(name: "routing_number", index: 0, values: values).tag == .abaRouting)
        #expect(tagger.classify(name: "bank_routing", index: 0, values: values).tag == .abaRouting)
        #expect(tagger.classify(name: "ref", index: 0, values: values).tag == nil)
    }

    @Test func closeCallIsAmbiguous() {
        // Values valid both as SSNs and as routing numbers, under a header naming both.
        let values = column(200) { g in
            while true {
                let s = g.aba()
                if Validators.ssnValid(digitValues(s)) { return s }
            }
        }
        let r = tagger.classify(name: "ssn_or_routing_number", index: 0, values: values)
        #expect(r.status == .ambiguous, "\(r.reason)")
        #expect(r.tag == nil)
        #expect(Set(r.alternatives.prefix(2).map(\.tag)) == [.ssn, .abaRouting])
    }

    @Test func mixedColumnIsAmbiguous() {
        let values = column(200) { g in
            g.next() % 2 == 0 ? "user\(g.digits(3))@example.com" : "+1 415 555 01\(g.digits(2))"
        }
        let r = tagger.classify(name: "contact", index: 0, values: values)
        #expect(r.status == .ambiguous, "\(r.reason)")
        #expect(Set(r.alternatives.prefix(2).map(\.tag)) == [.email, .phone])
    }

    @Test func partialEvidenceNeedsReview() {
        // 70% valid cards, 30% garbage digits: below the checksum threshold.
        let values = column(200) { g in
            g.next() % 10 < 7 ? withLuhn("4" + g.digits(14)) : "9" + g.digits(15)
        }
        let r = tagger.classify(name: "card_number", index: 0, values: values)
        // A strong header with the right shape protects the column; validation sets the confidence.
        #expect(r.status == .tagged && r.tag == .pan && !r.validated, "\(r.reason)")
        let neutral = tagger.classify(name: "value", index: 0, values: values)
        #expect(neutral.status == .needsReview && neutral.proposed == .pan, "\(neutral.reason)")
    }

    @Test func cardsAreTaggedWhateverTheHeader() {
        // Checksum and issuer evidence is strong enough on its own (fail closed for PCI data).
        let values = column(200) { g in withLuhn("5" + String(1 + g.next() % 5) + g.digits(13)) }
        #expect(tagger.classify(name: "col3", index: 0, values: values).tag == .pan)
        #expect(tagger.classify(name: "order_ref", index: 0, values: values).tag == .pan)
    }

    @Test func lookAlikeShapes() {
        let cases: [(String, (inout Gen) -> String)] = [
            (
                "order_number",
                { g in
                    let body = "4" + g.digits(14)
                    let good = withLuhn(body).last!.wholeNumberValue!
                    return body + String((good + 1 + Int(g.next() % 9)) % 10)
                }
            ),
            ("zip", { g in g.digits(5) + "-" + g.digits(4) }),
            ("session_id", { g in "\(g.digits(8))-e29b-41d4-a716-\(g.digits(12))" }),
            ("created_at", { g in "2024-0\(1 + g.next() % 9)-1\(g.next() % 9)T12:00:00Z" }),
            ("event_date", { g in "19\(50 + g.next() % 40)-0\(1 + g.next() % 9)-1\(g.next() % 9)" }),
            ("epoch", { g in "17" + g.digits(8) }),
            ("seen", { g in "16" + g.digits(8) }),
            ("amount", { g in "\(g.next() % 5000).\(g.digits(2))" }),
            ("build", { g in "1.\(g.next() % 20).\(g.next() % 50).\(g.next() % 200)" }),
            ("color", { g in ["Red", "Green", "Blue", "Dark Grey"][Int(g.next() % 4)] }),
            ("city", { g in ["New York", "Paris", "São Paulo"][Int(g.next() % 3)] }),
        ]
        for (name, make) in cases {
            let r = tagger.classify(name: name, index: 0, values: column(200, make))
            #expect(r.tag == nil && r.status == .none, "\(name): \(r.status) \(r.reason)")
        }
    }

    @Test func datesNeedABirthHeader() {
        let values = column(200) { g in "19\(50 + g.next() % 40)-0\(1 + g.next() % 9)-1\(g.next() % 9)" }
        #expect(tagger.classify(name: "birth_date", index: 0, values: values).tag == .dateOfBirth)
        #expect(tagger.classify(name: "signup_date", index: 0, values: values).tag == nil)
    }

    @Test func emptyAndNullCells() {
        var values = column(100) { g in g.ssn() }
        for _ in 0..<50 { values.append("") }
        for s in ["NULL", "N/A", "\\N", "  "] { values.append(s) }
        let r = tagger.classify(name: "ssn", index: 0, values: values)
        #expect(r.tag == .ssn)
        #expect(r.sampled == 100)
        #expect(r.empty == 54)
        let none = tagger.classify(name: "ssn", index: 0, values: ByteColumn(["", "", ""]))
        #expect(none.status == .none && none.sampled == 0 && none.empty == 3)
    }

    @Test func sampleSizeBoundsTheWork() {
        let values = column(2000) { g in g.ssn() }
        #expect(tagger.classify(name: "ssn", index: 0, values: values).sampled == 400)
    }

    @Test func perValueValidationAndCounts() {
        let values = ByteColumn(["219-09-9998", "000-12-3456", "", "219099998"])
        let c = tagger.count(.ssn, in: values)
        #expect(c.valid == 2 && c.invalid == 1 && c.empty == 1)
        #expect(tagger.validate(.ssn, values[0]))
        #expect(!tagger.validate(.ssn, values[1]))
    }
}

@Suite struct Sampling {
    @Test func firstValuesAcrossBatches() {
        var s = ColumnSampler(capacity: 5)
        s.add(ByteColumn(["a", "", "b", "NULL"]))
        #expect(!s.isFull)
        s.add(ByteColumn(["c", " d ", "e", "f", "g"]))
        #expect(s.isFull)
        #expect(s.values.strings == ["a", "b", "c", "d", "e"])
        #expect(s.empty == 2)
    }

    @Test func reservoirIsUniformAndDeterministic() {
        func run() -> [String] {
            var s = ColumnSampler(capacity: 100, mode: .reservoir(seed: 7))
            for batch in 0..<100 { s.add(ByteColumn((0..<100).map { "v\(batch * 100 + $0)" })) }
            #expect(!s.isFull)
            #expect(s.seen == 10_000)
            return s.values.strings
        }
        let a = run()
        #expect(a == run())
        #expect(a.count == 100)
        // Drawn from the whole stream, not only the start.
        let late = a.filter { Int($0.dropFirst())! >= 5000 }.count
        #expect(late > 25 && late < 75)
    }

    @Test func classifyFromSampler() {
        var s = ColumnSampler(capacity: 300)
        let feed = try! loadCSV("customers.csv")
        s.add(feed.column("card_number"))
        s.add(ByteColumn(["", ""]))
        let r = tagger.classify(name: "card_number", index: 9, sample: s)
        #expect(r.tag == .pan && r.sampled == 300)
    }
}
