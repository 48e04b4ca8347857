import Crypto
import Foundation
import HSM
import Keyring
import TestSupport
import Testing

/// A keyring over the fixture tokens whose key names are unique to the calling test, so tests
/// running in parallel never see each other's versions.
func makeKeyring(_ prefix: String, pin: PINSource? = nil, extra: [KeyPurpose: [String]] = [:]) throws -> Keyring {
    let fx = SoftHSMFixture.shared
    let pinSource = try pin ?? .file(fx.writePINFile(name: "pin-\(prefix)"))
    var purposes: [KeyPurpose: PurposeConfig] = [:]
    for p in KeyPurpose.allCases {
        let names = ["\(prefix)-a", "\(prefix)-b"] + (extra[p] ?? [])
        purposes[p] = PurposeConfig(token: "tg-test-\(p.rawValue)", pin: pinSource, keys: names)
    }
    return try Keyring(config: KeyringConfig(module: fx.modulePath, purposes: purposes))
}

@Suite struct KeyCustody {
    @Test func initCreatesEveryKeyWithCustodyAttributesReadBackFromTheHSM() throws {
        let kr = try makeKeyring("custody")
        let created = try kr.initialize()
        #expect(created.count == 8)
        #expect(try kr.initialize().isEmpty, "init is idempotent")
        let keys = try kr.list().filter { $0.name.hasPrefix("custody-") }
        #expect(keys.count == 8)
        for k in keys {
            #expect(k.custodyViolations.isEmpty, "\(k.label): \(k.custodyViolations)")
            #expect(k.label == "tokengate/\(k.purpose.rawValue)/\(k.name)/v1")
            #expect(k.version == 1 && k.primary)
            #expect(k.id.count == 32)
            #expect(k.created != nil)
            let a = k.attributes
            #expect(a["CKA_TOKEN"] == true && a["CKA_PRIVATE"] == true)
            #expect(a["CKA_SENSITIVE"] == true && a["CKA_ALWAYS_SENSITIVE"] == true)
            #expect(a["CKA_EXTRACTABLE"] == false && a["CKA_NEVER_EXTRACTABLE"] == true)
            #expect(a["CKA_MODIFIABLE"] == false)
            #expect(a["CKA_WRAP"] == false && a["CKA_UNWRAP"] == false && a["CKA_DERIVE"] == false)
            switch k.purpose {
            case .atRest, .inTransit:
                #expect(a["CKA_ENCRYPT"] == true && a["CKA_DECRYPT"] == true)
                #expect(a["CKA_SIGN"] == false && a["CKA_VERIFY"] == false)
                #expect(k.allowedMechanisms == ["CKM_AES_GCM"])
            case .inUse:
                #expect(a["CKA_ENCRYPT"] == true && a["CKA_SIGN"] == true)
                #expect(a["CKA_DECRYPT"] == false && a["CKA_VERIFY"] == false)
                #expect(Set(k.allowedMechanisms ?? []) == ["CKM_AES_ECB", "CKM_AES_CMAC"])
            case .audit:
                #expect(a["CKA_SIGN"] == true && a["CKA_VERIFY"] == true)
                #expect(a["CKA_ENCRYPT"] == false && a["CKA_DECRYPT"] == false)
                #expect(k.allowedMechanisms == ["CKM_SHA256_HMAC"])
            }
            // The key value never leaves the HSM.
            let value = try kr.token(k.purpose).withSession { s in try s.attributes(of: ObjectHandle(rawValue: k.handle), [.value]) }
            #expect(value[.value] == nil, "\(k.label) value readable")
        }
        #expect(Set(keys.map(\.id)).count == 8, "ids are unique")
    }

