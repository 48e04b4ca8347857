// Custody benchmarks against the development HSM (SoftHSM2 tokens made by scripts/setup.sh):
// data-key wrap/unwrap through the at-rest key, and FF1 / FF3-1 tokenization of 16-digit values with
// the in-use key resident in the HSM (one C_Encrypt per round per batch) versus a baseline that
// makes one C_Encrypt per value per round, and with the HSM-derived subkey in OpenSSL.
//
// Run (after `bash scripts/setup.sh` at the repository root):
//   cd Benchmarks && swift package --allow-writing-to-package-directory benchmark --target CustodyBenchmarks
import Benchmark
import FPE
import Foundation
import Keyring
@_spi(KeyAccess) import Operations

/// The development keyring of the repository this file is in.
let keyringPath = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("keys-config/keyring.dev.yaml").path

let batchSize = 4096

func digits16(_ count: Int) -> NumeralBatch {
    var g = SystemRandomNumberGenerator()
    var b = NumeralBatch(reservingValues: count, numerals: count * 16)
    for _ in 0..<count { b.append((0..<16).map { _ in UInt16(g.next() % 10) }) }
    return b
}

let benchmarks: @Sendable () -> Void = {
    let keyring: Keyring
    do {
        // Keys only through the operations core: one audited session for the whole run.
        keyring = try Gateway(keyringPath: keyringPath).withAuditedKeyring(operation: "benchmark custody") { $0 }
        _ = try keyring.initialize()
    } catch {
        fatalError("CustodyBenchmarks need the development HSM: run scripts/setup.sh first (\(error))")
    }
    let rest = KeyRef(.atRest, "datasets")
    let context = Array("benchmark-context".utf8)

    Benchmark(
        "Keyring wrap data key (at-rest, SoftHSM2)",
        configuration: .init(metrics: [.throughput, .wallClock, .mallocCountTotal], maxDuration: .seconds(3))
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try keyring.generateDataKey(rest, context: context).wrapped)
        }
    }

    let wrapped = try! keyring.generateDataKey(rest, context: context).wrapped
    Benchmark(
        "Keyring unwrap data key (at-rest, SoftHSM2)",
        configuration: .init(metrics: [.throughput, .wallClock, .mallocCountTotal], maxDuration: .seconds(3))
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            let k = try keyring.unwrapDataKey(wrapped, purpose: .atRest, context: context)
            blackHole(k.count)
        }
    }

    let key = try! keyring.tokenizationKey(domain: "generic")
    let input = digits16(batchSize)
    for alg in FPEAlgorithm.allCases {
        let tweak = [UInt8](repeating: 0x11, count: alg == .ff31 ? 7 : 8)
        for custody in Custody.allCases {
            let engine = try! FPECipher(algorithm: alg, cipher: keyring.blockCipher(key, custody: custody), radix: 10)
            // One iteration = one batch of 4096 tokens: tokens/s = 4096 × the throughput figure
            // (= 4096 / the wall-clock time per iteration).
            Benchmark(
                "\(alg.rawValue) \(custody) custody, 16 digits, per batch of \(batchSize) tokens",
                configuration: .init(metrics: [.throughput, .wallClock, .mallocCountTotal], maxDuration: .seconds(3))
            ) { benchmark in
                var b = input
                for _ in benchmark.scaledIterations {
                    try engine.encrypt(&b, tweak: tweak)
                }
                blackHole(b)
            }
        }
        // Baseline: the same HSM key, one value per FPE call, hence one C_Encrypt per value per round.
        let perValue = try! FPECipher(algorithm: alg, cipher: keyring.blockCipher(key, custody: .hsm), radix: 10)
        let one = Array(input.value(at: 0))
        Benchmark(
            "\(alg.rawValue) hsm custody, 16 digits, per token, one C_Encrypt per value per round (baseline)",
            configuration: .init(metrics: [.throughput, .wallClock], maxDuration: .seconds(3))
        ) { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try perValue.encrypt(one, tweak: tweak))
            }
        }
    }
}
