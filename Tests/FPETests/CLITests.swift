import Foundation
import TestSupport
import Testing

/// Runs the built `tokengate` executable (`tokengate fpe encrypt|decrypt`) on the vectors.
@Suite struct CLITests {
    /// `swift test` runs the test bundle from the build directory, next to the `tokengate` product.
    static func executable() throws -> URL {
        let dirs = [Bundle.main.bundleURL, URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        for dir in dirs {
            let url = dir.appendingPathComponent("tokengate")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        throw CLIError(message: "tokengate executable not found next to the test bundle in \(dirs.map(\.path))")
    }

    struct CLIError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    static func run(_ arguments: [String], input: String) throws -> Result {
        let process = Process()
        process.executableURL = try executable()
        process.arguments = arguments
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        // Feed standard input from another thread: the child may fill its output pipe before it has
        // read all of its input.
        let writer = stdin.fileHandleForWriting
        let data = Data(input.utf8)
        let fed = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            writer.write(data)
            try? writer.close()
            fed.signal()
        }
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        fed.wait()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
            stderr: String(decoding: err, as: UTF8.self))
    }

    static func arguments(_ mode: String, _ alg: String, _ c: VectorCase) -> [String] {
        let nist = "0123456789abcdefghijklmnopqrstuvwxyz"
        // NIST-convention alphabets go through --radix, the others through --alphabet.
        let alphabet =
            c.radix <= 36 && c.alphabet == String(nist.prefix(c.radix))
            ? ["--radix", "\(c.radix)"] : ["--alphabet", c.alphabet]
        return ["fpe", mode, "--alg", alg, "--key-hex", c.keyHex, "--tweak-hex", c.tweakHex] + alphabet
    }

    static func check(_ alg: String, _ c: VectorCase) throws {
        // Two lines, to check that results come out one per line, in order.
        let enc = try run(arguments("encrypt", alg, c), input: "\(c.plaintext)\n\(c.ciphertext)\n")
        #expect(enc.status == 0, "\(enc.stderr)")
        let lines = enc.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 3 && lines[0] == c.ciphertext && lines[2] == "", "encrypt \(c.name)")
        let dec = try run(arguments("decrypt", alg, c), input: "\(c.ciphertext)\n\(lines.count > 1 ? lines[1] : "")\n")
        #expect(dec.status == 0, "\(dec.stderr)")
        #expect(dec.stdout == "\(c.plaintext)\n\(c.ciphertext)\n", "decrypt \(c.name)")
    }

    @Test(arguments: VectorFile.cases("ff1.json"))
    func ff1Vectors(_ c: VectorCase) throws { try Self.check("ff1", c) }

    @Test(arguments: VectorFile.cases("ff3-1.json"))
    func ff31Vectors(_ c: VectorCase) throws { try Self.check("ff3-1", c) }

    @Test func badLineIsAnErrorNamingTheLine() throws {
        let base = ["fpe", "encrypt", "--alg", "ff1", "--key-hex", "2B7E151628AED2A6ABF7158809CF4F3C", "--tweak-hex", "", "--radix", "10"]
        var r = try Self.run(base, input: "0123456789\n0123456789\n01234x6789\n")
        #expect(r.status != 0)
        #expect(r.stderr.contains("line 3:") && r.stderr.contains("character 5"), "\(r.stderr)")
        r = try Self.run(base, input: "0123456789\n12345\n")
        #expect(r.status != 0)
        #expect(r.stderr.contains("line 2:") && r.stderr.contains("minimum 6"), "\(r.stderr)")
        r = try Self.run(base, input: "0123456789\n\n")
        #expect(r.status != 0 && r.stderr.contains("line 2:"), "\(r.stderr)")
        // Bad arguments.
        r = try Self.run(Array(base.dropLast(2)) + ["--radix", "62"], input: "")
        #expect(r.status != 0 && r.stderr.contains("--alphabet"))
        r = try Self.run(
            ["fpe", "encrypt", "--alg", "ff3-1", "--key-hex", "2B7E151628AED2A6ABF7158809CF4F3C", "--tweak-hex", "D8E7920AFA330A73", "--radix", "10"],
            input: "0123456789\n")
        #expect(r.status != 0 && r.stderr.contains("tweak"), "\(r.stderr)")
        r = try Self.run(["fpe", "encrypt", "--alg", "ff3", "--key-hex", "00", "--tweak-hex", "", "--radix", "10"], input: "")
        #expect(r.status != 0)
    }

    @Test func helpSaysItIsNotForProductionData() throws {
        let r = try Self.run(["fpe", "--help"], input: "")
        #expect(r.status == 0)
        #expect(r.stdout.contains("not for production data"))
        #expect(r.stdout.contains("HSM"))
        for mode in ["encrypt", "decrypt"] {
            let sub = try Self.run(["fpe", mode, "--help"], input: "")
            #expect(sub.stdout.contains("not for production data") && sub.stdout.contains("test keys"))
        }
    }

    @Test func manyLinesStreamInBatches() throws {
        // More than one internal batch of 4096 lines; decrypting the output restores the input.
        var rng = SplitMix64(seed: 42)
        let lines = (0..<9000).map { i in String((0..<(6 + i % 30)).map { _ in Character(String(rng.next() % 10)) }) }
        let input = lines.joined(separator: "\n") + "\n"
        let args = ["--alg", "ff3-1", "--key-hex", "EF4359D8D580AA4F7F036D6F04FC6A94", "--tweak-hex", "D8E7920AFA330A", "--radix", "10"]
        let enc = try Self.run(["fpe", "encrypt"] + args, input: input)
        #expect(enc.status == 0)
        #expect(enc.stdout.split(separator: "\n").map(\.count) == lines.map(\.count))
        let dec = try Self.run(["fpe", "decrypt"] + args, input: enc.stdout)
        #expect(dec.stdout == input)
    }
}