    @Test func keysRefuseOtherPurposesOperations() throws {
        let kr = try makeKeyring("xpurpose")
        try kr.initialize()
        // The keyring refuses.
        #expect(throws: KeyringError(.wrongPurpose, "")) { _ = try kr.generateDataKey(KeyRef(.inUse, "xpurpose-a"), context: []) }
        #expect(throws: KeyringError(.wrongPurpose, "")) { _ = try kr.generateDataKey(KeyRef(.audit, "xpurpose-a"), context: []) }
        let dk = try kr.generateDataKey(KeyRef(.atRest, "xpurpose-a"), context: [1])
        #expect(throws: KeyringError(.wrongPurpose, "")) { _ = try kr.unwrapDataKey(dk.wrapped, purpose: .inTransit, context: [1]) }
        // Each guard on its own (issue 19): the envelope's purpose is checked before any key is
        // looked up — the error names the envelope, not the key the later handle check would.
        do {
            _ = try kr.unwrapDataKey(dk.wrapped, purpose: .inTransit, context: [1])
        } catch let e as KeyringError {
            #expect(e.reason.contains("data key is wrapped by a at-rest key, not a in-transit key"), "\(e)")
        }
        // The HSM refuses too: try each key with another purpose's mechanism directly.
        let inUse = try kr.primary(KeyRef(.inUse, "xpurpose-a"))
        let atRest = try kr.primary(KeyRef(.atRest, "xpurpose-a"))
        let audit = try kr.primary(KeyRef(.audit, "xpurpose-a"))
        let block = [UInt8](repeating: 7, count: 32)
        var out = [UInt8](repeating: 0, count: 64)
        func encrypt(_ p: KeyPurpose, _ key: KeyInfo, _ m: Mechanism) throws {
            _ = try kr.token(p).withSession { s in
                try block.withUnsafeBytes { i in
                    try out.withUnsafeMutableBytes { o in try s.encrypt(m, key: ObjectHandle(rawValue: key.handle), input: i, output: o) }
                }
            }
        }
        func decrypt(_ p: KeyPurpose, _ key: KeyInfo, _ m: Mechanism) throws {
            _ = try kr.token(p).withSession { s in
                try block.withUnsafeBytes { i in
                    try out.withUnsafeMutableBytes { o in try s.decrypt(m, key: ObjectHandle(rawValue: key.handle), input: i, output: o) }
                }
            }
        }
        #expect(throws: HSMError(.mechanismUnsupported, ""), "in-use key must not GCM-wrap") {
            try encrypt(.inUse, inUse, .aesGCM(iv: Array(repeating: 0, count: 12), aad: []))
        }
        #expect(throws: HSMError(.operationNotPermitted, ""), "in-use key must not decrypt") { try decrypt(.inUse, inUse, .aesECB) }
        #expect(throws: HSMError(.mechanismUnsupported, ""), "at-rest key must not do raw ECB") { try encrypt(.atRest, atRest, .aesECB) }
        #expect(throws: HSMError(.operationNotPermitted, ""), "at-rest key must not sign") {
            _ = try kr.token(.atRest).withSession { s in try s.sign(.aesCMAC, key: ObjectHandle(rawValue: atRest.handle), data: block) }
        }
        #expect(throws: HSMError(.operationNotPermitted, ""), "audit key must not encrypt") { try encrypt(.audit, audit, .aesECB) }
        // And each key works for its own mechanism.
        let mac = try kr.token(.audit).withSession { s in try s.sign(.sha256HMAC, key: ObjectHandle(rawValue: audit.handle), data: block) }
        #expect(mac.count == 32)
        try encrypt(.inUse, inUse, .aesECB)
    }
}

@Suite struct KeyringErrors {
    @Test func unknownKeyIsNamed() throws {
        let kr = try makeKeyring("unknown")
        do {
            _ = try kr.primary(KeyRef(.inUse, "nope"))
            Issue.record("expected unknownKey")
        } catch let e as KeyringError {
            #expect(e.code == .unknownKey)
            #expect(e.reason.contains("in-use/nope"))
        }
        #expect(throws: KeyringError(.unknownKey, "")) { _ = try KeyRef(parsing: "secret/pan") }
        #expect(throws: KeyringError(.unknownKey, "")) { _ = try KeyRef(parsing: "in-use") }
        #expect(throws: KeyringError(.keyNotInitialized, "")) { _ = try kr.primary(KeyRef(.inUse, "unknown-a")) }
    }

