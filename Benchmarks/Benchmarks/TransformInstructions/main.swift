// Instructions per value of a transform, counted rather than timed (a shared 2-core machine makes
// timings of a 10 % change unreadable; callgrind's instruction count is the same on every run):
//
//   TransformInstructions KIND ITERATIONS [VERSION]
//
// tokenizes 8192 values of KIND (card: Luhn-valid 16-digit numbers; email: four domains; ssn:
// valid dashed SSNs) ITERATIONS times, after a warm-up tokenize and a detokenize that must give
// the input back, and prints a hash of the tokens (a change of the engine must not change them).
// `scripts/transform-instructions.sh` runs it under callgrind with 1 and 5 iterations and prints
// the difference per value.
import BenchSupport
import Columns
import Crypto
import FPE
import Foundation
import Transforms

let digits = BenchValues.digits
let withLuhn = BenchValues.withLuhn

let args = CommandLine.arguments
guard args.count >= 3, let iterations = Int(args[2]), let kind = TransformKind(rawValue: args[1]), ["card", "email", "ssn"].contains(args[1])
else {
    print("usage: TransformInstructions card|email|ssn ITERATIONS [VERSION]")
    exit(2)
}
let count = 8192
var rng = SplitMix64(state: 42)
let values: [String] = (0..<count).map { _ in
    switch kind {
    case .card: withLuhn(String((["4", "51", "37", "6011"][rng.below(4)] + digits(15, &rng)).prefix(15)))
    case .email: "user" + digits(1 + rng.below(5), &rng) + ".name@" + ["example.com", "mail.example.org", "corp.example.net", "example.co.uk"][rng.below(4)]
    default: "\(100 + rng.below(600))-\(10 + rng.below(89))-\(1000 + rng.below(8999))"
    }
}
let key = [UInt8]((0..<32).map { UInt8($0) &* 31 &+ 7 })
let aes = try key.withUnsafeBytes { try AESECB(key: $0) }
var spec = TransformSpec(kind)
if args.count > 3, let v = Int(args[3]) { spec.version = v }
let transformer = try TokenTransformer(
    spec: spec, algorithm: .ff1, cipher: aes, tweak: TokenTransformer.tweak(domain: kind.rawValue, column: "col", algorithm: .ff1))
let column = ByteColumn(values)
let (tokens, rejects) = try transformer.tokenize(column)
guard rejects.isEmpty, try transformer.detokenize(tokens).output.bytes == column.bytes else {
    print("round trip failed")
    exit(1)
}
var hash: UInt64 = 0xCBF2_9CE4_8422_2325
for b in tokens.bytes { hash = (hash ^ UInt64(b)) &* 0x100_0000_01B3 }
var sink = 0
for _ in 0..<iterations { sink &+= try transformer.tokenize(column).output.bytes.count }
print("\(kind.rawValue) v\(spec.version): \(count * iterations) values, token hash \(String(hash, radix: 16)), \(sink) bytes")
