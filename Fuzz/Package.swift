// swift-tools-version: 6.1
import PackageDescription

// libFuzzer harnesses for tokengate's parsers and verifiers. A separate package (like Benchmarks/)
// so that `swift build` / `swift test` at the root never build it. Build and run with
// scripts/fuzz.sh, which passes `-sanitize=fuzzer,address` to swiftc (see Fuzz/README.md).
let harnesses: [(name: String, dependencies: [Target.Dependency])] = [
    ("FuzzCSV", ["ReaderChecks", .product(name: "Formats", package: "tokengate")]),
    ("FuzzJSONL", ["ReaderChecks", .product(name: "Formats", package: "tokengate")]),
    ("FuzzSealed", ["FuzzSupport", .product(name: "Tokengate", package: "tokengate")]),
    ("FuzzAudit", ["FuzzSupport", .product(name: "Tokengate", package: "tokengate")]),
    ("FuzzPolicy", ["FuzzSupport", .product(name: "Tokenize", package: "tokengate")]),
    ("FuzzParquet", ["FuzzSupport", .product(name: "Parquet", package: "tokengate"), .product(name: "Formats", package: "tokengate")]),
]

let package = Package(
    name: "TokengateFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "tokengate", path: "..")
    ],
    targets: [
        // What the harnesses share: checks that abort, byte edits, a throwaway keyring.
        .target(name: "FuzzSupport", dependencies: [.product(name: "Tokengate", package: "tokengate")]),
        // The readers' accounting checks (CSV and JSON Lines harnesses).
        .target(name: "ReaderChecks", dependencies: [.product(name: "Formats", package: "tokengate")]),
    ]
        + harnesses.map { .executableTarget(name: $0.name, dependencies: $0.dependencies) },
    swiftLanguageModes: [.v6]
)
