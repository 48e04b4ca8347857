// Engine benchmarks for the FPE module: FF1 and FF3-1 over batches of 4096 values, AES-256 through
// OpenSSL (AESECB), one core. Each iteration processes one batch between explicit
// start/stopMeasurement calls (so the harness's own bookkeeping is not counted): `tokens/s` is the
// batch size divided by the time of that region, and the malloc counts are per batch.
//
//   cd Benchmarks && swift package --allow-writing-to-package-directory benchmark

import BenchSupport
import Benchmark
import Crypto
import FPE

let batchSize = 4096
let key = [UInt8](repeating: 0x5A, count: 32)  // AES-256 test key
let ff1Tweak = Array("tokengate/pan".utf8)
let ff31Tweak: [UInt8] = [0x74, 0x6F, 0x6B, 0x65, 0x6E, 0x2D, 0x31]

let tokensPerSecond = BenchmarkMetric.custom("tokens/s", polarity: .prefersLarger, useScalingFactor: false)

/// What one benchmark needs, built once in its setup (outside the measurement).
final class EngineState {
    let cipher: FPECipher
    let tweak: [UInt8]
    var batch: NumeralBatch
    let aes: AESECB
    var blocks: [UInt8]
    // End-to-end: the values as one UTF-8 buffer plus offsets (a column of a batch), and an
    // output buffer.
    let alphabet = Alphabet.radix(10)
    let text: [UInt8]
    let textOffsets: [Int]
    var output: [UInt8] = []

    init(_ algorithm: FPEAlgorithm, digits: Int) throws {
        cipher = try key.withUnsafeBytes { try FPECipher(algorithm: algorithm, key: $0, radix: 10) }
        tweak = algorithm == .ff1 ? ff1Tweak : ff31Tweak
        var rng = SplitMix64(state: UInt64(digits) &* 0x9E37_79B9)
        batch = NumeralBatch(reservingValues: batchSize, numerals: batchSize * digits)
        var text: [UInt8] = [], offsets = [0]
        for _ in 0..<batchSize {
            let value = (0..<digits).map { _ in UInt16(rng.next() % 10) }
            batch.append(value)
            text += value.map { UInt8(ascii: "0") + UInt8($0) }
            offsets.append(text.count)
        }
        self.text = text
        textOffsets = offsets
        aes = try key.withUnsafeBytes { try AESECB(key: $0) }
        blocks = [UInt8](repeating: 0, count: 16 * batchSize * algorithm.roundCount)
        output.reserveCapacity(text.count)
        // Warm up: per-length constants and scratch buffers are built on first use.
        try cipher.encrypt(&batch, tweak: tweak)
        try cipher.decrypt(&batch, tweak: tweak)
    }
}

extension FPEAlgorithm {
    var roundCount: Int { self == .ff1 ? 10 : 8 }
    var label: String { self == .ff1 ? "FF1" : "FF3-1" }
}

/// Runs `body` as the measured region and records its rate as `tokens/s`.
@inline(__always)
func timed(_ benchmark: Benchmark, tokens: Int, _ body: () throws -> Void) rethrows {
    benchmark.startMeasurement()
    let start = ContinuousClock.now
    try body()
    let elapsed = ContinuousClock.now - start
    benchmark.stopMeasurement()
    let ns = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
    benchmark.measurement(tokensPerSecond, Int(Double(tokens) * 1e9 / ns))
}

let benchmarks: @Sendable () -> Void = {
    // The zero-malloc claim as a threshold: `mallocCountTotal` per batch must stay exactly at the
    // static threshold (0, in `Thresholds/FPEBenchmarks.<name>.p90.json`), with no tolerance at
    // any percentile. Checked by `swift package benchmark thresholds check` (see README.md).
    let zeroMallocs: [BenchmarkMetric: BenchmarkThresholds] = [
        .mallocCountTotal: BenchmarkThresholds(relative: BenchmarkThresholds.Relative.strict, absolute: BenchmarkThresholds.Absolute.strict)
    ]
    Benchmark.defaultConfiguration = .init(
        metrics: [tokensPerSecond, .wallClock, .mallocCountTotal],
        timeUnits: .microseconds,
        warmupIterations: 20,
        maxDuration: .seconds(3),
        maxIterations: 20_000,
        thresholds: zeroMallocs
    )

    for algorithm in FPEAlgorithm.allCases {
        for digits in [16, 40] {
            Benchmark("\(algorithm.label) encrypt, \(digits) digits, AES-256, \(batchSize) per batch") { benchmark, state in
                timed(benchmark, tokens: batchSize) {
                    try! state.cipher.encrypt(&state.batch, tweak: state.tweak)
                }
                blackHole(state.batch.numerals[0])
            } setup: {
                try EngineState(algorithm, digits: digits)
            }
        }

        Benchmark("\(algorithm.label) decrypt, 16 digits, AES-256, \(batchSize) per batch") { benchmark, state in
            timed(benchmark, tokens: batchSize) {
                try! state.cipher.decrypt(&state.batch, tweak: state.tweak)
            }
            blackHole(state.batch.numerals[0])
        } setup: {
            try EngineState(algorithm, digits: 16)
        }

        // End to end over a column: UTF-8 digits → numerals → tokens → UTF-8 digits.
        Benchmark("\(algorithm.label) encrypt, 16-digit UTF-8 column → UTF-8, \(batchSize) per batch") { benchmark, state in
            timed(benchmark, tokens: batchSize) {
                state.batch.removeAll(keepingCapacity: true)
                state.text.withUnsafeBytes { text in
                    for i in 0..<batchSize {
                        let cell = UnsafeRawBufferPointer(rebasing: text[state.textOffsets[i]..<state.textOffsets[i + 1]])
                        try! state.alphabet.append(utf8: cell, to: &state.batch)
                    }
                }
                try! state.cipher.encrypt(&state.batch, tweak: state.tweak)
                state.output.removeAll(keepingCapacity: true)
                state.alphabet.appendUTF8(of: state.batch.numerals, to: &state.output)
            }
            blackHole(state.output[0])
        } setup: {
            try EngineState(algorithm, digits: 16)
        }

        // The AES work alone: the same number of blocks as the batch's rounds, in the same calls.
        Benchmark("\(algorithm.label) AES-256-ECB floor: \(algorithm.roundCount) calls × \(batchSize) blocks") { benchmark, state in
            timed(benchmark, tokens: batchSize) {
                state.blocks.withUnsafeMutableBytes { all in
                    for r in 0..<algorithm.roundCount {
                        try! state.aes.encryptBlocks(UnsafeMutableRawBufferPointer(rebasing: all[(16 * batchSize * r)..<(16 * batchSize * (r + 1))]))
                    }
                }
            }
            blackHole(state.blocks[0])
        } setup: {
            try EngineState(algorithm, digits: 16)
        }
    }
}
