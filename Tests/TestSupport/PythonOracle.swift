import Foundation

/// The test oracles in the project's virtual environment (`.venv`, made by scripts/setup.sh):
/// pyarrow, duckdb and fastparquet behind the scripts in scripts/parquet/. A missing
/// environment fails the test with what to run — it never skips.
public enum PythonOracle {
    /// The repository root (this file is Tests/TestSupport/PythonOracle.swift).
    public static let root: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    public static var python: String { root + "/.venv/bin/python" }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// What a script printed, and its exit status.
    public struct Output: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// Runs `scripts/parquet/<script>` with `args`; the output whatever the exit status.
    public static func run(_ script: String, _ args: [String]) throws -> Output {
        try run(path: "scripts/parquet/" + script, args)
    }

    /// Runs the script at `path` (relative to the repository root) with `args`; the output
    /// whatever the exit status.
    public static func run(path: String, _ args: [String]) throws -> Output {
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw Failure(description: "no test oracles at \(python): run `bash scripts/setup.sh` (it makes .venv with pyarrow, duckdb, fastparquet)")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = [root + "/" + path] + args
        p.currentDirectoryURL = URL(fileURLWithPath: root)
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read both pipes while the script runs (a full pipe would block it).
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return Output(
            status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }

    /// The Parquet interop corpus (scripts/parquet/make_corpus.py: pyarrow over every codec ×
    /// page version × dictionary setting, plus files from fastparquet and duckdb), made once per
    /// test process: its folder and file names.
    public static let corpus: Result<Corpus, Failure> = {
        let dir = NSTemporaryDirectory() + "tokengate-parquet-corpus-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        do {
            try check("make_corpus.py", [dir])
            let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/corpus.json"))
            guard let list = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
                return .failure(Failure(description: "corpus.json is not a list"))
            }
            return .success(Corpus(dir: dir, files: list.compactMap { $0["file"] as? String }))
        } catch let e as Failure {
            return .failure(e)
        } catch {
            return .failure(Failure(description: "\(error)"))
        }
    }()

    public struct Corpus: Sendable {
        public var dir: String
        public var files: [String]
    }

    /// Runs a script that must succeed; its standard output.
    @discardableResult
    public static func check(_ script: String, _ args: [String]) throws -> String {
        let r = try run(script, args)
        guard r.status == 0 else {
            throw Failure(description: "\(script) \(args.joined(separator: " ")) exited \(r.status): \(r.stderr)\(r.stdout.suffix(2000))")
        }
        return r.stdout
    }
}
