import Crypto
import Foundation
import HSM
import TestSupport
import Testing

/// Opens a fixture token logged in with the test PIN.
func loggedInToken(_ label: String) throws -> Token {
    let fx = SoftHSMFixture.shared
    let token = try PKCS11Module.load(path: fx.modulePath).token(label: label)
    var pin = Array(fx.userPIN.utf8)
    try token.login(pin: SecretBytes(consumingArray: &pin))
    return token
}

func aesTemplate(_ label: String, encrypt: Bool = true, decrypt: Bool = true, sign: Bool = false) -> [Attribute] {
    [
        .objectClass(.secretKey), .keyType(.aes), .ulong(.valueLen, 32), .string(.label, label),
        .bool(.token, false), .bool(.private, true), .bool(.sensitive, true), .bool(.extractable, false),
        .bool(.encrypt, encrypt), .bool(.decrypt, decrypt), .bool(.sign, sign), .bool(.verify, false),
        .bool(.wrap, false), .bool(.unwrap, false), .bool(.derive, false),
    ]
}

@Suite struct ModuleAndTokenErrors {
    @Test func missingModulePathIsAClearError() {
        #expect(throws: HSMError(.moduleNotFound, "")) { try PKCS11Module.load(path: "/nonexistent/libpkcs11.so") }
        do {
            _ = try PKCS11Module.load(path: "/nonexistent/libpkcs11.so")
        } catch let e as HSMError {
            #expect(e.reason.contains("/nonexistent/libpkcs11.so"))
        } catch { Issue.record("unexpected \(error)") }
    }

    @Test func aLibraryThatIsNotPKCS11IsRefused() throws {
        let candidates = ["/usr/lib/x86_64-linux-gnu/libz.so.1", "/lib/x86_64-linux-gnu/libz.so.1", "/usr/lib/aarch64-linux-gnu/libz.so.1"]
        let lib = try #require(candidates.first { FileManager.default.fileExists(atPath: $0) })
        #expect(throws: HSMError(.moduleInvalid, "")) { try PKCS11Module.load(path: lib) }
    }

    @Test func missingTokenNamesTheLabelAndWhatIsPresent() throws {
        let m = try PKCS11Module.load(path: SoftHSMFixture.shared.modulePath)
        do {
            _ = try m.token(label: "no-such-token")
            Issue.record("expected tokenNotFound")
        } catch let e as HSMError {
            #expect(e.code == .tokenNotFound)
            #expect(e.reason.contains("'no-such-token'"))
            #expect(e.reason.contains("tg-test-hsm"))
        }
    }

    @Test func wrongPINIsNamed() throws {
        let fx = SoftHSMFixture.shared
        let token = try PKCS11Module.load(path: fx.modulePath).token(label: "tg-test-wrongpin")
        var bad = Array("not-the-pin".utf8)
        do {
            try token.login(pin: SecretBytes(consumingArray: &bad))
            Issue.record("expected wrongPIN")
        } catch let e as HSMError {
            #expect(e.code == .wrongPIN)
            #expect(e.reason.hasPrefix("wrong PIN for token 'tg-test-wrongpin'"))
            #expect(e.function == "C_Login")
            #expect(!e.reason.contains("not-the-pin"))
        }
        #expect(!token.isLoggedIn)
    }
}

@Suite struct HSMOperations {
    @Test func ecbInTheHSMEqualsOpenSSLForTheSameKey() throws {
        let token = try loggedInToken("tg-test-hsm")
        let keyBytes = try SecretBytes.random(count: 32)
        let handle = try token.withSession { s in
            try s.importSecretKey(value: keyBytes, template: aesTemplate("test/ecb-import", decrypt: false))
        }
        let blocks = try SecureRandom.bytes(16 * 1000)
        var viaHSM = [UInt8](repeating: 0, count: blocks.count)
        let n = try token.withSession { s in
            try blocks.withUnsafeBytes { i in try viaHSM.withUnsafeMutableBytes { o in try s.encrypt(.aesECB, key: handle, input: i, output: o) } }
        }
        #expect(n == blocks.count)
        let ecb = try keyBytes.withUnsafeBytes { try AESECB(key: $0) }
        var viaOpenSSL = [UInt8](repeating: 0, count: blocks.count)
        try blocks.withUnsafeBytes { i in try viaOpenSSL.withUnsafeMutableBytes { o in try ecb.encryptBlocks(i, into: o) } }
        #expect(viaHSM == viaOpenSSL)
        #expect(viaHSM != blocks)
    }

