import Crypto
import Foundation
import HSM
import Keyring
import Sealing
import TestSupport
import Testing

/// Format compatibility: `Fixtures/sealed/v1-sample.tgs` was written by the v1 `SealedWriter`
/// (docs/sealed-format.md) and must open, byte for byte, with every later reader.
///
/// The data key of the sample is wrapped by a published **test-only** at-rest KEK
/// (`Fixtures/sealed/test-kek.json`). The test imports that KEK into the process's throwaway
/// SoftHSM2 at-rest token (`C_CreateObject` with `CKA_VALUE`, the at-rest custody attributes, the
/// label and `CKA_ID` the envelope names) and opens the committed file.
///
/// To regenerate the sample (only when the format version changes: v1 files must keep opening):
/// `TOKENGATE_REGENERATE_SEALED_FIXTURE=1 swift test --filter SealedFixture/regenerate`.
@Suite struct SealedFixture {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/sealed")
    static let sealedPath = directory.appendingPathComponent("v1-sample.tgs").path
    static let plainPath = directory.appendingPathComponent("v1-sample.csv").path
    static let expectedPath = directory.appendingPathComponent("v1-sample.expected.json").path
    /// The frame size of the sample: small, so the four records span several frames.
    static let frameSize = 96
    static let metadata = SealedMetadata(
        columns: [
            .init(name: "id"),
            .init(name: "pan", tag: "pan", key: "in-use/pan", keyVersion: 1, keyID: "00112233445566778899aabbccddeeff"),
            .init(name: "email", tag: "email", key: "in-use/email", keyVersion: 2, keyID: "ffeeddccbbaa99887766554433221100"),
            .init(name: "note"),
        ],
        attributes: ["format": "csv", "fixture": "v1-sample"])

    /// `Fixtures/sealed/test-kek.json`.
    struct TestKEK: Decodable {
        let purpose: String
        let keyName: String
        let keyVersion: Int
        let label: String
        let ckaID: String
        let kek: String
    }

    /// `Fixtures/sealed/v1-sample.expected.json`, written by ``regenerate()``.
    struct Expected: Codable {
        let fileID: String
        let frameSize: Int
        let frames: Int
        let records: Int
        let fileSize: Int
    }

