// swift-tools-version: 6.1
import PackageDescription

// Engine benchmarks for tokengate's FPE module (package-benchmark). A separate package so the
// main package does not depend on the benchmark tooling. Run from this directory:
//   swift package --allow-writing-to-package-directory benchmark
let package = Package(
    name: "TokengateBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "tokengate", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // What the benchmark executables share (the deterministic input generator).
        .target(name: "BenchSupport", path: "Benchmarks/BenchSupport"),
        .executableTarget(
            name: "FPEBenchmarks",
            dependencies: [
                "BenchSupport",
                .product(name: "FPE", package: "tokengate"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/FPEBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "CustodyBenchmarks",
            dependencies: [
                .product(name: "Tokengate", package: "tokengate"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/CustodyBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "FormatsBenchmarks",
            dependencies: [
                "BenchSupport",
                .product(name: "Formats", package: "tokengate"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/FormatsBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "TokenizeBenchmarks",
            dependencies: [
                .product(name: "Tokenize", package: "tokengate"),
                .product(name: "Tokengate", package: "tokengate"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/TokenizeBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Not a package-benchmark target: counted under callgrind (scripts/transform-instructions.sh).
        .executableTarget(
            name: "TransformInstructions",
            dependencies: [
                "BenchSupport",
                .product(name: "Transforms", package: "tokengate"),
                .product(name: "FPE", package: "tokengate"),
            ],
            path: "Benchmarks/TransformInstructions"
        ),
        .executableTarget(
            name: "TransformBenchmarks",
            dependencies: [
                "BenchSupport",
                .product(name: "Transforms", package: "tokengate"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/TransformBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "ParquetBenchmarks",
            dependencies: [
                .product(name: "Tokenize", package: "tokengate"),
                .product(name: "Tokengate", package: "tokengate"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/ParquetBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "SealingBenchmarks",
            dependencies: [
                .product(name: "Tokengate", package: "tokengate"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/SealingBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
