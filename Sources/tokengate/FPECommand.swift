import ArgumentParser
import Crypto
import FPE

/// `tokengate fpe encrypt|decrypt`: FF1 / FF3-1 over lines of standard input, with a raw key.
struct FPECommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fpe",
        abstract: "FF1 / FF3-1 conformance and interoperability tool over raw test keys (not for production data).",
        discussion: """
            Reads one value per line on standard input and writes one result per line on standard \
            output, in order. Values are strings over the alphabet: with --radix N (N <= 36) the first N \
            symbols of 0123456789abcdefghijklmnopqrstuvwxyz (the NIST sample-vector convention), or the \
            symbols given with --alphabet. A line that is not a valid value (a character outside the \
            alphabet, too short or too long for the algorithm and radix) is an error naming its line \
            number; the command then exits non-zero (results for earlier batches of 4096 lines may \
            already have been written).

            This is a tool for checking FF1 / FF3-1 against published vectors and other \
            implementations. The key is given in hex on the command line, where process listings and \
            shell history can see it: use it only with test keys and test data. Production \
            tokenization runs under keys held in the HSM (`tokengate tokenize` with the keyring), never \
            under a key typed on a command line.

            For FF3-1 give the key K as published; the tool keys AES with REVB(K) as the standard requires.

            Examples:
              printf '0123456789\\n' | tokengate fpe encrypt --alg ff1 \\
                  --key-hex 2B7E151628AED2A6ABF7158809CF4F3C --tweak-hex '' --radix 10      # 2433477484
              printf '890121234567890000\\n' | tokengate fpe encrypt --alg ff3-1 \\
                  --key-hex EF4359D8D580AA4F7F036D6F04FC6A94 --tweak-hex D8E7920AFA330A --radix 10
            """,
        subcommands: [Encrypt.self, Decrypt.self]
    )

    static let warning = """
        The key is given in hex on the command line, where process listings and shell history can \
        see it: use this only with test keys and test data. Production tokenization runs under keys \
        held in the HSM, never under a key typed on a command line. See `tokengate fpe --help`.
        """

    struct Options: ParsableArguments {
        @Option(name: .customLong("alg"), help: "Algorithm: ff1 or ff3-1.")
        var algorithm: String

        @Option(name: .customLong("key-hex"), help: "AES key in hex: 16, 24 or 32 bytes (test keys only).")
        var keyHex: String

        @Option(name: .customLong("tweak-hex"), help: "Tweak in hex: 7 bytes for ff3-1, 0...\(FPECipher.ff1MaxTweakLength) bytes for ff1 ('' for none).")
        var tweakHex: String

        @Option(help: "Radix 2...36, alphabet 0-9a-z truncated to the radix.")
        var radix: Int?

        @Option(help: "The symbols in numeral order (radix = their number); instead of --radix.")
        var alphabet: String?

        func validate() throws {
            guard FPEAlgorithm(rawValue: algorithm) != nil else {
                throw ValidationError("--alg must be one of: \(FPEAlgorithm.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            switch (radix, alphabet) {
            case (nil, nil), (.some, .some):
                throw ValidationError("give exactly one of --radix and --alphabet")
            case (let r?, nil):
                guard (2...36).contains(r) else {
                    throw ValidationError("--radix must be in 2...36; give larger alphabets with --alphabet")
                }
            case (nil, let a?):
                do { _ = try Alphabet(a) } catch { throw ValidationError("--alphabet: \(error.reason)") }
            }
            guard let key = FPELineTool.bytes(hex: keyHex), [16, 24, 32].contains(key.count) else {
                throw ValidationError("--key-hex must be 32, 48 or 64 hex digits (an AES-128/192/256 key)")
            }
            guard FPELineTool.bytes(hex: tweakHex) != nil else {
                throw ValidationError("--tweak-hex must be hex digits (an even number of them)")
            }
        }
    }

    struct Encrypt: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Encrypt each line of standard input (conformance tool over raw test keys; not for production data).",
            discussion: FPECommand.warning)
        @OptionGroup var options: Options
        func run() throws { try FPELineTool.run(options, decrypting: false) }
    }

    struct Decrypt: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decrypt each line of standard input (conformance tool over raw test keys; not for production data).",
            discussion: FPECommand.warning)
        @OptionGroup var options: Options
        func run() throws { try FPELineTool.run(options, decrypting: true) }
    }
}

/// An error about one input line.
struct LineError: Error, CustomStringConvertible {
    let line: Int
    let reason: String
    var description: String { "line \(line): \(reason)" }
}

enum FPELineTool {
    static let batchSize = 4096

    static func run(_ options: FPECommand.Options, decrypting: Bool) throws {
        let algorithm = FPEAlgorithm(rawValue: options.algorithm)!
        let alphabet = try options.alphabet.map { try Alphabet($0) } ?? Alphabet.radix(options.radix!)
        guard let tweak = bytes(hex: options.tweakHex) else { throw ValidationError("bad --tweak-hex") }
        guard var keyBytes = bytes(hex: options.keyHex) else { throw ValidationError("bad --key-hex") }
        // The parsed key moves into a zeroizing buffer (which wipes keyBytes) and is released,
        // wiped, once the cipher holds its own OpenSSL context.
        let cipher = try makeCipher(algorithm: algorithm, key: SecretBytes(consumingArray: &keyBytes), radix: alphabet.radix)
        try process(
            cipher: cipher, alphabet: alphabet, tweak: tweak, decrypting: decrypting,
            readLine: { Swift.readLine(strippingNewline: true) },
            write: { print($0, terminator: "") })
    }

    static func makeCipher(algorithm: FPEAlgorithm, key: consuming SecretBytes, radix: Int) throws -> FPECipher {
        try FPECipher(algorithm: algorithm, key: key, radix: radix)
    }

    /// Streams lines through the cipher in batches; `write` receives whole batches of output lines.
    static func process(
        cipher: FPECipher, alphabet: Alphabet, tweak: [UInt8], decrypting: Bool,
        readLine: () -> String?, write: (String) -> Void
    ) throws {
        var batch = NumeralBatch(reservingValues: batchSize, numerals: batchSize * 20)
        var firstLine = 1
        var done = false
        while !done {
            batch.removeAll(keepingCapacity: true)
            while batch.count < batchSize {
                guard let line = readLine() else {
                    done = true
                    break
                }
                do {
                    try alphabet.append(line, to: &batch)
                } catch {
                    throw LineError(line: firstLine + batch.count, reason: error.reason)
                }
            }
            if batch.isEmpty { break }
            do {
                if decrypting {
                    try cipher.decrypt(&batch, tweak: tweak)
                } else {
                    try cipher.encrypt(&batch, tweak: tweak)
                }
            } catch let error as FPEError {
                if let index = error.valueIndex { throw LineError(line: firstLine + index, reason: error.reason) }
                throw error
            }
            var out = ""
            out.reserveCapacity(batch.numerals.count + batch.count)
            for i in 0..<batch.count {
                out += alphabet.string(from: batch.value(at: i))
                out += "\n"
            }
            write(out)
            firstLine += batch.count
        }
    }

    /// The bytes of a hex string (either case), or nil if it is not hex.
    static func bytes(hex: String) -> [UInt8]? { Hex.decode(hex) }
}