    @Test func missingTokenModuleAndPINSourcesAreClearErrors() throws {
        let fx = SoftHSMFixture.shared
        var c = KeyringConfig(
            module: "/opt/none/libsofthsm2.so",
            purposes: [
                .atRest: PurposeConfig(token: "tg-test-at-rest", pin: .environment("TG_TEST_UNSET_PIN_VAR"), keys: ["k"])
            ])
        #expect(throws: HSMError(.moduleNotFound, "")) { _ = try Keyring(config: c) }
        c.module = fx.modulePath
        let kr = try Keyring(config: c)
        do {
            _ = try kr.token(.atRest)
            Issue.record("expected pinUnavailable")
        } catch let e as KeyringError {
            #expect(e.code == .pinUnavailable && e.reason.contains("TG_TEST_UNSET_PIN_VAR"))
        }
        let loose = try fx.writePINFile(name: "pin-loose", mode: 0o644)
        let kr2 = try Keyring(
            config: KeyringConfig(
                module: fx.modulePath,
                purposes: [
                    .atRest: PurposeConfig(token: "tg-test-at-rest", pin: .file(loose), keys: ["k"])
                ]))
        #expect(throws: KeyringError(.pinUnavailable, "")) { _ = try kr2.token(.atRest) }
        let kr3 = try Keyring(
            config: KeyringConfig(
                module: fx.modulePath,
                purposes: [
                    .atRest: PurposeConfig(token: "tg-test-absent", pin: .file(try fx.writePINFile(name: "pin-absent")), keys: ["k"])
                ]))
        #expect(throws: HSMError(.tokenNotFound, "")) { _ = try kr3.token(.atRest) }
        let wrong = try fx.writePINFile(name: "pin-wrong", pin: "wrong-pin")
        let kr4 = try Keyring(
            config: KeyringConfig(
                module: fx.modulePath,
                purposes: [
                    .atRest: PurposeConfig(token: "tg-test-wrongpin", pin: .file(wrong), keys: ["k"])
                ]))
        do {
            _ = try kr4.token(.atRest)
            Issue.record("expected wrongPIN")
        } catch let e as HSMError {
            #expect(e.code == .wrongPIN && e.reason.contains("wrong PIN for token 'tg-test-wrongpin'"))
        }
    }

    @Test func configFilesAreValidated() throws {
        let fx = SoftHSMFixture.shared
        func load(_ yaml: String) throws -> KeyringConfig {
            let path = fx.directory + "/cfg-\(UUID().uuidString).yaml"
            try yaml.write(toFile: path, atomically: true, encoding: .utf8)
            return try KeyringConfig.load(path: path)
        }
        let good = try load(
            """
            version: 1
            module: /usr/lib/softhsm/libsofthsm2.so
            module-environment: { SOFTHSM2_CONF: ../hsm/softhsm2.conf }
            purposes:
              at-rest: { token: a, pin: { file: ../pins/a.pin }, keys: [datasets] }
              in-use: { token: b, pin: { env: B_PIN }, keys: [pan, ssn] }
            """)
        #expect(try good.purpose(.inUse).keys == ["pan", "ssn"])
        #expect(try good.purpose(.inUse).pin == .environment("B_PIN"))
        #expect(good.resolve("../pins/a.pin").hasSuffix("/pins/a.pin"))
        // JSON is YAML too.
        _ = try load(#"{"version":1,"module":"/m.so","purposes":{"audit":{"token":"t","pin":{"env":"P"},"keys":["log"]}}}"#)
        #expect(throws: KeyringError(.configInvalid, ""), "shared token") {
            _ = try load(
                """
                version: 1
                module: /m.so
                purposes:
                  at-rest: { token: same, pin: { env: P }, keys: [a] }
                  in-transit: { token: same, pin: { env: P }, keys: [b] }
                """)
        }
        #expect(throws: KeyringError(.configInvalid, ""), "unknown purpose") {
            _ = try load("version: 1\nmodule: /m.so\npurposes:\n  secret: { token: t, pin: { env: P }, keys: [a] }\n")
        }
        #expect(throws: KeyringError(.configInvalid, ""), "both pin sources") {
            _ = try load("version: 1\nmodule: /m.so\npurposes:\n  audit: { token: t, pin: { env: P, file: f }, keys: [a] }\n")
        }
        #expect(throws: KeyringError(.configInvalid, ""), "bad key name") {
            _ = try load("version: 1\nmodule: /m.so\npurposes:\n  audit: { token: t, pin: { env: P }, keys: [\"Bad Name\"] }\n")
        }
        #expect(throws: KeyringError(.configInvalid, ""), "missing file") { _ = try KeyringConfig.load(path: "/nonexistent.yaml") }
    }
}

