// Sealed-file throughput: seal and open 256 MiB in 1 MiB frames (AES-256-GCM in process, one
// core), data key from the development HSM (SoftHSM2 tokens made by scripts/setup.sh). The file
// lives in the temporary directory, so the figures include write(2)/pread(2) into the page cache.
//
// Run (after `bash scripts/setup.sh` at the repository root):
//   cd Benchmarks && swift package --allow-writing-to-package-directory benchmark --target SealingBenchmarks
// One iteration = 256 MiB: MB/s = 268.4 / (seconds per iteration).
import Benchmark
import Foundation
import Keyring
@_spi(KeyAccess) import Operations
import Sealing

/// The development keyring of the repository this file is in.
let keyringPath = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("keys-config/keyring.dev.yaml").path

let totalBytes = 256 << 20
let frameSize = 1 << 20

let benchmarks: @Sendable () -> Void = {
    let keyring: Keyring
    do {
        // Keys only through the operations core: one audited session for the whole run.
        keyring = try Gateway(keyringPath: keyringPath).withAuditedKeyring(operation: "benchmark sealing") { $0 }
        _ = try keyring.initialize()
    } catch {
        fatalError("SealingBenchmarks need the development HSM: run scripts/setup.sh first (\(error))")
    }
    let chunk = (0..<frameSize).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("tokengate-seal-bench-\(getpid()).tgs").path

    func sealFile() throws {
        let w = try SealedWriter(path: path, keyring: keyring, keyName: "datasets", frameSize: frameSize)
        for _ in 0..<(totalBytes / frameSize) { try w.write(chunk, records: 1) }
        try w.finish()
    }

    let config = Benchmark.Configuration(
        metrics: [.wallClock, .cpuTotal, .throughput, .mallocCountTotal],
        timeUnits: .milliseconds, maxDuration: .seconds(10), maxIterations: 10)

    Benchmark("seal 256 MiB, 1 MiB frames (per 256 MiB)", configuration: config) { benchmark in
        for _ in benchmark.scaledIterations { try sealFile() }
    }

    // The same sealing work written to /dev/null: AES-GCM and framing without the page cache or fsync.
    let devNull = open("/dev/null", O_WRONLY)
    Benchmark("seal 256 MiB to /dev/null, 1 MiB frames (per 256 MiB)", configuration: config) { benchmark in
        for _ in benchmark.scaledIterations {
            let w = try SealedWriter(fileDescriptor: devNull, keyring: keyring, keyName: "datasets", frameSize: frameSize)
            for _ in 0..<(totalBytes / frameSize) { try w.write(chunk, records: 1) }
            try w.finish()
        }
    }

    Benchmark("open 256 MiB, 1 MiB frames, every frame authenticated (per 256 MiB)", configuration: config) { benchmark in
        try sealFile()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let r = try SealedReader(path: path, keyring: keyring)
            var n = 0
            for i in 0..<r.frameCount { n += try r.frame(at: i).plaintext.count }
            precondition(n == totalBytes, "sealed benchmark file does not round-trip")
        }
        benchmark.stopMeasurement()
        try? FileManager.default.removeItem(atPath: path)
    }
}
