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
            ("version: 1\ndetokenize: { allowed: true }\n", "pin-verifier"),
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
    @Test func detokenizeNeedsPermissionAndTheSeparatePIN() throws {
        let fx = SoftHSMFixture.shared
        var pin = Array("detok-approver-7731".utf8)
        let verifier = try DetokenizePermission.verifier(for: SecretBytes(consumingArray: &pin))
        #expect(verifier.hasPrefix("pbkdf2-sha256$200000$") && !verifier.contains("detok-approver"))
        let good = try fx.writePINFile(name: "detok-good", pin: "detok-approver-7731")
        let bad = try fx.writePINFile(name: "detok-bad", pin: "guess")
        let base = "version: 1\ntags:\n  pan: { transform: card, domain: pan }\n"
        let allowed = try Policy.load(path: writePolicy(base + "detokenize: { allowed: true, pin: { file: \(good) }, pin-verifier: '\(verifier)' }\n"))
        try allowed.detokenize!.authorize(relativeTo: allowed.baseDirectory)
        let wrong = try Policy.load(path: writePolicy(base + "detokenize: { allowed: true, pin: { file: \(bad) }, pin-verifier: '\(verifier)' }\n"))
        #expect(throws: PolicyError(.wrongPIN, "")) { try wrong.detokenize!.authorize(relativeTo: wrong.baseDirectory) }
        let off = try Policy.load(path: writePolicy(base + "detokenize: { allowed: false }\n"))
        #expect(throws: PolicyError(.detokenizeNotPermitted, "")) { try off.detokenize!.authorize(relativeTo: off.baseDirectory) }
        let unset = try Policy.load(path: writePolicy(base + "detokenize: { allowed: true, pin: { env: TG_UNSET_DETOK_PIN }, pin-verifier: '\(verifier)' }\n"))
        #expect(throws: KeyringError(.pinUnavailable, "")) { try unset.detokenize!.authorize(relativeTo: unset.baseDirectory) }
    }
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