@Suite struct RotationAndEnvelopes {
    @Test func rotateAndRetireRoundTrip() throws {
        let kr = try makeKeyring("rot")
        try kr.initialize()
        let ref = KeyRef(.inUse, "rot-a")
        let v2 = try kr.rotate(ref)
        #expect(v2.version == 2 && v2.label == "tokengate/in-use/rot-a/v2" && v2.custodyViolations.isEmpty)
        var versions = try kr.versions(ref)
        #expect(versions.map(\.version) == [1, 2])
        #expect(versions.map(\.primary) == [false, true])
        #expect(try kr.primary(ref).version == 2)
        #expect(throws: KeyringError(.retirePrimary, "")) { try kr.retire(ref, version: 2) }
        #expect(throws: KeyringError(.versionNotFound, "")) { try kr.retire(ref, version: 9) }
        try kr.retire(ref, version: 1)
        versions = try kr.versions(ref)
        #expect(versions.map(\.version) == [2])
        #expect(try kr.rotate(ref).version == 3)
        // The other key of the purpose is untouched.
        #expect(try kr.versions(KeyRef(.inUse, "rot-b")).map(\.version) == [1])
    }

    @Test func dataKeyWrappedUnderV1UnwrapsAfterRotationAndFailsAfterRetirement() throws {
        let kr = try makeKeyring("wrap")
        try kr.initialize()
        let ref = KeyRef(.atRest, "wrap-a")
        let context = Array("file-id-0001".utf8)
        let dk = try kr.generateDataKey(ref, context: context)
        #expect(dk.wrapped.keyVersion == 1)
        let wire = dk.wrapped.serialized
        let parsed = try WrappedDataKey(serialized: wire)
        #expect(parsed == dk.wrapped)
        let back = try kr.unwrapDataKey(parsed, purpose: .atRest, context: context)
        let same1 = back.constantTimeEquals(dk.secret)
        #expect(same1)

        _ = try kr.rotate(ref)
        let after = try kr.unwrapDataKey(parsed, purpose: .atRest, context: context)
        let same2 = after.constantTimeEquals(dk.secret)
        #expect(same2)
        let dk2 = try kr.generateDataKey(ref, context: context)
        #expect(dk2.wrapped.keyVersion == 2, "new data keys use the primary")
        let differs = !dk2.secret.constantTimeEquals(dk.secret)
        #expect(differs)

        // Wrong context, tampered envelope, wrong version: refused.
        #expect(throws: KeyringError(.unwrapFailed, "")) { _ = try kr.unwrapDataKey(parsed, purpose: .atRest, context: Array("file-id-0002".utf8)) }
        var tampered = wire
        tampered[tampered.count - 20] ^= 0x01
        #expect(throws: KeyringError(.unwrapFailed, "")) {
            _ = try kr.unwrapDataKey(try WrappedDataKey(serialized: tampered), purpose: .atRest, context: context)
        }
        var otherVersion = wire
        otherVersion[7 + 6 + 3] = 2  // key version field: claim v2 (id check and AAD both fail)
        #expect(throws: KeyringError(.unwrapFailed, "")) {
            _ = try kr.unwrapDataKey(try WrappedDataKey(serialized: otherVersion), purpose: .atRest, context: context)
        }
        #expect(throws: KeyringError(.envelopeInvalid, "")) { _ = try WrappedDataKey(serialized: Array(wire.dropLast())) }

        try kr.retire(ref, version: 1)
        #expect(throws: KeyringError(.versionNotFound, "")) { _ = try kr.unwrapDataKey(parsed, purpose: .atRest, context: context) }
        let still = try kr.unwrapDataKey(dk2.wrapped, purpose: .atRest, context: context)
        let same3 = still.constantTimeEquals(dk2.secret)
        #expect(same3)
    }

    @Test func concurrentWrapAndUnwrapFromSeveralThreads() throws {
        let kr = try makeKeyring("conc")
        try kr.initialize()
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            do {
                for i in 0..<40 {
                    let purpose: KeyPurpose = (t + i) % 2 == 0 ? .atRest : .inTransit
                    let ref = KeyRef(purpose, i % 3 == 0 ? "conc-b" : "conc-a")
                    let ctx = Array("t\(t)-i\(i)".utf8)
                    let dk = try kr.generateDataKey(ref, context: ctx)
                    let back = try kr.unwrapDataKey(try WrappedDataKey(serialized: dk.wrapped.serialized), purpose: purpose, context: ctx)
                    if !back.constantTimeEquals(dk.secret) { failures.add("thread \(t) iteration \(i): mismatch") }
                }
            } catch { failures.add("thread \(t): \(error)") }
        }
        #expect(failures.all.isEmpty, "\(failures.all)")
    }
}