    static func load<T: Decodable>(_ type: T.Type, _ path: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// A keyring over the fixture's at-rest token with the test KEK imported as its only version
    /// (imported once per process; `initialize()` is never called, so no key is generated).
    static func keyring() throws -> (Keyring, TestKEK) {
        let kek = try load(TestKEK.self, directory.appendingPathComponent("test-kek.json").path)
        let fx = SoftHSMFixture.shared
        let pin = try PINSource.file(fx.writePINFile(name: "pin-sealed-fixture"))
        let kr = try Keyring(
            config: KeyringConfig(
                module: fx.modulePath,
                purposes: [.atRest: PurposeConfig(token: "tg-test-at-rest", pin: pin, keys: [kek.keyName])]))
        try importLock.withLock {
            let token = try kr.token(.atRest)
            try token.withSession { s in
                guard try s.findObjects([.objectClass(.secretKey), .string(.label, kek.label)]).isEmpty else { return }
                let policy = CustodyPolicy.of(.atRest)
                var template: [Attribute] = [
                    .objectClass(.secretKey), .keyType(.aes), .string(.label, kek.label), Attribute(.id, bytes: try #require(Hex.decode(kek.ckaID))),
                    .bool(.token, true), .bool(.private, true), .bool(.sensitive, true), .bool(.extractable, false), .bool(.modifiable, false),
                    .mechanisms(policy.allowedMechanisms),
                ]
                for f in [AttributeType.encrypt, .decrypt, .wrap, .unwrap, .sign, .verify, .derive] { template.append(.bool(f, policy.usage.contains(f))) }
                var value = try #require(Hex.decode(kek.kek))
                try #require(value.count == 32)
                let secret = SecretBytes(consumingArray: &value)
                _ = try s.importSecretKey(value: secret, template: template)
            }
        }
        return (kr, kek)
    }

    static let importLock = NSLock()

    @Test func v1SampleOpensToItsPlaintext() throws {
        let (kr, kek) = try SealedFixture.keyring()
        let expected = try SealedFixture.load(Expected.self, SealedFixture.expectedPath)
        let plain = Array(try Data(contentsOf: URL(fileURLWithPath: SealedFixture.plainPath)))
        let raw = Array(try Data(contentsOf: URL(fileURLWithPath: SealedFixture.sealedPath)))

        // Layout fields straight from the bytes (docs/sealed-format.md, Layout).
        #expect(raw.count == expected.fileSize)
        #expect(Array(raw[0..<4]) == Array("TGSF".utf8))
        #expect(raw[4] == 1)
        #expect(Array(raw[12..<44]) == Hex.decode(expected.fileID))
        #expect(Array(raw[(raw.count - 8)...]) == Array("TGSFEND1".utf8))

        // Header as parsed, without a key.
        let info = try Sealing.inspect(path: SealedFixture.sealedPath)
        #expect(info.header.formatVersion == 1)
        #expect(info.header.frameSize == SealedFixture.frameSize)
        #expect(Hex.encode(info.header.fileID) == expected.fileID)
        #expect(info.header.metadata == SealedFixture.metadata)
        #expect(info.header.envelope.purpose == .atRest)
        #expect(info.header.envelope.keyName == kek.keyName)
        #expect(info.header.envelope.keyVersion == kek.keyVersion)
        #expect(info.header.envelope.ref.label(version: info.header.envelope.keyVersion) == kek.label)
        #expect(Hex.encode(info.header.envelope.keyID) == kek.ckaID)
        #expect(info.frameCount == expected.frames)
        #expect(info.totalRecords == expected.records)

        // Opened with the imported test KEK: every frame authenticated, plaintext byte for byte.
        let r = try SealedReader(path: SealedFixture.sealedPath, keyring: kr)
        #expect(r.frameCount == expected.frames)
        #expect(r.totalRecords == expected.records)
        #expect(try r.readAll() == plain)
        // Random access too: the frames concatenate to the plaintext and keep their record ranges.
        var joined: [UInt8] = [], next = 0
        for i in 0..<r.frameCount {
            let f = try r.frame(at: i)
            #expect(f.index == i)
            #expect(f.records.lowerBound == next)
            next = f.records.upperBound
            joined += f.plaintext
        }
        #expect(joined == plain)
        #expect(next == expected.records)
    }

    /// The generator of the sample: seals `v1-sample.csv` (one record per line) under the test KEK
    /// and writes `v1-sample.tgs` and `v1-sample.expected.json`. Runs only when asked.
    @Test(
        .enabled(
            if: ProcessInfo.processInfo.environment["TOKENGATE_REGENERATE_SEALED_FIXTURE"] == "1",
            "set TOKENGATE_REGENERATE_SEALED_FIXTURE=1 to rewrite Fixtures/sealed/v1-sample.*"))
    func regenerate() throws {
        let (kr, kek) = try SealedFixture.keyring()
        let plain = Array(try Data(contentsOf: URL(fileURLWithPath: SealedFixture.plainPath)))
        let w = try SealedWriter(
            path: SealedFixture.sealedPath, keyring: kr, keyName: kek.keyName,
            metadata: SealedFixture.metadata, frameSize: SealedFixture.frameSize)
        var start = 0
        for (i, b) in plain.enumerated() where b == 0x0A {
            try w.write(Array(plain[start...i]), records: 1)
            start = i + 1
        }
        if start < plain.count { try w.write(Array(plain[start...]), records: 1) }
        let done = try w.finish()
        let (frames, records) = (done.frames, done.records)
        let size = try FileManager.default.attributesOfItem(atPath: SealedFixture.sealedPath)[.size] as? Int ?? 0
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        let expected = Expected(
            fileID: Hex.encode(w.header.fileID), frameSize: SealedFixture.frameSize,
            frames: frames, records: records, fileSize: size)
        try (e.encode(expected) + Data("\n".utf8)).write(to: URL(fileURLWithPath: SealedFixture.expectedPath))
    }
}
