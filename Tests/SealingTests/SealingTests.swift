import Crypto
import Foundation
import HSM
import Keyring
import Sealing
import TestSupport
import Testing

/// A keyring over the fixture tokens with key names unique to the calling test (tests run in parallel).
func makeKeyring(_ prefix: String, names: [String]? = nil) throws -> Keyring {
    let fx = SoftHSMFixture.shared
    let pin = try PINSource.file(fx.writePINFile(name: "pin-seal-\(prefix)"))
    var purposes: [KeyPurpose: PurposeConfig] = [:]
    for p in KeyPurpose.allCases {
        purposes[p] = PurposeConfig(token: "tg-test-\(p.rawValue)", pin: pin, keys: names ?? ["\(prefix)-a", "\(prefix)-b"])
    }
    let kr = try Keyring(config: KeyringConfig(module: fx.modulePath, purposes: purposes))
    try kr.initialize()
    return kr
}

func tempPath(_ name: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("sealing-\(name)-\(UUID().uuidString).tgs").path
}

func readFile(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }
func writeFile(_ path: String, _ bytes: [UInt8]) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }

/// Deterministic pseudo-random bytes.
func payload(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
    var x = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    return (0..<count).map { _ in
        x ^= x << 13
        x ^= x >> 7
        x ^= x << 17
        return UInt8(truncatingIfNeeded: x)
    }
}

let sampleMetadata = SealedMetadata(
    columns: [
        .init(name: "pan", tag: "pan", key: "in-use/pan", keyVersion: 3, keyID: "00112233445566778899aabbccddeeff"),
        .init(name: "note"),
    ],
    attributes: ["format": "csv"])

/// Seals `data` in chunks of `chunk` bytes, one record per chunk.
@discardableResult
func seal(
    _ path: String, _ kr: Keyring, key: String, _ data: [UInt8], frameSize: Int, chunk: Int = 0,
    metadata: SealedMetadata = sampleMetadata
) throws -> (frames: Int, records: Int) {
    let w = try SealedWriter(path: path, keyring: kr, keyName: key, metadata: metadata, frameSize: frameSize)
    if chunk > 0 {
        var i = 0
        while i < data.count {
            try w.write(Array(data[i..<min(i + chunk, data.count)]), records: 1)
            i += chunk
        }
    } else {
        try w.write(data)
    }
    let done = try w.finish()
    return (done.frames, done.records)
}

func sealingCode(_ body: () throws -> Void) -> SealingError.Code? {
    do {
        try body()
        return nil
    } catch let e as SealingError { return e.code } catch {
        Issue.record("expected a SealingError, got \(error)")
        return .internalError
    }
}

@Suite struct RoundTrip {
    @Test(arguments: [1, 7, 64, 1000, 4096, 1 << 20])
    func roundTripsWithSeveralFrameSizes(frameSize: Int) throws {
        let kr = try makeKeyring("rt\(frameSize)")
        let data = payload(10_001, seed: UInt64(frameSize))
        let path = tempPath("rt")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (frames, records) = try seal(path, kr, key: "rt\(frameSize)-a", data, frameSize: frameSize)
        #expect(frames == (data.count + frameSize - 1) / frameSize)
        #expect(records == 0)
        let r = try SealedReader(path: path, keyring: kr)
        #expect(r.frameCount == frames)
        #expect(r.header.metadata == sampleMetadata)
        #expect(r.header.frameSize == frameSize)
        #expect(try r.readAll() == data)
        // The last frame is partial where the size does not divide the data.
        let last = try r.frame(at: r.frameCount - 1)
        #expect(last.plaintext.count == (data.count % frameSize == 0 ? frameSize : data.count % frameSize))
        // The ciphertext is not the plaintext.
        let raw = try readFile(path)
        #expect(raw.count == r.header.dataOffset + data.count + 16 * frames + 28 * frames + 16 + 32)
        #expect(Data(raw).range(of: Data(data.prefix(32))) == nil, "plaintext visible in the file")
    }

