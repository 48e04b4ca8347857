import Crypto
import Testing

@testable import FPE

@Suite struct VectorTests {
    @Test func fixturesLoad() throws {
        let ff1 = try VectorFile.load("ff1.json")
        let ff31 = try VectorFile.load("ff3-1.json")
        #expect(ff1.algorithm == "ff1")
        #expect(ff31.algorithm == "ff3-1")
        // The nine NIST FF1 samples, AES-128/192/256 × 3, plus further published cases.
        #expect(ff1.cases.filter { $0.name.hasPrefix("NIST FF1 sample") }.count == 9)
        #expect(ff1.cases.count == 14)
        #expect(ff31.cases.filter { $0.name.hasPrefix("ACVP") }.count == 18)
        #expect(ff31.cases.count == 19)
        for c in ff1.cases + ff31.cases {
            #expect(!c.source.isEmpty, "\(c.name) names no source")
        }
    }

    static func run(_ algorithm: FPEAlgorithm, _ c: VectorCase, forceMultiLimb: Bool = false) throws {
        let alphabet = try Alphabet(c.alphabet)
        #expect(alphabet.radix == c.radix)
        let cipher = try makeCipher(algorithm, keyHex: c.keyHex, radix: c.radix)
        cipher.forceMultiLimb = forceMultiLimb
        let tweak = hexBytes(c.tweakHex)

        var batch = NumeralBatch()
        try alphabet.append(c.plaintext, to: &batch)
        try cipher.encrypt(&batch, tweak: tweak)
        #expect(alphabet.string(from: batch.value(at: 0)) == c.ciphertext, "encrypt \(c.name)")

        var back = NumeralBatch()
        try alphabet.append(c.ciphertext, to: &back)
        try cipher.decrypt(&back, tweak: tweak)
        #expect(alphabet.string(from: back.value(at: 0)) == c.plaintext, "decrypt \(c.name)")
    }

    @Test(arguments: VectorFile.cases("ff1.json"))
    func ff1(_ c: VectorCase) throws { try Self.run(.ff1, c) }

    @Test(arguments: VectorFile.cases("ff3-1.json"))
    func ff31(_ c: VectorCase) throws { try Self.run(.ff31, c) }

    /// The same vectors with every length forced onto the multi-limb path.
    @Test(arguments: VectorFile.cases("ff1.json"))
    func ff1MultiLimb(_ c: VectorCase) throws { try Self.run(.ff1, c, forceMultiLimb: true) }

    @Test(arguments: VectorFile.cases("ff3-1.json"))
    func ff31MultiLimb(_ c: VectorCase) throws { try Self.run(.ff31, c, forceMultiLimb: true) }

    /// All cases of a file that share key, tweak and alphabet, encrypted as one batch.
    @Test(arguments: ["ff1.json", "ff3-1.json"])
    func vectorsAsBatches(_ file: String) throws {
        let f = try VectorFile.load(file)
        let algorithm = FPEAlgorithm(rawValue: f.algorithm)!
        let groups = Dictionary(grouping: f.cases) { "\($0.keyHex)/\($0.tweakHex)/\($0.alphabet)" }
        for (_, cases) in groups {
            let alphabet = try Alphabet(cases[0].alphabet)
            let cipher = try makeCipher(algorithm, keyHex: cases[0].keyHex, radix: alphabet.radix)
            var batch = NumeralBatch()
            for c in cases { try alphabet.append(c.plaintext, to: &batch) }
            try cipher.encrypt(&batch, tweak: hexBytes(cases[0].tweakHex))
            for (i, c) in cases.enumerated() {
                #expect(alphabet.string(from: batch.value(at: i)) == c.ciphertext, "\(c.name)")
            }
        }
    }

    /// The block cipher computes AES under K for FF1 and under REVB(K) for FF3-1.
    @Test func blockCipherKeys() throws {
        let c = VectorFile.cases("ff3-1.json")[0]
        let key = hexBytes(c.keyHex)
        let alphabet = try Alphabet(c.alphabet)
        var keyCopy = key
        let secret = SecretBytes(consumingArray: &keyCopy)
        #expect(keyCopy.isEmpty)
        let reversed = FPECipher.ff31ReversedKey(secret)
        #expect(reversed.withUnsafeBytes { Array($0) } == key.reversed())
        let aes = try reversed.withUnsafeBytes { try AESECB(key: $0) }
        let cipher = try FPECipher(algorithm: .ff31, cipher: aes, radix: alphabet.radix)
        let out = try cipher.encrypt(alphabet.numerals(of: c.plaintext), tweak: hexBytes(c.tweakHex))
        #expect(alphabet.string(from: out) == c.ciphertext)
        // Keyed with K itself, FF3-1 gives something else.
        let wrong = try FPECipher(algorithm: .ff31, cipher: key.withUnsafeBytes { try AESECB(key: $0) }, radix: alphabet.radix)
        #expect(try alphabet.string(from: wrong.encrypt(alphabet.numerals(of: c.plaintext), tweak: hexBytes(c.tweakHex))) != c.ciphertext)

        let f = VectorFile.cases("ff1.json")[8]
        let ff1 = try FPECipher(algorithm: .ff1, cipher: hexBytes(f.keyHex).withUnsafeBytes { try AESECB(key: $0) }, radix: 36)
        #expect(try Alphabet.radix(36).string(from: ff1.encrypt(Alphabet.radix(36).numerals(of: f.plaintext), tweak: hexBytes(f.tweakHex))) == f.ciphertext)
        // The SecretBytes initializer agrees with the raw-buffer one.
        let viaSecret = try FPECipher(algorithm: .ff31, key: secret, radix: alphabet.radix)
        #expect(try alphabet.string(from: viaSecret.encrypt(alphabet.numerals(of: c.plaintext), tweak: hexBytes(c.tweakHex))) == c.ciphertext)
    }
}
