import Columns
import Crypto
import Foundation
import Keyring
import TestSupport
import Testing
import Tokenize
import Transforms

func keyring(_ names: [String]) throws -> Keyring {
    let fx = SoftHSMFixture.shared
    let pin = PINSource.file(try fx.writePINFile(name: "pin-policy-\(names[0])"))
    var purposes: [KeyPurpose: PurposeConfig] = [:]
    for p in KeyPurpose.allCases { purposes[p] = PurposeConfig(token: "tg-test-\(p.rawValue)", pin: pin, keys: names) }
    let kr = try Keyring(config: KeyringConfig(module: fx.modulePath, purposes: purposes))
    try kr.initialize()
    return kr
}

func writePolicy(_ yaml: String) throws -> String {
    let path = SoftHSMFixture.shared.directory + "/policy-\(UUID().uuidString).yaml"
    try yaml.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

@Suite struct PolicyFiles {
    @Test func policiesParseWithDefaultsAndOverrides() throws {
        let p = try Policy.load(
            path: writePolicy(
                """
                version: 1
                algorithm: ff3-1
                custody: hsm
                tags:
                  pan: { transform: card, domain: pan }
                  email: { action: hmac, domain: email }
                columns:
                  memo: { action: drop }
                  card_last: { action: mask, keep-last: 2 }
                  dob: { transform: date, domain: date, date-format: MM/dd/yyyy, date-min: 1920-01-01 }
                """))
        #expect(p.algorithm == .ff31 && p.custody == .hsm)
        #expect(p.rule(column: "cc", tag: "pan").transform == .card)
        #expect(p.rule(column: "memo", tag: "pan").action == .drop, "column overrides win")
        #expect(p.rule(column: "x", tag: nil).action == .keep)
        #expect(p.rule(column: "dob", tag: nil).spec == TransformSpec(.date, dateFormat: "MM/dd/yyyy", dateMin: "1920-01-01"))
        #expect(p.domains == ["pan", "email", "date"])
        #expect(p.detokenize == nil)
    }

    @Test func invalidPoliciesNameTheRule() throws {
        for (yaml, needle) in [
            ("version: 1\ntags:\n  pan: { action: tokenize }\n", "tags.pan"),
            ("version: 1\ntags:\n  pan: { transform: card }\n", "domain"),
            ("version: 1\ncolumns:\n  x: { action: hmac }\n", "columns.x"),
            ("version: 2\n", "version"),
            ("version: 1\ndetokenize: { allowed: true, pin-verifier: 'pbkdf2-sha256$200000$00$00' }\n", "grants.detokenize"),
            ("version: 1\ntags:\n  pan: { transform: nonsense, domain: pan }\n", "invalid"),
        ] {
            do {
                _ = try Policy.load(path: writePolicy(yaml))
                Issue.record("accepted: \(yaml)")
            } catch let e as PolicyError {
                #expect(e.reason.contains(needle), "\(e.reason)")
            }
        }
    }
}

@Suite struct ColumnProcessing {
    @Test func everyActionOnAColumn() throws {
        let kr = try keyring(["cp-pan", "cp-generic"])
        let policy = Policy.default
        let pans = ByteColumn(["4111111111111111", "5555555555554444", "not a card"])
        let tok = try ColumnProcessor(column: "card", rule: Rule(transform: .card, domain: "cp-pan"), policy: policy, keyring: kr)
        let (tokens, rejects) = try tok.apply(pans)
        #expect(rejects.map(\.index) == [2])
        #expect(!rejects[0].reason.contains("not a card") || rejects[0].reason.hasPrefix("not a card number"))
        #expect(tokens.string(at: 0) != "4111111111111111" && tokens.string(at: 0).hasPrefix("411111"))
        #expect(tok.key?.label == "tokengate/in-use/cp-pan/v1")
        let (back, _) = try tok.invert(ByteColumn([tokens.string(at: 0), tokens.string(at: 1)]))
        #expect(back.strings == ["4111111111111111", "5555555555554444"])

        var maskRule = Rule(action: .mask)
        maskRule.keepLast = 4
        let mask = try ColumnProcessor(column: "card", rule: maskRule, policy: policy, keyring: nil)
        #expect(try mask.apply(ByteColumn(["4111-1111-1111-1234", "José Ñúñez"])).output.strings == ["****-****-****-1234", "**** *úñez"])
        #expect(throws: PolicyError(.notReversible, "")) { _ = try mask.invert(pans) }

        let hmac = try ColumnProcessor(column: "name", rule: Rule(action: .hmac, domain: "cp-generic"), policy: policy, keyring: kr)
        let p1 = try hmac.apply(ByteColumn(["Ada Lovelace", "Ada Lovelace", "Alan Turing"])).output.strings
        #expect(p1[0] == p1[1] && p1[0] != p1[2] && p1[0].count == 32)
        let otherColumn = try ColumnProcessor(column: "other", rule: Rule(action: .hmac, domain: "cp-generic"), policy: policy, keyring: kr)
        #expect(try otherColumn.apply(ByteColumn(["Ada Lovelace"])).output.string(at: 0) != p1[0], "pseudonyms are per column")
    }
}

@Suite struct DetokenizePermissions {
    /// Issue 12, item 1: a policy cannot grant detokenize — a verifier in it is refused (the
    /// caller writes their own policy); it can only narrow (`allowed: false`) and name the PIN source.
    @Test func aPolicyCanNarrowButNeverGrant() throws {
        let base = "version: 1\ntags:\n  pan: { transform: card, domain: pan }\n"
        var pin = Array("attacker".utf8)
        let verifier = try DetokenizeGrant.verifier(for: SecretBytes(consumingArray: &pin))
        do {
            _ = try Policy.load(path: writePolicy(base + "detokenize: { allowed: true, pin: { env: X }, pin-verifier: '\(verifier)' }\n"))
            Issue.record("a policy carrying a pin-verifier was accepted")
        } catch let e as PolicyError {
            #expect(e.code == .invalid && "\(e)".contains("grants.detokenize"), "\(e)")
        }
        let off = try Policy.load(path: writePolicy(base + "detokenize: { allowed: false }\n"))
        let config = try KeyringConfig.load(path: writeGrantConfig(verifier: verifier))
        #expect(throws: PolicyError(.detokenizeNotPermitted, "")) { _ = try TokenizeJob.authorize(.detokenize, policy: off, config: config) }
        #expect(try TokenizeJob.authorize(.tokenize, policy: off, config: config) == nil)
    }
}

/// A keyring config holding a detokenize grant, written by the test process (mode 0644).
func writeGrantConfig(verifier: String, users: String? = nil, mode: Int = 0o644) throws -> String {
    let dir = SoftHSMFixture.shared.directory + "/grant-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    var yaml = """
        version: 1
        module: \(SoftHSMFixture.shared.modulePath)
        purposes:
          in-use: { token: tg-test-in-use, pin: { env: TG_UNUSED }, keys: [pan] }
        grants:
          detokenize: { pin-verifier: '\(verifier)' }

        """
    if let users { yaml = yaml.replacingOccurrences(of: "pin-verifier: '\(verifier)' }", with: "pin-verifier: '\(verifier)', users: \(users) }") }
    let path = dir + "/keyring.yaml"
    try yaml.write(toFile: path, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    return path
}

@Suite struct ShippedPolicy {
    @Test func theDefaultPolicyFileMatchesTheBuiltInDefault() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let file = try Policy.load(path: root.appendingPathComponent("keys-config/policy.default.yaml").path)
        #expect(file.tags == Policy.default.tags)
        #expect(file.columns == Policy.default.columns)
        #expect(file.algorithm == Policy.default.algorithm && file.custody == Policy.default.custody)
        #expect(file.detokenize?.allowed == false)
    }
}

/// Issue 19: a policy nesting `[` 5,000 deep crashed the YAML parser (stack overflow, SIGSEGV);
/// documents over the nesting, indentation or size bounds are refused before parsing.
@Suite struct PolicyDocumentBounds {
    @Test func deepNestingIsACleanErrorNotACrash() throws {
        for deep in [String(repeating: "[", count: 5000), String(repeating: "{a: ", count: 100) + "1" + String(repeating: "}", count: 100)] {
            do {
                _ = try Policy.load(path: writePolicy("version: 1\ntags: " + deep + "\n"))
                Issue.record("accepted")
            } catch let e as PolicyError {
                #expect(e.code == .invalid && e.reason.contains("refused before parsing") && e.reason.contains("deep"), "\(e)")
            }
        }
        let indented = "version: 1\ntags:\n" + String(repeating: " ", count: 300) + "pan: { transform: card, domain: pan }\n"
        #expect(throws: PolicyError(.invalid, "")) { _ = try Policy.load(path: writePolicy(indented)) }
        // Brackets inside quotes and comments do not count; 64 levels are accepted by the bound.
        let quoted = "version: 1 # [[[[\ncolumns:\n  \"a[[[\": { action: keep }\n  'b{{{': { action: keep }\n"
        #expect(try Policy.load(path: writePolicy(quoted)).columns.count == 2)
        #expect(DocumentBounds.violation(String(repeating: "[", count: 64) + String(repeating: "]", count: 64), maxBytes: 1000) == nil)
        #expect(DocumentBounds.violation(String(repeating: "[", count: 65), maxBytes: 1000) != nil)
        #expect(DocumentBounds.violation(String(repeating: "a", count: 1001), maxBytes: 1000)?.contains("1001 bytes") == true)
    }

    /// Issue 19, found by the policy fuzz harness (Fuzz/Corpus/regressions/policy-sexagesimal-overflow.yaml):
    /// Yams reads an integer containing `:` as base 60 with unchecked arithmetic, so
    /// `version: 1:1:1:1:1:1:1:1:1:1:1` trapped (SIGILL) inside the decoder. Now a PolicyError.
    @Test func aBase60NumberOverIntIsACleanErrorNotACrash() throws {
        for n in ["1:1:1:1:1:1:1:1:1:1:1", "2:0:0:0:0:0:0:0:0:0:0", "9223372036854775807:1", "-1_0:1:1:1:1:1:1:1:1:1:1"] {
            for doc in ["version: \(n)\ntags: {}\n", "version: 1\ntags:\n  pan:\n    transform: card\n    domain: pan\n    keep-last: \(n)\n"] {
                do {
                    _ = try Policy.load(path: writePolicy(doc))
                    Issue.record("accepted \(doc)")
                } catch let e as PolicyError {
                    #expect(e.code == .invalid && e.reason.contains("out of range"), "\(e)")
                }
            }
        }
        // Base 60 in range still reads as Yams reads it; a leading 0 is octal (no base 60) and
        // quoted strings are never numbers.
        #expect(DocumentBounds.sexagesimalOverflow("a: 1:30\nb: 1:0:0:0:0:0:0:0:0:0\nc: 0:0:0:0:0:0:0:0:0:0:0:0\n") == nil)
        #expect(DocumentBounds.sexagesimalOverflow("a: '1:1:1:1:1:1:1:1:1:1:1'\n") == nil)
        #expect(throws: PolicyError(.unsupportedVersion, "")) { _ = try Policy.load(path: writePolicy("version: 1:30\ntags: {}\n")) }
        // The keyring config goes through the same check.
        let dir = SoftHSMFixture.shared.directory + "/base60-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "version: 1:1:1:1:1:1:1:1:1:1:1\nmodule: x\npurposes: {}\n".write(toFile: dir + "/k.yaml", atomically: true, encoding: .utf8)
        #expect(throws: KeyringError(.configInvalid, "")) { _ = try KeyringConfig.load(path: dir + "/k.yaml") }
    }

    @Test func aKeyringConfigIsBoundedToo() throws {
        let dir = SoftHSMFixture.shared.directory + "/bounds-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try ("version: 1\nmodule: " + String(repeating: "[", count: 5000) + "\n").write(toFile: dir + "/k.yaml", atomically: true, encoding: .utf8)
        do {
            _ = try KeyringConfig.load(path: dir + "/k.yaml")
            Issue.record("accepted")
        } catch let e as KeyringError {
            #expect(e.code == .configInvalid && e.reason.contains("refused before parsing"), "\(e)")
        }
    }
}