    @Test func emptyInputIsOneEmptyFrame() throws {
        let kr = try makeKeyring("empty")
        let path = tempPath("empty")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (frames, records) = try seal(path, kr, key: "empty-a", [], frameSize: 64, metadata: SealedMetadata())
        #expect(frames == 1 && records == 0)
        let r = try SealedReader(path: path, keyring: kr)
        #expect(try r.readAll() == [])
        #expect(r.header.metadata == SealedMetadata())
    }

    @Test func recordChunksStayWholeAndRangesAreContiguous() throws {
        let kr = try makeKeyring("records")
        let path = tempPath("records")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let data = payload(1000, seed: 9)
        // 30-byte records in 100-byte frames: 3 whole records per frame (90 bytes), never split.
        let (frames, records) = try seal(path, kr, key: "records-a", data, frameSize: 100, chunk: 30)
        #expect(records == 34)
        let r = try SealedReader(path: path, keyring: kr)
        #expect(r.totalRecords == 34 && r.frameCount == frames && frames == 11, "the 10-byte last record joins the last 90-byte frame")
        var next = 0, all: [UInt8] = []
        try r.forEachFrame { f in
            #expect(f.records.lowerBound == next)
            #expect(f.plaintext.count == f.records.count * 30 || f.index == frames - 1)
            next = f.records.upperBound
            all += f.plaintext
        }
        #expect(next == 34 && all == data)
        // A chunk larger than a frame fills frames; its record counts in the frame with its last byte.
        let path2 = tempPath("records2")
        defer { try? FileManager.default.removeItem(atPath: path2) }
        let w = try SealedWriter(path: path2, keyring: kr, keyName: "records-a", frameSize: 100)
        try w.write(payload(250), records: 5)
        try w.write(payload(10), records: 1)
        let done = try w.finish()
        #expect(done.frames == 3 && done.records == 6)
        let r2 = try SealedReader(path: path2, keyring: kr)
        #expect(try (0..<3).map { try r2.frame(at: $0).records } == [0..<0, 0..<0, 0..<6])
        #expect(try r2.readAll() == payload(250) + payload(10))
    }

    @Test func randomAccessToAnyFrame() throws {
        let kr = try makeKeyring("random")
        let path = tempPath("random")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let data = payload(5000, seed: 3)
        try seal(path, kr, key: "random-a", data, frameSize: 256, chunk: 64)
        let r = try SealedReader(path: path, keyring: kr)
        var sequential: [SealedFrame] = []
        try r.forEachFrame { sequential.append($0) }
        for i in (0..<r.frameCount).shuffled() {
            let f = try r.frame(at: i)
            #expect(f.plaintext == sequential[i].plaintext && f.records == sequential[i].records && f.index == i)
        }
        #expect(throws: SealingError(.frameOutOfRange, "")) { _ = try r.frame(at: r.frameCount) }
        #expect(throws: SealingError(.frameOutOfRange, "")) { _ = try r.frame(at: -1) }
    }

    @Test func writesToAnOpenDescriptor() throws {
        let kr = try makeKeyring("fd")
        let path = tempPath("fd")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        #expect(fd >= 0)
        let w = try SealedWriter(fileDescriptor: fd, keyring: kr, keyName: "fd-a", frameSize: 1000)
        try w.write(payload(2500), records: 3)
        try w.finish()
        close(fd)
        let r = try SealedReader(path: path, keyring: kr)
        #expect(try r.readAll() == payload(2500) && r.totalRecords == 3 && r.frameCount == 3)
    }

    @Test func inspectReadsTheHeaderWithoutAKey() throws {
        let kr = try makeKeyring("inspect")
        let path = tempPath("inspect")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try seal(path, kr, key: "inspect-a", payload(1000), frameSize: 128, chunk: 100)
        let info = try Sealing.inspect(path: path)
        #expect(info.header.formatVersion == 1)
        #expect(info.header.metadata == sampleMetadata)
        #expect(info.header.envelope.keyName == "inspect-a" && info.header.envelope.keyVersion == 1)
        #expect(info.header.envelope.purpose == .atRest)
        #expect(info.frameCount == 10 && info.totalRecords == 10)
        #expect(info.header.fileID.count == 32)
    }

