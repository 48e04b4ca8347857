import Crypto
import Foundation
import Keyring
import TestSupport
import Testing
import Tokenize

/// The leak suite (issue 11): feeds shaped the way real ones go wrong, run through the real tagger.
/// Every case either leaves every sensitive value tokenized or fails naming the column; none exits
/// with a clear value in the output, the manifest or the summary. Rows in = out + rejected holds.
@Suite struct LeakSuite {
    static let domains = ["pan", "ssn", "email", "phone", "iban", "date", "generic"]

    /// The default policy with this suite's key names (and `extra` YAML appended).
    static func policy(_ prefix: String, _ extra: String = "") throws -> Policy {
        var yaml = try String(contentsOfFile: repository + "/keys-config/policy.default.yaml", encoding: .utf8)
        for d in domains { yaml = yaml.replacingOccurrences(of: "domain: \(d) }", with: "domain: \(prefix)-\(d) }") }
        return try Policy.load(path: writePolicy(yaml + extra))
    }

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// A Luhn-valid 16-digit Visa-range number.
    static func card(_ g: inout SplitMix64) -> String {
        var d = [4] + (0..<14).map { _ in Int(g.next() % 10) }
        let sum = d.reversed().enumerated().reduce(0) { acc, e in
            let (i, x) = e
            if i % 2 == 0 {
                let y = x * 2
                return acc + (y > 9 ? y - 9 : y)
            }
            return acc + x
        }
        d.append((10 - sum % 10) % 10)
        return d.map(String.init).joined()
    }

    struct Run {
        var summary: RunSummary?
        var error: (any Error)?
        var output: String
        var manifest: String
        var summaryJSON: String
        var rejectsPath: String
    }

    static func run(_ prefix: String, input: String, ext: String, policy: Policy, rejects: Bool = false, verify: Bool = true) throws -> Run {
        let kr = try keyring(domains.map { "\(prefix)-\($0)" })
        let dir = try tempDir()
        let inPath = dir + "/in." + ext
        try input.write(toFile: inPath, atomically: true, encoding: .utf8)
        var o = TokenizeJob.Options()
        o.input = inPath
        o.output = dir + "/out." + ext
        o.workers = 2
        o.verifyOutput = verify
        if rejects {
            // A pre-existing, world-readable rejects file.
            o.rejectsPath = dir + "/rejects.jsonl"
            _ = FileManager.default.createFile(atPath: dir + "/rejects.jsonl", contents: Data(), attributes: [.posixPermissions: 0o644])
        }
        var r = Run(summary: nil, error: nil, output: "", manifest: "", summaryJSON: "", rejectsPath: o.rejectsPath ?? "")
        do {
            let s = try TokenizeJob.run(o, policy: policy, keyring: kr, classify: Scan.classifier(policy: policy))
            r.summary = s
            r.summaryJSON = String(decoding: try s.json, as: UTF8.self)
            #expect(s.reconciles, "rows do not reconcile: \(s.rowsIn) in, \(s.rowsOut) out, \(s.rowsRejected) rejected")
        } catch {
            r.error = error
        }
        r.output = (try? String(contentsOfFile: o.output, encoding: .utf8)) ?? ""
        r.manifest = (try? String(contentsOfFile: o.output + ".manifest.json", encoding: .utf8)) ?? ""
        return r
    }

    /// No `secret` in anything the run left behind except the rejects file.
    static func expectNoLeak(_ r: Run, _ secrets: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        for s in secrets {
            #expect(!r.output.contains(s), "clear value \(s) in the output", sourceLocation: sourceLocation)
            #expect(!r.manifest.contains(s), "clear value \(s) in the manifest", sourceLocation: sourceLocation)
            #expect(!r.summaryJSON.contains(s), "clear value \(s) in the summary", sourceLocation: sourceLocation)
        }
    }

    static func expectStopped(_ r: Run, naming column: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let e = r.error.map { "\($0)" } ?? "no error"
        #expect(r.error != nil && e.contains(column), "expected a failure naming \(column), got: \(e)", sourceLocation: sourceLocation)
        #expect(r.output.isEmpty, "a failed run leaves no output", sourceLocation: sourceLocation)
    }

    /// 9,000 rows of plain notes; from record 8,601 every third mentions a card number.
    static func notesFeed(seed: UInt64) -> (rows: [String], cards: [String]) {
        var g = SplitMix64(seed: seed)
        var rows = ["id,notes"]
        var cards: [String] = []
        for i in 1...9000 {
            if i > 8600 && i % 3 == 0 {
                let c = card(&g)
                cards.append(c)
                rows.append("\(i),paid with card \(c) at the desk")
            } else {
                rows.append("\(i),customer called about the delivery window")
            }
        }
        return (rows, cards)
    }

