#!/usr/bin/env bash
# The formatter check run by the test command: swift-format from the Swift toolchain, with the
# committed configuration (.swift-format). Fix findings with:
#   swift format -i -r Package.swift Sources Tests Benchmarks/Package.swift Benchmarks/Benchmarks Fuzz/Package.swift Fuzz/Sources
set -euo pipefail
cd "$(dirname "$0")/.."
swift format lint --strict -r Package.swift Sources Tests Benchmarks/Package.swift Benchmarks/Benchmarks Fuzz/Package.swift Fuzz/Sources
echo "format: swift format lint passed"