    @Test func notSealedAndUnsupportedVersionAreNamed() throws {
        let kr = try makeKeyring("notsealed")
        let path = tempPath("notsealed")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try writeFile(path, payload(1000))
        #expect(sealingCode { _ = try SealedReader(path: path, keyring: kr) } == .notSealed)
        #expect(sealingCode { _ = try Sealing.inspect(path: path) } == .notSealed)
        try seal(path, kr, key: "notsealed-a", payload(100), frameSize: 64)
        var b = try readFile(path)
        b[4] = 2
        try writeFile(path, b)
        #expect(sealingCode { _ = try SealedReader(path: path, keyring: kr) } == .unsupportedVersion)
        #expect(sealingCode { _ = try SealedReader(path: "/nonexistent/x.tgs", keyring: kr) } == .io)
        #expect(throws: SealingError(.invalidArgument, "")) {
            _ = try SealedWriter(path: path, keyring: kr, keyName: "notsealed-a", frameSize: 0)
        }
        let w = try SealedWriter(path: path, keyring: kr, keyName: "notsealed-a", frameSize: 16)
        try w.finish()
        #expect(throws: SealingError(.writerClosed, "")) { try w.write([1]) }
    }
}

@Suite struct Tampering {
    @Test func everySingleByteFlipIsDetected() throws {
        let kr = try makeKeyring("flip")
        let path = tempPath("flip")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let data = payload(200, seed: 5)
        try seal(
            path, kr, key: "flip-a", data, frameSize: 64, chunk: 20,
            metadata: SealedMetadata(columns: [.init(name: "c", tag: "t", key: "in-use/k", keyVersion: 1)]))
        let original = try readFile(path)
        #expect(try SealedReader(path: path, keyring: kr).readAll() == data)
        var undetected: [Int] = []
        for offset in 0..<original.count {
            var b = original
            b[offset] ^= 0x01
            try writeFile(path, b)
            do {
                let r = try SealedReader(path: path, keyring: kr)
                _ = try r.readAll()
                undetected.append(offset)
            } catch is SealingError {
                // detected
            }
        }
        #expect(undetected.isEmpty, "flips not detected at offsets \(undetected)")
    }

    @Test func envelopeSlotFlipsFailBeforeAnyFrameIsDecrypted() throws {
        let kr = try makeKeyring("slot")
        let path = tempPath("slot")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try seal(path, kr, key: "slot-a", payload(100), frameSize: 64)
        let original = try readFile(path)
        let expected: Set<SealingError.Code> = [.envelopeInvalid, .unwrapFailed, .keyUnavailable, .keyVersionUnavailable]
        for offset in 80..<336 {
            var b = original
            b[offset] ^= 0x80
            try writeFile(path, b)
            let code = sealingCode { _ = try SealedReader(path: path, keyring: kr) }
            #expect(code.map { expected.contains($0) } == true, "flip at \(offset): \(String(describing: code))")
        }
    }

    @Test func truncationAtEveryFrameBoundaryIsDetected() throws {
        let kr = try makeKeyring("trunc")
        let path = tempPath("trunc")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try seal(path, kr, key: "trunc-a", payload(1000), frameSize: 100)
        let original = try readFile(path)
        let dataOffset = try Sealing.inspect(path: path).header.dataOffset
        let frames = 10
        var cuts = (0...frames).map { dataOffset + $0 * 116 }  // before each frame and at the index
        cuts += [original.count - 32, original.count - 1, original.count - 33, 100, 0]
        for cut in cuts {
            try writeFile(path, Array(original[0..<cut]))
            let code = sealingCode {
                let r = try SealedReader(path: path, keyring: kr)
                _ = try r.readAll()
            }
            #expect(code != nil, "truncation to \(cut) bytes not detected")
        }
        // Dropping the last data frame and keeping index and trailer is detected too.
        let lastFrame = dataOffset + 9 * 116
        try writeFile(path, Array(original[0..<lastFrame]) + Array(original[(lastFrame + 116)...]))
        #expect(sealingCode { _ = try SealedReader(path: path, keyring: kr).readAll() } != nil)
    }