@Suite struct TokenizationCustody {
    /// Imports a known AES key into the in-use test token as `tokengate/in-use/<name>/v1` with the
    /// in-use custody attributes, so HSM results can be compared with OpenSSL on the same key.
    func importInUseKey(_ kr: Keyring, name: String, key: borrowing SecretBytes) throws {
        let policy = CustodyPolicy.of(.inUse)
        let id = try SecureRandom.bytes(16)
        var template: [Attribute] = [
            .objectClass(.secretKey), .keyType(.aes), .string(.label, "tokengate/in-use/\(name)/v1"), Attribute(.id, bytes: id),
            .bool(.token, true), .bool(.private, true), .bool(.sensitive, true), .bool(.extractable, false), .bool(.modifiable, false),
            .mechanisms(policy.allowedMechanisms),
        ]
        for f in [AttributeType.encrypt, .decrypt, .wrap, .unwrap, .sign, .verify, .derive] { template.append(.bool(f, policy.usage.contains(f))) }
        _ = try kr.token(.inUse).withSession { s in try s.importSecretKey(value: key, template: template) }
    }

    @Test func hsmBlockCipherEqualsOpenSSLForAnImportedKey() throws {
        let kr = try makeKeyring("ecb", extra: [.inUse: ["ecb-imported"]])
        let key = try SecretBytes.random(count: 32)
        try importInUseKey(kr, name: "ecb-imported", key: key)
        let info = try kr.tokenizationKey(domain: "ecb-imported")
        // Small chunks force several C_Encrypt calls per batch.
        let hsm = HSMBlockCipher(token: try kr.token(.inUse), key: ObjectHandle(rawValue: info.handle), label: info.label, maxBytesPerCall: 4096)
        let ecb = try key.withUnsafeBytes { try AESECB(key: $0) }
        let input = try SecureRandom.bytes(16 * 1000)
        var a = input, b = input
        try a.withUnsafeMutableBytes { try hsm.encryptBlocks($0) }
        try input.withUnsafeBytes { i in try b.withUnsafeMutableBytes { o in try ecb.encryptBlocks(i, into: o) } }
        #expect(a == b)
        #expect(a != input)
        var odd = [UInt8](repeating: 0, count: 17)
        #expect(throws: HSMError(.invalidInput, "")) { try odd.withUnsafeMutableBytes { try hsm.encryptBlocks($0) } }
    }

    @Test func derivedSubkeyIsSP800_108CounterModeCMAC() throws {
        let kr = try makeKeyring("kdf", extra: [.inUse: ["kdf-imported"]])
        let key = try SecretBytes.random(count: 32)
        try importInUseKey(kr, name: "kdf-imported", key: key)
        let info = try kr.tokenizationKey(domain: "kdf-imported")
        let sub = try kr.deriveSubkey(info)
        var expected: [UInt8] = []
        for i: UInt8 in 1...2 {
            let input: [UInt8] = [0, 0, 0, i] + Array("tokengate/fpe-subkey/v1".utf8) + [0] + Array("kdf-imported".utf8) + [0] + [0, 0, 0, 1] + [0, 0, 1, 0]
            expected += try input.withUnsafeBytes { try AESCMAC.authenticationCode(key: key, data: $0) }
        }
        let got = sub.withUnsafeBytes { Array($0) }
        #expect(got == expected)
        // Another version or domain derives another subkey; the same one derives the same.
        try kr.initialize()
        let other = try kr.deriveSubkey(try kr.tokenizationKey(domain: "kdf-a"))
        let same = try kr.deriveSubkey(info)
        let differs = !other.constantTimeEquals(sub), stable = same.constantTimeEquals(sub)
        #expect(differs && stable)
    }

    @Test func tokenizationKeysAreInUseOnly() throws {
        let kr = try makeKeyring("tkonly")
        try kr.initialize()
        let atRest = try kr.primary(KeyRef(.atRest, "tkonly-a"))
        #expect(throws: KeyringError(.wrongPurpose, "")) { _ = try kr.deriveSubkey(atRest) }
        #expect(throws: KeyringError(.wrongPurpose, "")) { _ = try kr.hsmBlockCipher(atRest) }
        #expect(throws: KeyringError(.unknownKey, "")) { _ = try kr.tokenizationKey(domain: "not-configured") }
    }
}
