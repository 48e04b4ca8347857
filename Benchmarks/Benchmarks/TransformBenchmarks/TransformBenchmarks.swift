// Per-transform throughput: one `TokenTransformer.tokenize` of a column of 4096 values per
// iteration (parse, FF1 with per-value tweaks where version 2 binds kept parts, cycle-walking,
// write-back), AES-256 through OpenSSL, one core, transform version 2. "values/s" is 4096 divided
// by the measured region's time. Inputs are deterministic (SplitMix64), shaped like real data:
// Luhn-valid 16-digit cards, emails over a few domains, NANP and E.164 phones, valid ABA numbers,
// random IPv4 and IPv6 (mixed styles), and names (ASCII with some accented, some short).
//
//   cd Benchmarks && swift package --allow-writing-to-package-directory benchmark --target TransformBenchmarks
import BenchSupport
import Benchmark
import Columns
import Crypto
import FPE
import Transforms

let batchSize = 4096
let key = [UInt8]((0..<32).map { UInt8($0) &* 31 &+ 7 })
let valuesPerSecond = BenchmarkMetric.custom("values/s", polarity: .prefersLarger, useScalingFactor: false)

let digits = BenchValues.digits
let withLuhn = BenchValues.withLuhn

func values(_ kind: TransformKind, family6: Bool = false) -> [String] {
    var rng = SplitMix64(state: 0x7A5F_0002 &+ UInt64(kind.rawValue.count))
    return (0..<batchSize).map { _ in
        switch kind {
        case .card:
            let body = ["4", "51", "37", "6011"][Int(rng.next() % 4)] + digits(15, &rng)
            return withLuhn(String(body.prefix(15)))
        case .email:
            let domains = ["example.com", "mail.example.org", "corp.example.net", "example.co.uk"]
            return "user" + digits(1 + Int(rng.next() % 5), &rng) + ".name@" + domains[Int(rng.next() % 4)]
        case .phone:
            return rng.next() % 2 == 0
                ? "(\(2 + rng.next() % 8)\(digits(2, &rng))) \(2 + rng.next() % 8)\(digits(2, &rng))-\(digits(4, &rng))"
                : "+44 20 \(digits(4, &rng)) \(digits(4, &rng))"
        case .aba:
            let p = [1, 2, 5, 11, 21, 26, 31, 61, 71, 80][Int(rng.next() % 10)]
            let body = (p < 10 ? "0\(p)" : "\(p)") + digits(6, &rng)
            var sum = 0
            for (i, c) in body.utf8.enumerated() { sum += Int(c - 0x30) * [3, 7, 1][i % 3] }
            return body + "\((10 - sum % 10) % 10)"
        case .ip:
            let x = rng.next()
            if !family6 { return "\(x >> 24 & 0xFF).\(x >> 16 & 0xFF).\(x >> 8 & 0xFF).\(x & 0xFF)" }
            let g = (0..<8).map { i in String(UInt16(truncatingIfNeeded: rng.next() >> UInt64(i)), radix: 16) }
            return rng.next() % 2 == 0 ? g.joined(separator: ":") : "2001:db8::" + g[5...].joined(separator: ":")
        case .name:
            let names = ["Carol", "Ramirez", "O'Brien", "McDonald", "Siobhan", "Li", "Al", "Jean-Luc", "Müller", "Zoë", "Anthony", "Thomas"]
            return names[Int(rng.next() % UInt64(names.count))]
        default: return ""
        }
    }
}

final class TransformState {
    let transformer: TokenTransformer
    let column: ByteColumn
    init(_ spec: TransformSpec, family6: Bool = false) throws {
        let aes = try key.withUnsafeBytes { try AESECB(key: $0) }
        transformer = try TokenTransformer(
            spec: spec, algorithm: .ff1, cipher: aes,
            tweak: TokenTransformer.tweak(domain: spec.kind.rawValue, column: "col", algorithm: .ff1))
        column = ByteColumn(values(spec.kind, family6: family6))
        let (_, rejects) = try transformer.tokenize(column)  // warm-up; every value in the domain
        precondition(rejects.isEmpty, "benchmark input outside the domain")
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [valuesPerSecond, .wallClock, .mallocCountTotal], timeUnits: .microseconds, warmupIterations: 5,
        maxDuration: .seconds(2), maxIterations: 5_000)
    let cases: [(String, TransformSpec, Bool)] = [
        ("card v2 (16 digits, Luhn-valid)", TransformSpec(.card), false),
        ("email v2", TransformSpec(.email), false),
        ("phone v2 (NANP and +44)", TransformSpec(.phone), false),
        ("aba", TransformSpec(.aba), false),
        ("ip (IPv4)", TransformSpec(.ip), false),
        ("ip (IPv6)", TransformSpec(.ip), true),
        ("name", TransformSpec(.name), false),
    ]
    for (label, spec, v6) in cases {
        Benchmark("tokenize \(label), FF1, \(batchSize) per batch") { benchmark, state in
            benchmark.startMeasurement()
            let start = ContinuousClock.now
            let out = try! state.transformer.tokenize(state.column)
            let elapsed = ContinuousClock.now - start
            benchmark.stopMeasurement()
            blackHole(out.output.bytes.count)
            let ns = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
            benchmark.measurement(valuesPerSecond, Int(Double(batchSize) * 1e9 / ns))
        } setup: {
            try TransformState(spec, family6: v6)
        }
    }
}