    /// Fuzzing found `open` trapping (SIGILL) on one changed trailer byte: the unauthenticated
    /// frame count made an index-offset subtraction negative. Every byte of the trailer, changed
    /// to several values, must give a named error and release nothing.
    @Test func everyChangedTrailerByteIsANamedError() throws {
        let kr = try makeKeyring("trailer")
        let path = tempPath("trailer")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try seal(path, kr, key: "trailer-a", payload(1000), frameSize: 100)
        let original = try readFile(path)
        let trailerStart = original.count - SealedFormat.trailerSize
        for i in trailerStart..<original.count {
            // The frame count's low bytes (14, 15): every value, since only some pass its first bound.
            let values: [UInt8] = (14..<16).contains(i - trailerStart) ? Array(0...255) : [0x00, 0x01, 0x7F, 0x80, 0xFF]
            for v in values where original[i] != v {
                var b = original
                b[i] = v
                try writeFile(path, b)
                let code = sealingCode { _ = try SealedReader(path: path, keyring: kr).readAll() }
                #expect(code != nil, "trailer byte \(i - trailerStart) = \(v) not detected")
            }
        }
    }

    /// A nonce is never reused within a file: frames of equal plaintext seal to different
    /// ciphertexts and tags (the frame index is in the nonce, not only in the AAD).
    @Test func equalPlaintextFramesGiveDifferentCiphertext() throws {
        let kr = try makeKeyring("samefr")
        let path = tempPath("samefr")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let frame = payload(100, seed: 3)
        try seal(path, kr, key: "samefr-a", frame + frame + frame + frame, frameSize: 100)
        let bytes = try readFile(path)
        let d = try Sealing.inspect(path: path).header.dataOffset
        let sealed = (0..<4).map { Array(bytes[(d + $0 * 116)..<(d + ($0 + 1) * 116)]) }
        #expect(Set(sealed).count == 4, "two frames of equal plaintext sealed to the same bytes")
        #expect(Set(sealed.map { $0.suffix(16) }).count == 4)
        let r = try SealedReader(path: path, keyring: kr)
        #expect(try r.readAll() == frame + frame + frame + frame)
    }

    @Test func swappedFramesAreDetected() throws {
        let kr = try makeKeyring("swap")
        let path = tempPath("swap")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let data = payload(1000, seed: 7)
        try seal(path, kr, key: "swap-a", data, frameSize: 100)
        let original = try readFile(path)
        let d = try Sealing.inspect(path: path).header.dataOffset
        var b = original
        b.replaceSubrange(d..<(d + 116), with: original[(d + 116)..<(d + 232)])
        b.replaceSubrange((d + 116)..<(d + 232), with: original[d..<(d + 116)])
        try writeFile(path, b)
        let r = try SealedReader(path: path, keyring: kr)
        #expect(sealingCode { _ = try r.frame(at: 0) } == .frameAuthenticationFailed)
        #expect(sealingCode { _ = try r.frame(at: 1) } == .frameAuthenticationFailed)
        #expect(try r.frame(at: 2).plaintext == Array(data[200..<300]), "untouched frames still open")
    }

    @Test func framesSplicedFromAnotherFileAreDetected() throws {
        let kr = try makeKeyring("splice")
        let a = tempPath("splice-a"), b = tempPath("splice-b")
        defer {
            try? FileManager.default.removeItem(atPath: a)
            try? FileManager.default.removeItem(atPath: b)
        }
        let data = payload(1000, seed: 11)
        // Same key, same data, same metadata, same frame size: only the file id differs.
        try seal(a, kr, key: "splice-a", data, frameSize: 100)
        try seal(b, kr, key: "splice-a", data, frameSize: 100)
        var fa = try readFile(a)
        let fb = try readFile(b)
        let d = try Sealing.inspect(path: a).header.dataOffset
        fa.replaceSubrange((d + 116)..<(d + 232), with: fb[(d + 116)..<(d + 232)])
        try writeFile(a, fa)
        let r = try SealedReader(path: a, keyring: kr)
        #expect(try r.frame(at: 0).plaintext == Array(data[0..<100]))
        #expect(sealingCode { _ = try r.frame(at: 1) } == .frameAuthenticationFailed)
        // Another file's envelope (same key, other file id) does not unwrap.
        var fa2 = try readFile(b)
        let fa0 = try readFile(a)
        fa2.replaceSubrange(80..<336, with: fa0[80..<336])
        try writeFile(b, fa2)
        #expect(sealingCode { _ = try SealedReader(path: b, keyring: kr) } == .unwrapFailed)
    }
}

