import Crypto
import Foundation
import Keyring
import Sealing
import Testing

/// `sha256sum`'s digest of a file (an implementation independent of the one under test).
func sha256sum(_ path: String) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    p.arguments = [path]
    let pipe = Pipe()
    p.standardOutput = pipe
    try p.run()
    let out = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    #expect(p.terminationStatus == 0)
    return String(decoding: out, as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
}

func fileSize(_ path: String) throws -> Int {
    try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? -1
}

/// `Sealing.sealFile` and `openFile` hash their input and output on the way: every digest they
/// return must be the one `sha256sum` prints for the same file.
@Suite struct SealFileDigests {
    static let frameSize = 4096

    @Test(arguments: [0, 1, 4095, 4096, 4097, 5 * 4096, 5 * 4096 + 123, 37 * 4096 + 1])
    func sealAndOpenDigestsMatchSha256sum(size: Int) throws {
        let kr = try makeKeyring("digest-\(size)")
        let input = tempPath("digest-in-\(size)"), sealed = tempPath("digest-sealed-\(size)"), opened = tempPath("digest-out-\(size)")
        defer { for p in [input, sealed, opened] { try? FileManager.default.removeItem(atPath: p) } }
        let data = payload(size, seed: UInt64(size) + 3)
        try writeFile(input, data)

        let s = try Sealing.sealFile(input: input, output: sealed, keyring: kr, keyName: "digest-\(size)-a", frameSize: Self.frameSize)
        #expect(s.frames == max(1, (size + Self.frameSize - 1) / Self.frameSize))
        #expect(try s.input.bytes == size && s.input.hex == sha256sum(input))
        #expect(try s.output.bytes == fileSize(sealed) && s.output.hex == sha256sum(sealed))
        #expect(try Sealing.inspect(path: sealed).header.fileID == s.header.fileID)

        let o = try Sealing.openFile(path: sealed, output: opened, keyring: kr)
        #expect(try readFile(opened) == data)
        #expect(o.frames == s.frames)
        #expect(o.input == s.output, "a full open hashes the sealed file as it reads it")
        #expect(try o.input?.hex == sha256sum(sealed))
        #expect(try o.output.bytes == size && o.output.hex == sha256sum(opened))
    }

    @Test func sealFileFramesOpenLikeTheWriterFrames() throws {
        // sealFile seals whole frames from its read buffer (writeFrame); the frames must be the
        // ones SealedWriter.write makes for the same bytes.
        let kr = try makeKeyring("digest-frames")
        let input = tempPath("frames-in"), a = tempPath("frames-a"), b = tempPath("frames-b")
        defer { for p in [input, a, b] { try? FileManager.default.removeItem(atPath: p) } }
        let data = payload(3 * 1000 + 17, seed: 9)
        try writeFile(input, data)
        try Sealing.sealFile(input: input, output: a, keyring: kr, keyName: "digest-frames-a", frameSize: 1000)
        try seal(b, kr, key: "digest-frames-a", data, frameSize: 1000)
        let ra = try SealedReader(path: a, keyring: kr), rb = try SealedReader(path: b, keyring: kr)
        #expect(ra.frameCount == 4 && rb.frameCount == 4)
        for i in 0..<4 { #expect(try ra.frame(at: i).plaintext == rb.frame(at: i).plaintext) }
        let sizeA = try fileSize(a), sizeB = try fileSize(b)
        #expect(sizeA - ra.header.dataOffset == sizeB - rb.header.dataOffset, "same frames, index and trailer after the headers")
    }

    @Test func frameSubsetHasNoInputDigestAndHashesWhatItReleases() throws {
        let kr = try makeKeyring("digest-subset")
        let input = tempPath("subset-in"), sealed = tempPath("subset-sealed"), opened = tempPath("subset-out")
        defer { for p in [input, sealed, opened] { try? FileManager.default.removeItem(atPath: p) } }
        let data = payload(10 * 512 + 5, seed: 4)
        try writeFile(input, data)
        try Sealing.sealFile(input: input, output: sealed, keyring: kr, keyName: "digest-subset-a", frameSize: 512)
        let o = try Sealing.openFile(path: sealed, output: opened, keyring: kr, frames: [7, 2, 10])
        let expected = Array(data[3584..<4096] + data[1024..<1536] + data[5120...])
        #expect(try readFile(opened) == expected)
        #expect(o.input == nil, "only the selected frames were read")
        #expect(try o.output.bytes == expected.count && o.output.hex == sha256sum(opened))
    }

    @Test func tamperedFrameStopsAFullOpenAndLeavesNoOutput() throws {
        let kr = try makeKeyring("digest-tamper")
        let input = tempPath("tamper-in"), sealed = tempPath("tamper-sealed"), opened = tempPath("tamper-out")
        defer { for p in [input, sealed, opened] { try? FileManager.default.removeItem(atPath: p) } }
        try writeFile(input, payload(6 * 256, seed: 5))
        let s = try Sealing.sealFile(input: input, output: sealed, keyring: kr, keyName: "digest-tamper-a", frameSize: 256)
        var bytes = try readFile(sealed)
        bytes[s.header.dataOffset + 4 * (256 + 16) + 3] ^= 1
        try writeFile(sealed, bytes)
        #expect(sealingCode { try Sealing.openFile(path: sealed, output: opened, keyring: kr) } == .frameAuthenticationFailed)
        #expect(!FileManager.default.fileExists(atPath: opened))
    }

    @Test func writerSummaryIsTheDigestOfTheFileWritten() throws {
        let kr = try makeKeyring("digest-writer")
        let path = tempPath("writer")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let w = try SealedWriter(path: path, keyring: kr, keyName: "digest-writer-a", metadata: sampleMetadata, frameSize: 300)
        for i in 0..<20 { try w.write(payload(97, seed: UInt64(i)), records: 1) }
        let done = try w.finish()
        #expect(done.records == 20 && done.frames > 1)
        #expect(try done.bytes == fileSize(path) && Hex.encode(done.sha256) == sha256sum(path))
    }

    @Test func writeFrameRefusesMisuse() throws {
        let kr = try makeKeyring("digest-misuse")
        let path = tempPath("misuse")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let w = try SealedWriter(path: path, keyring: kr, keyName: "digest-misuse-a", frameSize: 64)
        let half = [UInt8](repeating: 1, count: 32), full = [UInt8](repeating: 2, count: 64)
        #expect(sealingCode { try half.withUnsafeBytes { try w.writeFrame($0, last: false) } } == .invalidArgument)
        try full.withUnsafeBytes { try w.writeFrame($0, last: false) }
        try w.write(half)
        #expect(sealingCode { try full.withUnsafeBytes { try w.writeFrame($0, last: false) } } == .invalidArgument)
        _ = try w.finish()
        let w2 = try SealedWriter(path: path, keyring: kr, keyName: "digest-misuse-a", frameSize: 64)
        try half.withUnsafeBytes { try w2.writeFrame($0, last: true) }
        #expect(sealingCode { try w2.write(half) } == .writerClosed)
        #expect(try w2.finish().frames == 1)
        #expect(try SealedReader(path: path, keyring: kr).readAll() == half)
    }
}