    @Test func gcmRoundTripsAndDetectsTampering() throws {
        let token = try loggedInToken("tg-test-hsm")
        let key = try token.withSession { s in try s.generateKey(.aesKeyGen, template: aesTemplate("test/gcm")) }
        let iv = try SecureRandom.bytes(12)
        let aad = Array("context".utf8)
        let pt = Array("a data key of 32 bytes..........".utf8)
        var ct = [UInt8](repeating: 0, count: pt.count + 16)
        let n = try token.withSession { s in
            try pt.withUnsafeBytes { i in try ct.withUnsafeMutableBytes { o in try s.encrypt(.aesGCM(iv: iv, aad: aad), key: key, input: i, output: o) } }
        }
        #expect(n == pt.count + 16)
        func open(_ c: [UInt8], aad: [UInt8]) throws -> [UInt8] {
            var out = [UInt8](repeating: 0, count: c.count)
            let m = try token.withSession { s in
                try c.withUnsafeBytes { i in try out.withUnsafeMutableBytes { o in try s.decrypt(.aesGCM(iv: iv, aad: aad), key: key, input: i, output: o) } }
            }
            return Array(out.prefix(m))
        }
        #expect(try open(ct, aad: aad) == pt)
        var tampered = ct
        tampered[3] ^= 1
        #expect(throws: HSMError(.authenticationFailed, "")) { try open(tampered, aad: aad) }
        #expect(throws: HSMError(.authenticationFailed, "")) { try open(ct, aad: Array("other".utf8)) }
        // The session is still usable after a failed decryption.
        #expect(try open(ct, aad: aad) == pt)
    }

    @Test func usageFlagsAreEnforcedByTheModule() throws {
        let token = try loggedInToken("tg-test-hsm")
        let encryptOnly = try token.withSession { s in
            try s.generateKey(.aesKeyGen, template: aesTemplate("test/encrypt-only", encrypt: true, decrypt: false, sign: false))
        }
        #expect(throws: HSMError(.operationNotPermitted, "")) {
            _ = try token.withSession { s in try s.sign(.aesCMAC, key: encryptOnly, data: [1, 2, 3]) }
        }
        let input = [UInt8](repeating: 0, count: 16)
        var out = [UInt8](repeating: 0, count: 16)
        #expect(throws: HSMError(.operationNotPermitted, "")) {
            _ = try token.withSession { s in
                try input.withUnsafeBytes { i in try out.withUnsafeMutableBytes { o in try s.decrypt(.aesECB, key: encryptOnly, input: i, output: o) } }
            }
        }
    }

    @Test func sensitiveKeyValueCannotBeRead() throws {
        let token = try loggedInToken("tg-test-hsm")
        let key = try token.withSession { s in try s.generateKey(.aesKeyGen, template: aesTemplate("test/sensitive")) }
        let attrs = try token.withSession { s in try s.attributes(of: key, [.value, .sensitive, .extractable]) }
        #expect(attrs[.value] == nil)
        #expect(AttributeValue.bool(attrs[.sensitive]) == true)
        #expect(AttributeValue.bool(attrs[.extractable]) == false)
    }

    @Test func randomBytesComeFromTheToken() throws {
        let token = try loggedInToken("tg-test-hsm")
        let (a, b) = try token.withSession { s in (try s.randomBytes(32), try s.randomBytes(32)) }
        #expect(a.count == 32 && a != b)
    }

    @Test func sessionsAreLentToConcurrentThreads() throws {
        let token = try loggedInToken("tg-test-hsm")
        let key = try token.withSession { s in try s.generateKey(.aesKeyGen, template: aesTemplate("test/concurrent")) }
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            do {
                for i in 0..<50 {
                    let pt = [UInt8](repeating: UInt8(t), count: 16 * (i % 4 + 1))
                    var ct = [UInt8](repeating: 0, count: pt.count)
                    var back = [UInt8](repeating: 0, count: pt.count)
                    try token.withSession { s in
                        _ = try pt.withUnsafeBytes { i in try ct.withUnsafeMutableBytes { o in try s.encrypt(.aesECB, key: key, input: i, output: o) } }
                        _ = try ct.withUnsafeBytes { i in try back.withUnsafeMutableBytes { o in try s.decrypt(.aesECB, key: key, input: i, output: o) } }
                    }
                    if back != pt { failures.add("thread \(t) iteration \(i): round trip mismatch") }
                }
            } catch { failures.add("thread \(t): \(error)") }
        }
        #expect(failures.all.isEmpty, "\(failures.all)")
    }
}
