/// A deterministic generator (SplitMix64, Steele, Lea & Flood 2014) for benchmark inputs: the same
/// seed gives the same feed or batch on every run and machine. The one copy in the Benchmarks
/// package (the main package's tests have theirs in Tests/TestSupport; the algorithm and constants
/// are the same). Not for anything secret.
public struct SplitMix64: RandomNumberGenerator {
    public var state: UInt64

    @inlinable
    public init(state: UInt64) { self.state = state }

    @inlinable
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `next() % n` (the feeds' field picker; the modulo bias is irrelevant here).
    @inlinable
    public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}