    /// Case 1: a card column whose first 8,500 rows are empty.
    @Test func cardsAfterEmptyRowsAreNeverPassedClear() throws {
        var g = SplitMix64(seed: 11)
        var rows = ["id,card_number,city"]
        var cards: [String] = []
        for i in 1...9000 {
            let c = i > 8500 ? Self.card(&g) : ""
            if !c.isEmpty { cards.append(c) }
            rows.append("\(i),\(c),Springfield")
        }
        let r = try Self.run("lk1", input: rows.joined(separator: "\n") + "\n", ext: "csv", policy: Self.policy("lk1"))
        if r.error != nil { Self.expectStopped(r, naming: "card_number") } else { #expect(r.summary?.rowsOut == 9000) }
        Self.expectNoLeak(r, cards)
    }

    /// Case 1b: plain notes that start mentioning card numbers later stop the run by default …
    @Test func freeTextThatLaterHoldsCardsStopsByDefault() throws {
        let (rows, cards) = Self.notesFeed(seed: 12)
        let r = try Self.run("lk2", input: rows.joined(separator: "\n") + "\n", ext: "csv", policy: Self.policy("lk2"))
        Self.expectStopped(r, naming: "notes")
        #expect((r.error as? JobError)?.code == .newEvidence)
        Self.expectNoLeak(r, cards)
    }

    /// … and with `on-new-evidence: protect` are tokenized from that batch on, said in the summary,
    /// and detokenize inverts exactly that.
    @Test func protectModeTokenizesFromTheNewEvidenceOn() throws {
        let (rows, cards) = Self.notesFeed(seed: 13)
        let policy = try Self.policy("lk3", "on-new-evidence: protect\n")
        let feed = rows.joined(separator: "\n") + "\n"
        let r = try Self.run("lk3", input: feed, ext: "csv", policy: policy)
        #expect(r.error == nil, "\(r.error.map { "\($0)" } ?? "")")
        // detokenize inverts exactly what was protected, from the recorded record on.
        let dir = try tempDir()
        try r.output.write(toFile: dir + "/safe.csv", atomically: true, encoding: .utf8)
        try r.manifest.write(toFile: dir + "/safe.csv.manifest.json", atomically: true, encoding: .utf8)
        var d = TokenizeJob.Options()
        d.mode = .detokenize
        d.input = dir + "/safe.csv"
        d.output = dir + "/clear.csv"
        _ = try TokenizeJob.run(d, policy: policy, keyring: keyring(Self.domains.map { "lk3-\($0)" }), classify: { _ in [] }, authorization: grantedForTests)
        #expect(try String(contentsOfFile: dir + "/clear.csv", encoding: .utf8) == feed)
        let notes = r.summary?.columns.first { $0.name == "notes" }
        #expect((8192...8194).contains(notes?.protectedFromRecord ?? 0) && notes?.action == "tokenize-embedded", "\(String(describing: notes))")
        #expect(r.summary?.text.contains("NEW EVIDENCE") == true)
        Self.expectNoLeak(r, cards)
    }

    /// Case 1c: JSON Lines keys that first appear late are classified when they appear.
    @Test func jsonKeysFirstSeenLateAreClassified() throws {
        var lines: [String] = []
        var emails: [String] = []
        for i in 1...9000 {
            if i > 8500 {
                let e = "person\(i).name@example.org"
                emails.append(e)
                lines.append("{\"id\": \(i), \"city\": \"Springfield\", \"contact_email\": \"\(e)\"}")
            } else {
                lines.append("{\"id\": \(i), \"city\": \"Springfield\"}")
            }
        }
        let r = try Self.run("lk4", input: lines.joined(separator: "\n") + "\n", ext: "jsonl", policy: Self.policy("lk4"))
        Self.expectStopped(r, naming: "contact_email")
        Self.expectNoLeak(r, emails)
    }

    /// The residual scan: a column the policy keeps by name still may not carry clear card
    /// numbers out; with --rejects those records are set aside; --no-verify-output opts out.
    @Test func residualScanCatchesClearValuesInKeptColumns() throws {
        var g = SplitMix64(seed: 15)
        var rows = ["id,ref,city"]
        var cards: [String] = []
        for i in 1...300 {
            let ref = i % 50 == 0 ? Self.card(&g) : "R-\(100_000 + i)"
            if i % 50 == 0 { cards.append(ref) }
            rows.append("\(i),\(ref),Springfield")
        }
        let feed = rows.joined(separator: "\n") + "\n"
        let keep = try Self.policy("lk5", "columns:\n  ref: { action: keep }\n")
        let failed = try Self.run("lk5", input: feed, ext: "csv", policy: keep)
        Self.expectStopped(failed, naming: "ref")
        Self.expectNoLeak(failed, cards)
        let rejected = try Self.run("lk5", input: feed, ext: "csv", policy: keep, rejects: true)
        // The rejects file holds clear values: 0600, even though it existed with 0644 before.
        let mode = try FileManager.default.attributesOfItem(atPath: rejected.rejectsPath)[.posixPermissions] as? Int
        #expect(mode == 0o600, "rejects file mode \(String(mode ?? 0, radix: 8))")
        #expect(rejected.summary?.rowsRejected == cards.count && rejected.summary?.rowsOut == 300 - cards.count)
        Self.expectNoLeak(rejected, cards)
        let optedOut = try Self.run("lk5", input: feed, ext: "csv", policy: keep, verify: false)
        #expect(optedOut.error == nil && optedOut.summary?.outputVerified == false && optedOut.output.contains(cards[0]))
    }

    /// The residual scan reads inside values too: a column the policy keeps by name, whose values
    /// are text with a card number, an SSN or an email inside, stops the run (no output).
    @Test func residualScanFindsValuesInsideKeptText() throws {
        var g = SplitMix64(seed: 16)
        let card = Self.card(&g)
        for (i, inside) in ["paid with \(card) on file", "ssn 536-22-8412 noted", "write to carol.r@example.net please"].enumerated() {
            var rows = ["id,remark,city"]
            for r in 1...200 { rows.append("\(r),\(r == 120 ? inside : "no remark \(r)"),Springfield") }
            let keep = try Self.policy("lk6\(i)", "columns:\n  remark: { action: keep }\n")
            let r = try Self.run("lk6\(i)", input: rows.joined(separator: "\n") + "\n", ext: "csv", policy: keep)
            Self.expectStopped(r, naming: "remark")
        }
    }

    /// No false alarm: a column of random 16-digit ids (one in ten passes Luhn by chance).
    @Test func randomIdsAreNotMistakenForCards() throws {
        var g = SplitMix64(seed: 16)
        var rows = ["id,transaction_id,amount"]
        for i in 1...3000 {
            let tx = "4" + (0..<15).map { _ in String(g.next() % 10) }.joined()
            rows.append("\(i),\(tx),\(g.next() % 10000).\(g.next() % 100)")
        }
        let r = try Self.run("lk6", input: rows.joined(separator: "\n") + "\n", ext: "csv", policy: Self.policy("lk6"))
        #expect(r.error == nil, "\(r.error.map { "\($0)" } ?? "")")
        #expect(r.summary?.rowsOut == 3000)
    }

    /// Case 2: JSON values that are objects or arrays are walked; every leaf holding a sensitive
    /// value is tokenized, structure, key order and spacing untouched; numbers stay numbers.
    @Test func nestedJSONLeavesAreTokenized() throws {
        var g = SplitMix64(seed: 21)
        var lines: [String] = []
        var secrets: [String] = []
        for i in 1...200 {
            let a = Self.card(&g), b = Self.card(&g), c = Self.card(&g)
            secrets += [a, b, c]
            lines.append("{\"id\": \(i), \"payment\": {\"pan\": \"\(a)\", \"note\": \"ok\"}, \"cards\": [\"\(b)\", \(c)], \"city\": \"Springfield\"}")
        }
        let r = try Self.run("lk7", input: lines.joined(separator: "\n") + "\n", ext: "jsonl", policy: Self.policy("lk7"))
        #expect(r.error == nil, "\(r.error.map { "\($0)" } ?? "")")
        Self.expectNoLeak(r, secrets)
        let out = r.output.split(separator: "\n")
        #expect(out.count == 200)
        if let first = out.first, let obj = try JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any] {
            #expect((obj["payment"] as? [String: Any])?["note"] as? String == "ok")
            let cards = obj["cards"] as? [Any]
            #expect(cards?.count == 2 && cards?[0] is String && cards?[1] is NSNumber, "\(String(describing: cards))")
            #expect(first.hasPrefix("{\"id\": 1, \"payment\": {\"pan\": \""), "\(first)")
        } else {
            Issue.record("output line is not a JSON object")
        }
    }

