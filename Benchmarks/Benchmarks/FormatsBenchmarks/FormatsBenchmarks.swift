import BenchSupport
// Format benchmarks: CSV and JSON Lines passthrough (read into batches + write back out) on a
// generated ~100 MB feed of 10 columns, one core. The feeds are generated once into the temporary
// directory (deterministic, reused by later runs); output goes to /dev/null, so the figures are
// parse + encode, not disk. "MB/s" is input megabytes (10^6 bytes) per second of wall clock;
// "MB/s per CPU-s" per second of the benchmark thread's CPU time (the per-core figure on a
// shared machine). "Memory (resident peak)" shows memory bounded by the batch, not the input.
//
// Run:
//   cd Benchmarks && swift package --allow-writing-to-package-directory benchmark --target FormatsBenchmarks
import Benchmark
import Columns
import Formats
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

let targetBytes = 100_000_000

let firstNames = ["Ann", "Bob", "Chen", "Dee", "Élodie", "Farid", "Grace", "Hiro", "Ines", "José"]
let lastNames = ["Smith", "O'Brien", "Müller", "Nakamura", "Okafor", "Rossi", "Nguyen", "Kowalski"]
let cities = ["Paris", "Berlin", "São Paulo", "New York", "Tokyo", "Lagos", "Zürich", "Toronto"]
let notes = ["", "ok", "call back", "VIP", "address changed, verify", "said \"urgent\"", "n/a"]

/// One generated record's fields: id, card, first, last, email, city, amount, date, phone, note.
func record(_ i: Int, _ g: inout SplitMix64) -> [String] {
    let card = "4" + String(format: "%015llu", g.next() % 1_000_000_000_000_000)
    let first = firstNames[g.below(firstNames.count)]
    let last = lastNames[g.below(lastNames.count)]
    return [
        String(i), card, first, last,
        "\(first.lowercased()).\(g.below(10000))@example.com",
        cities[g.below(cities.count)],
        "\(g.below(100_000)).\(String(format: "%02d", g.below(100)))",
        "20\(10 + g.below(15))-\(String(format: "%02d", 1 + g.below(12)))-\(String(format: "%02d", 1 + g.below(28)))",
        "+1 555 \(String(format: "%07d", g.below(10_000_000)))",
        notes[g.below(notes.count)],
    ]
}

let header = ["id", "card", "first_name", "last_name", "email", "city", "amount", "date", "phone", "note"]

func csvField(_ v: String) -> String {
    v.contains(",") || v.contains("\"") ? "\"" + v.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : v
}

func jsonString(_ v: String) -> String {
    "\"" + v.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
}

/// Generates (once) a feed of about `targetBytes` and returns its path and size.
func feed(_ name: String, _ line: (Int, inout SplitMix64) -> String, header: String?) -> (path: String, size: Int) {
    let path = NSTemporaryDirectory() + "/tokengate-formats-bench-v1-\(name)"
    if let attrs = try? FileManager.default.attributesOfItem(atPath: path),
        let size = attrs[.size] as? Int, size >= targetBytes
    {
        return (path, size)
    }
    FileManager.default.createFile(atPath: path + ".tmp", contents: nil)
    let h = FileHandle(forWritingAtPath: path + ".tmp")!
    var g = SplitMix64(state: 42)
    var chunk = ""
    var size = 0
    if let header { chunk += header + "\n" }
    var i = 1
    while size < targetBytes {
        chunk += line(i, &g) + "\n"
        i += 1
        if chunk.utf8.count > 1 << 20 {
            let d = Data(chunk.utf8)
            h.write(d)
            size += d.count
            chunk = ""
        }
    }
    let d = Data(chunk.utf8)
    h.write(d)
    size += d.count
    try! h.close()
    _ = rename(path + ".tmp", path)
    return (path, size)
}

func csvFeed() -> (path: String, size: Int) {
    feed("10col.csv", { i, g in record(i, &g).map(csvField).joined(separator: ",") }, header: header.joined(separator: ","))
}
func jsonlFeed() -> (path: String, size: Int) {
    feed(
        "10col.jsonl",
        { i, g in
            let r = record(i, &g)
            let fields = header.indices.map { c in
                // id and amount as JSON numbers, the rest as strings.
                jsonString(header[c]) + ":" + (c == 0 || c == 6 ? r[c] : jsonString(r[c]))
            }
            return "{" + fields.joined(separator: ",") + "}"
        }, header: nil)
}

