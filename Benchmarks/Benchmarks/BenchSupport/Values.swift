/// Shapes shared by the transform benchmarks' inputs.
public enum BenchValues {
    /// `n` random decimal digits.
    public static func digits(_ n: Int, _ rng: inout SplitMix64) -> String {
        String((0..<n).map { _ in Character(String(rng.next() % 10)) })
    }

    /// `body` followed by the digit that makes it pass the Luhn check.
    public static func withLuhn(_ body: String) -> String {
        for d in 0...9 {
            let s = body + "\(d)"
            var sum = 0
            for (i, c) in s.utf8.reversed().enumerated() {
                var x = Int(c - 0x30)
                if i % 2 == 1 { x = x * 2 > 9 ? x * 2 - 9 : x * 2 }
                sum += x
            }
            if sum % 10 == 0 { return s }
        }
        fatalError("no Luhn digit for \(body)")
    }
}