    /// Case 3: a file without a header row is refused (pointing to --no-header) instead of its
    /// first data row becoming the header; CR-only line endings are read as records.
    @Test func headerlessFilesAreRefusedAndCROnlyFilesAreRead() throws {
        var g = SplitMix64(seed: 22)
        var rows: [String] = []
        var cards: [String] = []
        for i in 1...300 {
            let c = Self.card(&g)
            cards.append(c)
            rows.append("\(i),\(c),person\(i)@example.org")
        }
        let headerless = try Self.run("lk8", input: rows.joined(separator: "\n") + "\n", ext: "csv", policy: Self.policy("lk8"))
        let e = headerless.error.map { "\($0)" } ?? ""
        #expect(headerless.error != nil && e.contains("--no-header") && !e.contains(cards[0]), "\(e)")
        #expect(headerless.output.isEmpty)
        let cr = try Self.run("lk8", input: (["id,card_number,email"] + rows).joined(separator: "\r") + "\r", ext: "csv", policy: Self.policy("lk8"))
        #expect(cr.error == nil && cr.summary?.rowsOut == 300, "\(cr.error.map { "\($0)" } ?? "")")
        #expect(cr.output.split(separator: "\r").count == 301)
        Self.expectNoLeak(cr, cards + ["person1@example.org"])
    }