/// Reads the file into batches and writes them to /dev/null; `transform` may replace columns.
func passthrough(
    _ path: String, reader makeReader: (Int32) throws -> any BatchReader,
    writer makeWriter: (Int32) throws -> any BatchWriter, transform: ((inout Batch) -> Void)? = nil
) throws -> Int {
    let fd = open(path, O_RDONLY)
    precondition(fd >= 0, "cannot open \(path)")
    defer { close(fd) }
    let null = open("/dev/null", O_WRONLY)
    defer { close(null) }
    var reader = try makeReader(fd)
    var writer = try makeWriter(null)
    var rows = 0
    while let r = try reader.next() {
        var b = r.batch
        transform?(&b)
        rows += b.rowCount
        try writer.write(b)
    }
    try writer.flush()
    return rows
}

/// Replaces the card column with its digits reversed (same length, all different values) — the
/// writer's path for a replaced column, without the FPE cost.
func reverseCards(_ b: inout Batch) {
    let c = b.columnIndex(named: "card")!
    var col = b.columns[c]
    let offsets = col.offsets
    col.bytes.withUnsafeMutableBufferPointer { bytes in
        for i in 0..<offsets.count - 1 {
            var lo = offsets[i]
            var hi = offsets[i + 1] - 1
            while lo < hi {
                bytes.swapAt(lo, hi)
                lo += 1
                hi -= 1
            }
        }
    }
    b.replaceColumn(c, with: col)
}

/// Input MB per second of wall clock.
let mbps = BenchmarkMetric.custom("MB/s", polarity: .prefersLarger, useScalingFactor: false)
/// Input MB per second of this thread's CPU time: the per-core figure, unaffected by other
/// processes competing for the cores (the work is single-threaded).
let mbpsCPU = BenchmarkMetric.custom("MB/s per CPU-s", polarity: .prefersLarger, useScalingFactor: false)

func threadCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

func measure(_ benchmark: Benchmark, size: Int, _ body: () throws -> Int) throws {
    let start = ContinuousClock.now
    let cpuStart = threadCPUSeconds()
    benchmark.startMeasurement()
    let rows = try body()
    benchmark.stopMeasurement()
    let seconds = (ContinuousClock.now - start) / .seconds(1)
    let cpu = threadCPUSeconds() - cpuStart
    blackHole(rows)
    benchmark.measurement(mbps, Int(Double(size) / 1e6 / seconds))
    benchmark.measurement(mbpsCPU, Int(Double(size) / 1e6 / cpu))
}

let benchmarks: @Sendable () -> Void = {
    let config = Benchmark.Configuration(
        metrics: [mbps, mbpsCPU, .wallClock, .peakMemoryResident, .mallocCountTotal], scalingFactor: .one,
        maxDuration: .seconds(30), maxIterations: 9)
    let csv = csvFeed()
    let jsonl = jsonlFeed()
    let csvReader = { (fd: Int32) throws -> any BatchReader in try CSVReader(fileDescriptor: fd) }
    let csvWriter = { (fd: Int32) throws -> any BatchWriter in try CSVWriter(fileDescriptor: fd) }
    let jsonlReader = { (fd: Int32) throws -> any BatchReader in try JSONLReader(fileDescriptor: fd) }
    let jsonlWriter = { (fd: Int32) throws -> any BatchWriter in JSONLWriter(fileDescriptor: fd) }
    let mb = csv.size / 1_000_000

    Benchmark("CSV passthrough read+write, 10 columns, \(mb) MB", configuration: config) { benchmark in
        try measure(benchmark, size: csv.size) { try passthrough(csv.path, reader: csvReader, writer: csvWriter) }
    }
    Benchmark("CSV read only, 10 columns, \(mb) MB", configuration: config) { benchmark in
        try measure(benchmark, size: csv.size) {
            let fd = open(csv.path, O_RDONLY)
            defer { close(fd) }
            let reader = try CSVReader(fileDescriptor: fd)
            var rows = 0
            while let r = try reader.next() { rows += r.batch.rowCount }
            return rows
        }
    }
    Benchmark("CSV read+replace card column+write, 10 columns, \(mb) MB", configuration: config) { benchmark in
        try measure(benchmark, size: csv.size) {
            try passthrough(csv.path, reader: csvReader, writer: csvWriter, transform: reverseCards)
        }
    }
    Benchmark("JSONL passthrough read+write, 10 keys, \(jsonl.size / 1_000_000) MB", configuration: config) { benchmark in
        try measure(benchmark, size: jsonl.size) { try passthrough(jsonl.path, reader: jsonlReader, writer: jsonlWriter) }
    }
    Benchmark("JSONL read+replace card column+write, 10 keys, \(jsonl.size / 1_000_000) MB", configuration: config) { benchmark in
        try measure(benchmark, size: jsonl.size) {
            try passthrough(jsonl.path, reader: jsonlReader, writer: jsonlWriter, transform: reverseCards)
        }
    }
}
