import Foundation
import Parquet
import TestSupport
import Testing

/// The page codecs against the real C libraries and against pyarrow (the project's `.venv`, made
/// by scripts/setup.sh).
@Suite struct Codecs {
    static let supported: [CompressionCodec] = [.uncompressed, .snappy, .gzip, .zstd, .lz4Raw, .lz4, .brotli]

    static func inputs() -> [(String, [UInt8])] {
        var rng = SplitMix64(seed: 0xC0DEC)
        let random = (0..<100_000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let repetitive = (0..<300_000).map { UInt8(truncatingIfNeeded: ($0 / 97) % 7) }
        let text = Array(String(repeating: "4111-1111-1111-1111,alice@example.com\n", count: 2000).utf8)
        return [("empty", []), ("one byte", [42]), ("random", random), ("repetitive", repetitive), ("text", text)]
    }

    static func compress(_ codec: CompressionCodec, _ input: [UInt8]) throws -> [UInt8] {
        var out: [UInt8] = [9, 9]  // compress appends
        let n = try input.withUnsafeBytes { try PageCodec.compress(codec, $0, into: &out) }
        #expect(out.count == n + 2 && out[0] == 9 && out[1] == 9)
        return Array(out[2...])
    }

    static func decompress(_ codec: CompressionCodec, _ input: [UInt8], size: Int) throws -> [UInt8] {
        var out: [UInt8] = [7]  // decompress appends
        try input.withUnsafeBytes { try PageCodec.decompress(codec, $0, uncompressedSize: size, into: &out) }
        #expect(out.first == 7)
        return Array(out[1...])
    }

    static func expectCorrupt(_ codec: CompressionCodec, _ input: [UInt8], size: Int, _ comment: String) {
        var out: [UInt8] = [1, 2, 3]
        #expect(throws: ParquetError(.corrupt, ""), "\(codec) \(comment)") {
            try input.withUnsafeBytes { try PageCodec.decompress(codec, $0, uncompressedSize: size, into: &out) }
        }
        #expect(out == [1, 2, 3], "\(codec) \(comment): output restored")
    }

