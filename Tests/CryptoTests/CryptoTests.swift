import Crypto
import Foundation
import Synchronization
import Testing

func hex(_ s: String) -> [UInt8] {
    var out: [UInt8] = []
    var it = s.makeIterator()
    while let a = it.next(), let b = it.next() { out.append(UInt8(String([a, b]), radix: 16)!) }
    return out
}

func hexString(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined() }

@Suite struct CryptoPrimitiveTests {
    @Test(arguments: [
        ("000102030405060708090a0b0c0d0e0f", "69c4e0d86a7b0430d8cdb78070b4c55a"),
        ("000102030405060708090a0b0c0d0e0f1011121314151617", "dda97ca4864cdfe06eaf70a0ec0d7191"),
        ("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "8ea2b7ca516745bfeafc49904b496089"),
    ])
    func aesECBMatchesFIPS197(key: String, expected: String) throws {
        let k = hex(key)
        let ecb = try k.withUnsafeBytes { try AESECB(key: $0) }
        // Three copies of the FIPS-197 plaintext encrypt to three copies of its ciphertext.
        let pt = Array(repeating: hex("00112233445566778899aabbccddeeff"), count: 3).flatMap { $0 }
        var ct = [UInt8](repeating: 0, count: pt.count)
        try pt.withUnsafeBytes { i in try ct.withUnsafeMutableBytes { o in try ecb.encryptBlocks(i, into: o) } }
        #expect(hexString(ct) == String(repeating: expected, count: 3))
        // A copied context gives the same result.
        let c2 = try ecb.copy()
        var ct2 = [UInt8](repeating: 0, count: 16)
        try pt.withUnsafeBytes { i in try ct2.withUnsafeMutableBytes { o in try c2.encryptBlocks(UnsafeRawBufferPointer(rebasing: i[0..<16]), into: o) } }
        #expect(hexString(ct2) == expected)
    }

    @Test func aesECBRejectsBadSizes() throws {
        let short = [UInt8](repeating: 1, count: 20)
        #expect(throws: CryptoError(.invalidKeySize, "")) { try short.withUnsafeBytes { try AESECB(key: $0) } }
        let k = [UInt8](repeating: 1, count: 32)
        let ecb = try k.withUnsafeBytes { try AESECB(key: $0) }
        var out = [UInt8](repeating: 0, count: 32)
        #expect(throws: CryptoError(.invalidLength, "")) {
            try short.withUnsafeBytes { i in try out.withUnsafeMutableBytes { o in try ecb.encryptBlocks(i, into: o) } }
        }
    }

    @Test func hkdfMatchesRFC5869Case1() throws {
        var ikmArr = [UInt8](repeating: 0x0b, count: 22)
        let ikm = SecretBytes(consumingArray: &ikmArr)
        #expect(ikmArr.isEmpty)
        let okm = try HKDFSHA256.deriveKey(
            inputKey: ikm, salt: hex("000102030405060708090a0b0c"),
            info: hex("f0f1f2f3f4f5f6f7f8f9"), outputCount: 42)
        let got = okm.withUnsafeBytes { Array($0) }
        #expect(hexString(got) == "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")
    }

    @Test func hmacMatchesRFC4231Case2() throws {
        var k = Array("Jefe".utf8)
        let key = SecretBytes(consumingArray: &k)
        let mac = try Array("what do ya want for nothing?".utf8).withUnsafeBytes {
            try HMACSHA256.authenticationCode(key: key, data: $0)
        }
        #expect(hexString(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func cmacMatchesSP800_38BExample() throws {
        // NIST SP 800-38B, AES-128 example 2 (16-byte message).
        var k = hex("2b7e151628aed2a6abf7158809cf4f3c")
        let key = SecretBytes(consumingArray: &k)
        let mac = try hex("6bc1bee22e409f96e93d7e117393172a").withUnsafeBytes { try AESCMAC.authenticationCode(key: key, data: $0) }
        #expect(hexString(mac) == "070a16b46b4d4144f79bdd9dd04a287c")
    }

