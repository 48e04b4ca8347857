// swift-tools-version: 6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "tokengate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tokengate", targets: ["tokengate"]),
        // The operations core: the one audited entry to every operation (what the CLI and the
        // server call). Keys are reachable only through it: Keyring's initializers are `package`.
        .library(name: "Tokengate", targets: ["Operations"]),
        // The FPE engine alone (with Crypto), for the Benchmarks package.
        .library(name: "FPE", targets: ["FPE"]),
        // CSV / JSON Lines readers and writers with the Batch type, for the Benchmarks package.
        .library(name: "Formats", targets: ["Formats", "Columns"]),
        // The tokenize job (reader → tagger → transforms → writer), for the Benchmarks package.
        .library(name: "Tokenize", targets: ["Tokenize"]),
        // The native Parquet reader and writer (with Columns and Formats), for the Fuzz package.
        .library(name: "Parquet", targets: ["Parquet"]),
        // The token transforms (with Columns), for the Benchmarks package.
        .library(name: "Transforms", targets: ["Transforms"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        // tokengate serve: HTTP/1.1 (SwiftNIO), TLS (swift-nio-ssl), Prometheus metrics.
        // (Hummingbird is not used: its swift-nio-extras dependency brings swift-crypto, whose
        // module `Crypto` clashes with tokengate's own Crypto target in the package graph.)
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // C libraries from Debian -dev packages.
        .systemLibrary(
            name: "CPKCS11",
            pkgConfig: "p11-kit-1",
            providers: [.apt(["libp11-kit-dev"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(name: "CSnappy", pkgConfig: "snappy", providers: [.apt(["libsnappy-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CLz4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CBrotli", pkgConfig: "libbrotlienc", providers: [.apt(["libbrotli-dev"])]),
        // Stages, one module each (see docs/ARCHITECTURE.md).
        // System calls (descriptors, files, sockets, EINTR, errno) and the shared error shape.
        .target(name: "SystemIO", dependencies: ["CLinux"], swiftSettings: strict),
        // Linux calls the Glibc module does not export (sync_file_range).
        .systemLibrary(name: "CLinux", path: "Sources/CLinux"),
        .target(name: "HSM", dependencies: ["CPKCS11", "Crypto", "SystemIO"], swiftSettings: strict),
        .target(name: "Crypto", dependencies: ["COpenSSL", "SystemIO"], swiftSettings: strict),
        .target(
            name: "Keyring",
            dependencies: ["HSM", "Crypto", "SystemIO", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict
        ),
        .target(name: "FPE", dependencies: ["Crypto", "SystemIO"], swiftSettings: strict),
        .target(name: "Columns", swiftSettings: strict),
        .target(name: "Formats", dependencies: ["Columns", "SystemIO"], swiftSettings: strict),
        .target(name: "Tagging", dependencies: ["Columns", "SystemIO"], swiftSettings: strict),
        // Native Parquet reader and writer (Thrift compact footer, pages, encodings, codecs).
        .target(
            name: "Parquet", dependencies: ["CSnappy", "CZstd", "CZlib", "CLz4", "CBrotli", "Columns", "Crypto", "Formats", "SystemIO"], swiftSettings: strict),
        .target(name: "Transforms", dependencies: ["FPE", "Columns", "Tagging", "Crypto", "SystemIO"], swiftSettings: strict),
        .target(name: "Pipeline", dependencies: ["SystemIO"], swiftSettings: strict),
        .target(name: "Sealing", dependencies: ["Crypto", "Keyring", "Parquet", "SystemIO"], swiftSettings: strict),
        // In-transit streams over TCP, on Sealing; the receive side is a byte-fed state machine.
        .target(name: "Transit", dependencies: ["Sealing", "Keyring", "Crypto", "SystemIO"], swiftSettings: strict),
        .target(name: "Audit", dependencies: ["Keyring", "HSM", "Crypto", "SystemIO"], swiftSettings: strict),
        .target(
            name: "Tokenize",
            dependencies: [
                "FPE", "Keyring", "Transforms", "Columns", "Formats", "Parquet", "Tagging", "Crypto", "Pipeline", "Sealing", "SystemIO",
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strict
        ),
        // One audited, authorized entry per operation; the CLI and the server call only this.
        .target(
            name: "Operations",
            dependencies: ["Tokenize", "Tagging", "Keyring", "Parquet", "Sealing", "Transit", "Audit", "Crypto", "SystemIO", "Columns", "Transforms"],
            swiftSettings: strict
        ),
        // tokengate serve: Vault Transform compatible HTTP API, routes → Operations.
        .target(
            name: "Server",
            dependencies: [
                "Operations", "Keyring", "HSM", "Tokenize", "Transforms", "Columns", "Crypto", "SystemIO",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "tokengate",
            dependencies: [
                "Operations", "Server", "Keyring", "Crypto", "FPE", "Tokenize", "Tagging", "Sealing", "SystemIO",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        // Creates throwaway SoftHSM2 tokens for the tests (real module, real tokens).
        .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(name: "CryptoTests", dependencies: ["Crypto"], swiftSettings: strict),
        .testTarget(name: "HSMTests", dependencies: ["HSM", "Crypto", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "KeyringTests", dependencies: ["Keyring", "HSM", "Crypto", "SystemIO", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "TokenizationTests",
            dependencies: ["Keyring", "HSM", "Crypto", "FPE", "Transforms", "Columns", "TestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "TokenizeTests",
            dependencies: ["Tokenize", "Keyring", "Columns", "Transforms", "Crypto", "Sealing", "Audit", "TestSupport"],
            swiftSettings: strict
        ),
        .testTarget(name: "SealingTests", dependencies: ["Sealing", "Keyring", "Crypto", "HSM", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "TransitTests", dependencies: ["Transit", "Sealing", "SystemIO", "Keyring", "Crypto", "HSM", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "AuditTests", dependencies: ["Audit", "Keyring", "HSM", "Crypto", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "OperationsTests",
            dependencies: ["Operations", "Audit", "Keyring", "Sealing", "Tokenize", "Crypto", "TestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ServerTests",
            dependencies: ["Server", "Operations", "Audit", "Keyring", "Tokenize", "Crypto", "TestSupport"],
            swiftSettings: strict
        ),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline"], swiftSettings: strict),
        .testTarget(name: "TransformsTests", dependencies: ["Transforms", "FPE", "Crypto", "Columns", "Tagging", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "FormatsTests", dependencies: ["Formats", "Columns", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "ParquetTests", dependencies: ["Parquet", "Columns", "Crypto", "SystemIO", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "TaggingTests", dependencies: ["Tagging", "Columns"], swiftSettings: strict),
        .testTarget(name: "ColumnsTests", dependencies: ["Columns"], swiftSettings: strict),
        .testTarget(
            name: "FPETests",
            dependencies: ["FPE", "Crypto", "TestSupport"],
            swiftSettings: strict
        ),
    ],
    swiftLanguageModes: [.v6]
)
