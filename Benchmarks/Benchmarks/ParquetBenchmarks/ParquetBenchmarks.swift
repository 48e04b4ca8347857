// Parquet figures of issue 14, each beside pyarrow's passthrough (read_table + write_table) of the
// same file in the same run: the bench10 feed (scripts/gen_feed.py, 10 columns) as snappy Parquet
// written by pyarrow (scripts/parquet/bench_feed.py: row groups of 1 Mi rows), at 100 MB and 1 GB
// of CSV (53 MB and 538 MB of Parquet, 0.72 M and 7.3 M rows).
// - pyarrow passthrough: `.venv/bin/python scripts/parquet/bench_passthrough.py` (process start
//   and `import pyarrow` included, as a user runs it);
// - tokengate passthrough: a policy naming every column keep, residual scan off: every column
//   chunk copied verbatim, input and output SHA-256 for the audit record;
// - tokengate tokenize: the default policy (card, email, SSN: FF1, derived custody), 2 workers,
//   with and without the residual output scan.
// "MB/s" is Parquet megabytes (10^6 bytes) of input per second of wall clock.
//
// Run (after `bash scripts/setup.sh` at the repository root):
//   cd Benchmarks && swift package --allow-writing-to-package-directory benchmark --target ParquetBenchmarks
import Benchmark
import Foundation
import Keyring
@_spi(KeyAccess) import Operations
import Tokenize

let repository = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let python = repository.appendingPathComponent(".venv/bin/python").path

func run(_ executable: String, _ arguments: [String]) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    p.standardOutput = FileHandle.nullDevice
    do {
        try p.run()
        p.waitUntilExit()
    } catch {
        fatalError("cannot run \(executable): \(error)")
    }
    guard p.terminationStatus == 0 else { fatalError("\(executable) \(arguments) exited \(p.terminationStatus)") }
}

/// The bench10 feed of `size` as snappy Parquet (made once, reused): its path and bytes.
func bench10Parquet(_ size: String) -> (path: String, bytes: Int) {
    let path = NSTemporaryDirectory() + "/tokengate-bench10-\(size).parquet"
    if let bytes = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int { return (path, bytes) }
    let csv = NSTemporaryDirectory() + "/tokengate-bench10-\(size).csv"
    if !FileManager.default.fileExists(atPath: csv) {
        run(
            "/usr/bin/env",
            [
                "python3", repository.appendingPathComponent("scripts/gen_feed.py").path, "--profile", "bench10", "--format", "csv", "--bytes", size, "--out",
                csv,
            ])
    }
    run(python, [repository.appendingPathComponent("scripts/parquet/bench_feed.py").path, csv, path + ".tmp"])
    guard rename(path + ".tmp", path) == 0, let bytes = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int else {
        fatalError("bench_feed.py failed for \(size)")
    }
    return (path, bytes)
}

let mbps = BenchmarkMetric.custom("MB/s", polarity: .prefersLarger, useScalingFactor: false)

let benchmarks: @Sendable () -> Void = {
    guard FileManager.default.isExecutableFile(atPath: python) else { fatalError("ParquetBenchmarks need the oracles: run scripts/setup.sh first") }
    let keyring: Keyring
    do {
        keyring = try Gateway(keyringPath: repository.appendingPathComponent("keys-config/keyring.dev.yaml").path).withAuditedKeyring(
            operation: "benchmark parquet"
        ) { $0 }
    } catch {
        fatalError("ParquetBenchmarks need the development HSM: run scripts/setup.sh first (\(error))")
    }
    let keepAll: Policy
    do {
        let path = NSTemporaryDirectory() + "/tokengate-bench-parquet-keep.yaml"
        let names = ["row_id", "card_number", "email", "ssn", "created_at", "amount", "status", "country", "order_number", "memo"]
        try Data(("version: 1\ntags: {}\ncolumns:\n" + names.map { "  \($0): { action: keep }\n" }.joined()).utf8).write(to: URL(fileURLWithPath: path))
        keepAll = try Policy.load(path: path)
    } catch {
        fatalError("cannot write the keep-all policy: \(error)")
    }
    let output = NSTemporaryDirectory() + "/tokengate-bench-out.parquet"

    func measure(_ bytes: Int, _ benchmark: Benchmark, _ body: () throws -> Void) rethrows {
        let start = ContinuousClock.now
        benchmark.startMeasurement()
        try body()
        benchmark.stopMeasurement()
        benchmark.measurement(mbps, Int(Double(bytes) / 1e6 / ((ContinuousClock.now - start) / .seconds(1))))
    }

    func job(_ feed: (path: String, bytes: Int), policy: Policy, workers: Int, verify: Bool, _ benchmark: Benchmark) throws {
        var o = TokenizeJob.Options()
        o.input = feed.path
        o.output = output
        o.workers = workers
        o.verifyOutput = verify
        var summary: RunSummary?
        try measure(feed.bytes, benchmark) {
            summary = try TokenizeJob.run(o, policy: policy, keyring: keyring, classify: Scan.classifier(policy: policy))
        }
        guard let s = summary, s.reconciles, s.rowsRejected == 0 else { fatalError("the run did not reconcile") }
    }

    let metrics: [BenchmarkMetric] = [mbps, .wallClock, .cpuTotal, .peakMemoryResident]
    for size in ["100M", "1G"] {
        let feed = bench10Parquet(size)
        let iterations = size == "1G" ? 3 : 7
        let config = Benchmark.Configuration(metrics: metrics, scalingFactor: .one, maxDuration: .seconds(120), maxIterations: iterations)
        Benchmark("pyarrow passthrough (read_table + write_table), bench10 Parquet \(size)", configuration: config) { benchmark in
            measure(feed.bytes, benchmark) {
                run(python, [repository.appendingPathComponent("scripts/parquet/bench_passthrough.py").path, feed.path, output])
            }
        }
        Benchmark("tokengate passthrough (every chunk copied), bench10 Parquet \(size)", configuration: config) { benchmark in
            try job(feed, policy: keepAll, workers: 1, verify: false, benchmark)
        }
        Benchmark("tokengate tokenize card+email+SSN, 2 workers, bench10 Parquet \(size)", configuration: config) { benchmark in
            try job(feed, policy: .default, workers: 2, verify: true, benchmark)
        }
        Benchmark("tokengate tokenize card+email+SSN, 2 workers, residual scan off, bench10 Parquet \(size)", configuration: config) { benchmark in
            try job(feed, policy: .default, workers: 2, verify: false, benchmark)
        }
    }
}