    /// Cases 4–7: a negative header over values that validate, a strong header over values that
    /// fail the check digit, spaced SSNs, short emails, duplicate headers.
    @Test func headerAndShapeCasesNeverLeak() throws {
        var g = SplitMix64(seed: 23)
        var rows = ["customer_ref,Card Number,tax_id,contact,city"]
        var secrets: [String] = []
        for i in 1...300 {
            let area = 100 + Int(g.next() % 500), group = 10 + Int(g.next() % 89), serial = 1000 + Int(g.next() % 8999)
            let ssn = "\(area)-\(group)-\(serial)"
            var card = Self.card(&g)
            card = String(card.dropLast()) + String((Int(String(card.last!))! + 1) % 10)  // fails Luhn
            let spaced = "\(area) \(group) \(serial)"
            let email = i % 3 == 0 ? "al\(i % 10)@gmail.com" : "person\(i)@example.org"
            secrets += [ssn, card, spaced]
            rows.append("\(ssn),\(card),\(spaced),\(email),Springfield")
        }
        let r = try Self.run("lk9", input: rows.joined(separator: "\n") + "\n", ext: "csv", policy: Self.policy("lk9"))
        #expect(r.error == nil, "\(r.error.map { "\($0)" } ?? "")")
        #expect(r.summary?.rowsOut == 300 && r.summary?.rowsRejected == 0)
        Self.expectNoLeak(r, secrets + ["al3@gmail.com"])
        let dup = try Self.run("lk9", input: "id,email,email\n1,a@example.org,b@example.org\n", ext: "csv", policy: Self.policy("lk9"))
        #expect((dup.error.map { "\($0)" } ?? "").contains("duplicate"), "\(dup.error.map { "\($0)" } ?? "no error")")
        #expect(dup.output.isEmpty)
    }

    /// Case 6: card numbers written the ways people write them in free text.
    @Test func freeTextSpellingsOfCardNumbersAreTokenized() throws {
        let pan = "4111111111111111"
        let variants = [
            "paid \(pan)/12 today", "card\(pan) ok", "paid 4111.1111.1111.1111 today", "paid 4111_1111_1111_1111 today",
            "paid 4111\u{00A0}1111\u{00A0}1111\u{00A0}1111 today", "paid 4111  1111  1111  1111 today", "ref -\(pan)",
            "ref №\(pan)", "paid ４１１１１１１１１１１１１１１１ today", "card 4111-1111-1111-1111 exp", "cc#\(pan)",
        ]
        var rows = ["id,memo"]
        for i in 1...300 { rows.append("\(i),\"\(i % 4 == 0 ? variants[(i / 4) % variants.count] : "called about the delivery window")\"") }
        let r = try Self.run("lk10", input: rows.joined(separator: "\n") + "\n", ext: "csv", policy: Self.policy("lk10"))
        #expect(r.error == nil, "\(r.error.map { "\($0)" } ?? "")")
        Self.expectNoLeak(r, [pan, "4111.1111.1111.1111", "4111_1111_1111_1111", "4111  1111  1111  1111", "4111-1111-1111-1111", "１１１１１１１１１１１１"])
        #expect(r.summary.map { $0.rowsOut + $0.rowsRejected } == 300)
    }
}