@Suite struct Keys {
    @Test func wrongKeyIsDetected() throws {
        let kr = try makeKeyring("wrongkey")
        let path = tempPath("wrongkey")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try seal(path, kr, key: "wrongkey-a", payload(300), frameSize: 64)
        // A keyring that does not know the key.
        let other = try makeKeyring("wrongkey2")
        #expect(sealingCode { _ = try SealedReader(path: path, keyring: other) } == .keyUnavailable)
        // An envelope of another at-rest key for the same file id unwraps, to another data key:
        // the key commitment refuses it before any frame is decrypted.
        let fileID = try Sealing.inspect(path: path).header.fileID
        let foreign = try kr.generateDataKey(KeyRef(.atRest, "wrongkey-b"), context: fileID)
        let env = foreign.wrapped.serialized
        var b = try readFile(path)
        var slot = [UInt8(env.count >> 8), UInt8(env.count & 0xFF)] + env
        slot += [UInt8](repeating: 0, count: 256 - slot.count)
        b.replaceSubrange(80..<336, with: slot)
        try writeFile(path, b)
        #expect(sealingCode { _ = try SealedReader(path: path, keyring: kr) } == .keyCommitmentMismatch)
        #expect(sealingCode { _ = try Sealing.rewrap(path: path, keyring: kr) } == .keyCommitmentMismatch)
    }

    @Test func retiredKeyVersionIsAClearError() throws {
        let kr = try makeKeyring("retired")
        let path = tempPath("retired")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let ref = KeyRef(.atRest, "retired-a")
        try seal(path, kr, key: ref.name, payload(300), frameSize: 64)
        _ = try kr.rotate(ref)
        #expect(try SealedReader(path: path, keyring: kr).readAll() == payload(300), "old versions still unwrap")
        try kr.retire(ref, version: 1)
        do {
            _ = try SealedReader(path: path, keyring: kr)
            Issue.record("expected keyVersionUnavailable")
        } catch let e as SealingError {
            #expect(e.code == .keyVersionUnavailable)
            #expect(e.reason.contains("tokengate/at-rest/retired-a/v1"), "\(e.reason)")
        }
    }

    @Test func rewrapRewritesOnlyTheEnvelopeAndIsIdempotent() throws {
        let kr = try makeKeyring("rewrap")
        let path = tempPath("rewrap")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let ref = KeyRef(.atRest, "rewrap-a")
        let data = payload(2000, seed: 13)
        try seal(path, kr, key: ref.name, data, frameSize: 300, chunk: 50)
        let before = try readFile(path)
        // Nothing to do under the primary version.
        let same = try Sealing.rewrap(path: path, keyring: kr)
        #expect(!same.changed && same.fromVersion == 1 && same.toVersion == 1)
        #expect(try readFile(path) == before)

        _ = try kr.rotate(ref)
        let result = try Sealing.rewrap(path: path, keyring: kr)
        #expect(result.changed && result.keyName == ref.name && result.fromVersion == 1 && result.toVersion == 2)
        let after = try readFile(path)
        #expect(after.count == before.count)
        #expect(Array(after[0..<80]) == Array(before[0..<80]))
        #expect(Array(after[336...]) == Array(before[336...]), "frames, index and trailer byte-identical")
        #expect(Array(after[80..<336]) != Array(before[80..<336]))
        #expect(try Sealing.inspect(path: path).header.envelope.keyVersion == 2)

        let again = try Sealing.rewrap(path: path, keyring: kr)
        #expect(!again.changed && again.toVersion == 2)
        #expect(try readFile(path) == after, "idempotent")

        try kr.retire(ref, version: 1)
        let r = try SealedReader(path: path, keyring: kr)
        #expect(try r.readAll() == data)
        #expect(r.totalRecords == 40)
    }
}
