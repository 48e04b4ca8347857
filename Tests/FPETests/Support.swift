import Crypto
import Foundation
import TestSupport

@testable import FPE

func hexBytes(_ s: String) -> [UInt8] {
    precondition(s.utf8.count % 2 == 0, "odd hex length")
    var out: [UInt8] = []
    var it = s.makeIterator()
    while let a = it.next(), let b = it.next() { out.append(UInt8(String([a, b]), radix: 16)!) }
    return out
}

/// Repository root, from this file's location (Tests/FPETests/Support.swift).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// One known-answer case of Fixtures/fpe/*.json.
struct VectorCase: Codable, Sendable, CustomStringConvertible {
    let name: String
    let source: String
    let keyHex: String
    let radix: Int
    let alphabet: String
    let tweakHex: String
    let plaintext: String
    let ciphertext: String
    var description: String { name }
}

struct VectorFile: Codable, Sendable {
    let algorithm: String
    let description: String
    let cases: [VectorCase]

    static func load(_ name: String) throws -> VectorFile {
        let url = repositoryRoot.appendingPathComponent("Fixtures/fpe/\(name)")
        return try JSONDecoder().decode(VectorFile.self, from: Data(contentsOf: url))
    }

    /// The cases of a fixture, for test arguments (a missing or malformed fixture yields no cases,
    /// which `fixturesLoad` reports as a failure).
    static func cases(_ name: String) -> [VectorCase] { (try? load(name).cases) ?? [] }
}

/// AES-ECB that records the number of blocks of each call, and can be told to fail.
final class RecordingCipher: BatchBlockCipher {
    let inner: AESECB
    var calls: [Int] = []
    var failOnCall: Int?

    init(key: [UInt8]) throws {
        inner = try key.withUnsafeBytes { try AESECB(key: $0) }
    }

    struct Failure: Error {}

    func encryptBlocks(_ blocks: UnsafeMutableRawBufferPointer) throws {
        calls.append(blocks.count / 16)
        if let n = failOnCall, calls.count == n { throw Failure() }
        try inner.encryptBlocks(blocks)
    }
}

func makeCipher(_ algorithm: FPEAlgorithm, keyHex: String, radix: Int) throws -> FPECipher {
    try hexBytes(keyHex).withUnsafeBytes { try FPECipher(algorithm: algorithm, key: $0, radix: radix) }
}

func randomValue(length: Int, radix: Int, using rng: inout SplitMix64) -> [UInt16] {
    (0..<length).map { _ in UInt16(rng.next() % UInt64(radix)) }
}
