// The main job end to end, as `tokengate tokenize` runs it (without the CLI's audit record): the
// bench10 CSV feed of scripts/gen_feed.py (10 columns; card, email and SSN tagged, look-alike order
// numbers and timestamps left alone) read from a file, tagged, tokenized under the default policy
// (FF1, derived custody: the in-use keys' subkeys derived inside the development HSM) and written to
// a file, at 100 MB and 1 GB, with 2 workers (this machine has 2 cores); and the passthrough (a
// policy that keeps every column: parse + write) on the same 1 GB feed, with one worker.
// "MB/s" is input megabytes (10^6 bytes) per second of wall clock, writing to the page cache
// included; "Memory (resident peak)" shows that memory is bounded by the batches, not the input.
//
// The feeds are generated once into the temporary directory with python3 (deterministic, reused).
//
// Run (after `bash scripts/setup.sh` at the repository root):
//   cd Benchmarks && swift package --allow-writing-to-package-directory benchmark --target TokenizeBenchmarks
import Benchmark
import Foundation
import Keyring
@_spi(KeyAccess) import Operations
import Tokenize

let repository = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Generates (once) the bench10 feed of `size` (gen_feed.py syntax, e.g. "100M") and returns its path and bytes.
func bench10Feed(_ size: String) -> (path: String, bytes: Int) {
    let path = NSTemporaryDirectory() + "/tokengate-bench10-\(size).csv"
    if let attributes = try? FileManager.default.attributesOfItem(atPath: path), let bytes = attributes[.size] as? Int {
        return (path, bytes)
    }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = [
        "python3", repository.appendingPathComponent("scripts/gen_feed.py").path,
        "--profile", "bench10", "--format", "csv", "--bytes", size, "--out", path + ".tmp",
    ]
    do {
        try p.run()
        p.waitUntilExit()
    } catch {
        fatalError("cannot run python3 scripts/gen_feed.py: \(error)")
    }
    guard p.terminationStatus == 0, rename(path + ".tmp", path) == 0,
        let bytes = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int
    else {
        fatalError("scripts/gen_feed.py failed for \(size)")
    }
    return (path, bytes)
}

let mbps = BenchmarkMetric.custom("MB/s", polarity: .prefersLarger, useScalingFactor: false)

let benchmarks: @Sendable () -> Void = {
    let keyring: Keyring
    do {
        // Keys only through the operations core: one audited session for the whole run.
        keyring = try Gateway(keyringPath: repository.appendingPathComponent("keys-config/keyring.dev.yaml").path).withAuditedKeyring(
            operation: "benchmark tokenize"
        ) { $0 }
    } catch {
        fatalError("TokenizeBenchmarks need the development HSM: run scripts/setup.sh first (\(error))")
    }
    let keepAll: Policy
    do {
        let path = NSTemporaryDirectory() + "/tokengate-bench-keep-all.yaml"
        try Data("version: 1\ntags: {}\n".utf8).write(to: URL(fileURLWithPath: path))
        keepAll = try Policy.load(path: path)
    } catch {
        fatalError("cannot write the keep-all policy: \(error)")
    }
    let output = NSTemporaryDirectory() + "/tokengate-bench-out.csv"

    func job(_ feed: (path: String, bytes: Int), policy: Policy, workers: Int, verify: Bool = true, _ benchmark: Benchmark) throws {
        var o = TokenizeJob.Options()
        o.input = feed.path
        o.output = output
        o.workers = workers
        o.verifyOutput = verify
        let start = ContinuousClock.now
        benchmark.startMeasurement()
        let summary = try TokenizeJob.run(o, policy: policy, keyring: keyring, classify: Scan.classifier(policy: policy))
        benchmark.stopMeasurement()
        let seconds = (ContinuousClock.now - start) / .seconds(1)
        guard summary.reconciles, summary.rowsRejected == 0 else {
            fatalError("rows do not reconcile: \(summary.rowsIn) in, \(summary.rowsOut) out, \(summary.rowsRejected) rejected")
        }
        benchmark.measurement(mbps, Int(Double(feed.bytes) / 1e6 / seconds))
    }

    let feed100 = bench10Feed("100M")
    let feed1G = bench10Feed("1G")
    let metrics: [BenchmarkMetric] = [mbps, .wallClock, .cpuTotal, .peakMemoryResident]
    Benchmark(
        "tokenize bench10 CSV 100 MB, FF1 derived custody, 2 workers",
        configuration: .init(metrics: metrics, scalingFactor: .one, maxDuration: .seconds(30), maxIterations: 9)
    ) { benchmark in
        try job(feed100, policy: .default, workers: 2, benchmark)
    }
    // The residual output scan's cost: the same run with the scan off (--no-verify-output).
    Benchmark(
        "tokenize bench10 CSV 100 MB, FF1 derived custody, 2 workers, residual scan off",
        configuration: .init(metrics: metrics, scalingFactor: .one, maxDuration: .seconds(30), maxIterations: 9)
    ) { benchmark in
        try job(feed100, policy: .default, workers: 2, verify: false, benchmark)
    }
    Benchmark(
        "tokenize bench10 CSV 1 GB, FF1 derived custody, 2 workers",
        configuration: .init(metrics: metrics, scalingFactor: .one, maxDuration: .seconds(60), maxIterations: 5)
    ) { benchmark in
        try job(feed1G, policy: .default, workers: 2, benchmark)
    }
    Benchmark(
        "passthrough (keep-all policy) bench10 CSV 1 GB, 1 worker",
        configuration: .init(metrics: metrics, scalingFactor: .one, maxDuration: .seconds(60), maxIterations: 5)
    ) { benchmark in
        try job(feed1G, policy: keepAll, workers: 1, benchmark)
    }
}