    @Test func sha256AndStreamingAgree() throws {
        #expect(hexString(try SHA256.hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let h = try SHA256Hasher()
        try Array("a".utf8).withUnsafeBytes { try h.update($0) }
        try Array("bc".utf8).withUnsafeBytes { try h.update($0) }
        #expect(hexString(try h.finalize()) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func secretsCompareInConstantTimeAndRandomDiffers() throws {
        let a = try SecretBytes.random(count: 32)
        let b = a.duplicate()
        let c = try SecretBytes.random(count: 32)
        let ab = a.constantTimeEquals(b), ac = a.constantTimeEquals(c)
        #expect(ab)
        #expect(!ac)
        let n = a.count
        #expect(n == 32)
    }
}

@Suite struct AESGCMTests {
    // McGrew & Viega, "The Galois/Counter Mode of Operation", test case 16 (AES-256, 60-byte
    // plaintext, 20-byte AAD, 96-bit IV).
    let key = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"
    let pt = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
    let aad = "feedfacedeadbeeffeedfacedeadbeefabaddad2"
    let iv = "cafebabefacedbaddecaf888"
    let ct = "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
    let tag = "76fc6ece0f4e1768cddf8853bb2d551b"

    func gcm() throws -> AESGCM {
        var k = hex(key)
        return try AESGCM(key: SecretBytes(consumingArray: &k))
    }

    @Test func sealMatchesTheGCMSpecTestCase16AndReusesItsContext() throws {
        let g = try gcm()
        for _ in 0..<2 {
            var out = [UInt8](repeating: 0, count: hex(pt).count)
            let t = try hex(pt).withUnsafeBytes { p in
                try out.withUnsafeMutableBytes { o in try g.seal(nonce: hex(iv), aad: hex(aad), plaintext: p, into: o) }
            }
            #expect(hexString(out) == ct)
            #expect(hexString(t) == tag)
        }
    }

    @Test func openAuthenticatesBeforeReleasingPlaintext() throws {
        let g = try gcm()
        func open(_ c: [UInt8], _ a: [UInt8], _ t: [UInt8]) throws -> [UInt8] {
            var out = [UInt8](repeating: 0, count: c.count)
            try c.withUnsafeBytes { cb in
                try out.withUnsafeMutableBytes { o in try g.open(nonce: hex(iv), aad: a, ciphertext: cb, tag: t, into: o) }
            }
            return out
        }
        #expect(hexString(try open(hex(ct), hex(aad), hex(tag))) == pt)
        var bad = hex(ct)
        bad[10] ^= 1
        #expect(throws: CryptoError(.authenticationFailed, "")) { _ = try open(bad, hex(aad), hex(tag)) }
        #expect(throws: CryptoError(.authenticationFailed, "")) { _ = try open(hex(ct), hex(aad).dropLast() + [0], hex(tag)) }
        var badTag = hex(tag)
        badTag[0] ^= 0x80
        #expect(throws: CryptoError(.authenticationFailed, "")) { _ = try open(hex(ct), hex(aad), badTag) }
        // The context still works after a failure.
        #expect(hexString(try open(hex(ct), hex(aad), hex(tag))) == pt)
    }
}

/// Issue 19: `SecretBytes` wipes its buffer before freeing it. Unobservable from outside, so a
/// debug-only hook hands each buffer to the test after the wipe and before the free.
@Suite struct SecretWipe {
    @Test func everySecretBufferIsZeroBeforeItIsFreed() throws {
        let seen = Mutex<[(count: Int, zero: Bool)]>([])
        SecretBytes.wipeObserver.withLock {
            $0 = { buffer in
                let zero = buffer.allSatisfy { $0 == 0 }
                seen.withLock { $0.append((buffer.count, zero)) }
            }
        }
        defer { SecretBytes.wipeObserver.withLock { $0 = nil } }
        do {
            var key = [UInt8](repeating: 0xA5, count: 77)
            let s = SecretBytes(consumingArray: &key)
            #expect(s.count == 77 && key.allSatisfy { $0 == 0 })
            let copy = s.duplicate()
            #expect(copy.count == 77)
            var fresh = SecretBytes(zeroedCount: 32)
            try fresh.withUnsafeMutableBytes { try SecureRandom.fill($0) }
            #expect(fresh.count == 32)
        }
        let mine = seen.withLock { $0 }.filter { $0.count == 77 || $0.count == 32 }
        #expect(mine.count >= 3, "the hook saw \(mine.count) of the 3 buffers")
        let all = seen.withLock { $0 }
        #expect(all.allSatisfy { $0.zero }, "a secret buffer was freed holding its bytes")
    }
}