    @Test(arguments: supported) func roundTrips(_ codec: CompressionCodec) throws {
        var context = PageCodecContext()
        for (name, input) in Self.inputs() {
            let packed = try Self.compress(codec, input)
            #expect(try Self.decompress(codec, packed, size: input.count) == input, "\(codec) \(name)")
            // The same through a reused context.
            var again: [UInt8] = []
            try packed.withUnsafeBytes { try PageCodec.decompress(codec, $0, uncompressedSize: input.count, into: &again, context: &context) }
            #expect(again == input, "\(codec) \(name) with a context")
            if name == "repetitive" && codec != .uncompressed { #expect(packed.count < input.count / 10, "\(codec) compresses") }
        }
    }

    @Test(arguments: supported) func wrongSizeTruncatedAndGarbledAreCorrupt(_ codec: CompressionCodec) throws {
        let input = Self.inputs()[3].1
        let packed = try Self.compress(codec, input)
        Self.expectCorrupt(codec, packed, size: input.count + 1, "size too large")
        Self.expectCorrupt(codec, packed, size: input.count - 1, "size too small")
        Self.expectCorrupt(codec, packed, size: -1, "negative size")
        if codec == .uncompressed { return }
        Self.expectCorrupt(codec, Array(packed.prefix(packed.count / 2)), size: input.count, "truncated")
        Self.expectCorrupt(codec, Array(packed.prefix(3)), size: input.count, "3 bytes")
        Self.expectCorrupt(codec, [], size: input.count, "empty input")
        var rng = SplitMix64(seed: 7)
        Self.expectCorrupt(codec, (0..<4096).map { _ in UInt8.random(in: 0...255, using: &rng) }, size: input.count, "random bytes")
        // Flip bytes in the middle (and the checksums where the format has one: gzip's CRC-32).
        var garbled = packed
        for k in stride(from: 10, to: garbled.count, by: 37) { garbled[k] ^= 0x5A }
        var out: [UInt8] = []
        do {
            try garbled.withUnsafeBytes { try PageCodec.decompress(codec, $0, uncompressedSize: input.count, into: &out) }
            // snappy and zstd (no checksum) may decode garbled bytes to the right size: that is
            // not detectable, but it must not trap.
            #expect(out.count == input.count)
        } catch let e as ParquetError {
            #expect(e.code == .corrupt, "\(e)")
        }
    }

    @Test func otherCodecsAreUnsupported() {
        for codec in [CompressionCodec.lzo, CompressionCodec(rawValue: 99)] {
            var out: [UInt8] = []
            #expect(throws: ParquetError(.unsupported, "")) {
                try [UInt8]([1, 2]).withUnsafeBytes { try PageCodec.decompress(codec, $0, uncompressedSize: 2, into: &out) }
            }
            #expect(throws: ParquetError(.unsupported, "")) { try [UInt8]([1, 2]).withUnsafeBytes { try PageCodec.compress(codec, $0, into: &out) } }
        }
        do {
            var out: [UInt8] = []
            try [UInt8]([1]).withUnsafeBytes { _ = try PageCodec.compress(.lzo, $0, into: &out) }
        } catch let e as ParquetError {
            #expect(e.reason == "codec LZO is not supported")
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test func hadoopFramedLZ4IsReadBlockByBlockAndAPlainBlockToo() throws {
        let input = Array(String(repeating: "hadoop-framed lz4 page ", count: 300).utf8)
        func be32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - 8 * $0)) } }
        func block(_ x: [UInt8]) throws -> [UInt8] {
            let c = try Self.compress(.lz4Raw, x)
            return be32(x.count) + be32(c.count) + c
        }
        let framed = try block(Array(input.prefix(2500))) + block(Array(input.dropFirst(2500)))
        #expect(try Self.decompress(.lz4, framed, size: input.count) == input)
        // Older writers put a plain LZ4 block under codec LZ4.
        #expect(try Self.decompress(.lz4, try Self.compress(.lz4Raw, input), size: input.count) == input)
        #expect(try Self.decompress(.lz4, try Self.compress(.lz4, input), size: input.count) == input)
        // A block cut short is corrupt, in either reading.
        #expect(throws: ParquetError(.corrupt, "")) { _ = try Self.decompress(.lz4, Array(framed.dropLast(3)), size: input.count) }
    }

    @Test func gzipReadsZlibWrappingAndConcatenatedMembers() throws {
        let input = Array("tokengate parquet gzip members ".utf8) + Self.inputs()[3].1.prefix(5000)
        let halves = [Array(input.prefix(1000)), Array(input.dropFirst(1000))]
        let members = try halves.flatMap { try Self.compress(.gzip, $0) }
        #expect(try Self.decompress(.gzip, members, size: input.count) == input)
        // A stored-block zlib stream made by hand: 78 01, a final stored block, Adler-32.
        let payload: [UInt8] = Array("zlib".utf8)
        var a: UInt32 = 1
        var b: UInt32 = 0
        for byte in payload {
            a = (a + UInt32(byte)) % 65521
            b = (b + a) % 65521
        }
        let adler = b << 16 | a
        let zlib: [UInt8] =
            [0x78, 0x01, 0x01, 0x04, 0x00, 0xFB, 0xFF] + payload
            + [UInt8(adler >> 24), UInt8(truncatingIfNeeded: adler >> 16), UInt8(truncatingIfNeeded: adler >> 8), UInt8(truncatingIfNeeded: adler)]
        #expect(try Self.decompress(.gzip, zlib, size: 4) == payload)
    }

    @Test func zstdReadsFramesWithoutContentSize() throws {
        // Frame header descriptor 0x00 (no content size, not single-segment), window descriptor
        // 0x00 (1 KiB), then one last raw block.
        func frame(_ payload: [UInt8]) -> [UInt8] {
            let block = UInt32(1) | UInt32(payload.count) << 3
            return [0x28, 0xB5, 0x2F, 0xFD, 0x00, 0x00, UInt8(truncatingIfNeeded: block), UInt8(truncatingIfNeeded: block >> 8), UInt8(block >> 16)]
                + payload
        }
        let one = frame(Array("hello zstd".utf8))
        #expect(try Self.decompress(.zstd, one, size: 10) == Array("hello zstd".utf8))
        Self.expectCorrupt(.zstd, one, size: 9, "no content size, stated size too small")
        Self.expectCorrupt(.zstd, one, size: 11, "no content size, stated size too large")
        // Two frames concatenated.
        let two = frame(Array("ab".utf8)) + (try Self.compress(.zstd, Array("cd".utf8)))
        #expect(try Self.decompress(.zstd, two, size: 4) == Array("abcd".utf8))
    }

    /// Decompresses what pyarrow (Arrow's C++ codecs) compressed, and has pyarrow decompress what
    /// this module compressed.
    @Test func interoperatesWithPyarrow() throws {
        let python = try Oracle.python()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tokengate-codecs-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let names: [CompressionCodec: String] = [.snappy: "snappy", .gzip: "gzip", .zstd: "zstd", .lz4Raw: "lz4_raw", .brotli: "brotli"]
        for (index, (name, input)) in Self.inputs().enumerated() {
            let plain = dir.appendingPathComponent("in\(index)")
            try Data(input).write(to: plain)
            for (codec, pyName) in names {
                try Data(try Self.compress(codec, input)).write(to: dir.appendingPathComponent("ours\(index).\(pyName)"))
            }
            _ = name
        }
        let script = """
            import pyarrow as pa, sys, os
            d = sys.argv[1]
            for i in range(\(Self.inputs().count)):
                src = open(os.path.join(d, 'in%d' % i), 'rb').read()
                for c in ('snappy', 'gzip', 'zstd', 'lz4_raw', 'brotli'):
                    open(os.path.join(d, 'theirs%d.%s' % (i, c)), 'wb').write(pa.compress(src, codec=c, asbytes=True))
                    ours = open(os.path.join(d, 'ours%d.%s' % (i, c)), 'rb').read()
                    back = pa.decompress(ours, decompressed_size=len(src), codec=c, asbytes=True)
                    if back != src:
                        sys.exit('pyarrow decoded our %s for input %d wrong' % (c, i))
            print('ok')
            """
        let output = try Oracle.run(python, ["-c", script, dir.path])
        #expect(output.hasPrefix("ok"), "\(output)")
        for (index, (name, input)) in Self.inputs().enumerated() {
            for (codec, pyName) in names {
                let theirs = [UInt8](try Data(contentsOf: dir.appendingPathComponent("theirs\(index).\(pyName)")))
                #expect(try Self.decompress(codec, theirs, size: input.count) == input, "pyarrow \(pyName) \(name)")
            }
        }
    }
}

/// The test oracles' Python (`.venv/bin/python` at the package root, made by scripts/setup.sh).
enum Oracle {
    static func python() throws -> URL {
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        let python = root.appendingPathComponent(".venv/bin/python")
        guard FileManager.default.isExecutableFile(atPath: python.path) else {
            throw OracleError(message: "\(python.path) is missing: run scripts/setup.sh to create the test oracles' virtual environment (pyarrow)")
        }
        return python
    }

    static func run(_ executable: URL, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else { throw OracleError(message: "\(executable.path) failed (\(process.terminationStatus)): \(text)") }
        return text
    }
}

struct OracleError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
