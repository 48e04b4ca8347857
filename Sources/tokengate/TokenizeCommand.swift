import ArgumentParser
import Foundation
import Operations
import Tokenize

/// Tokenizer threads by default: one per available core.
let defaultWorkers = max(1, ProcessInfo.processInfo.activeProcessorCount)

/// Options shared by tokenize and detokenize.
struct DataOptions: ParsableArguments {
    @Option(name: .customLong("in"), help: "Input file, or - for stdin.") var input = "-"
    @Option(name: .customLong("out"), help: "Output file (written to a temporary name, renamed on success), or - for stdout.") var output = "-"
    @Option(
        help: "csv, jsonl or parquet (default: from the file extension, else sniffed: the PAR1 magic means Parquet, a first line starting with `{` JSON Lines)."
    ) var format: String?
    @Option(help: "CSV delimiter: one character, or 'tab'.") var delimiter = ","
    @Flag(help: "CSV without a header row (columns are named column1, column2, …).") var noHeader = false
    @Option(help: "Policy file (default: the built-in policy, keys-config/policy.default.yaml).") var policy: String?
    @Option(help: "Where rejected records go (JSON Lines, mode 600: it holds clear values). Without it, any rejected record fails the run.") var rejects:
        String?
    @Flag(help: "Stop at the first rejected record, with its error.") var stopOnReject = false
    @Flag(
        help:
            "tokenize: skip the residual scan of the output (every untokenized value checked for clear card numbers, SSNs and emails; a hit rejects its record or fails the run). Recorded in the summary and the audit record."
    )
    var noVerifyOutput = false
    @Option(help: "Manifest path (tokenize writes it, detokenize reads it; default <file>.manifest.json).") var manifest: String?
    @Option(help: "Summary as JSON to this file.") var summaryJson: String?
    @Option(help: "Rows per batch.") var batchRows = 8192
    @Option(help: "Tokenizer worker threads (default: the available cores).") var workers = defaultWorkers
    @Option(help: "Permission bits of the output file, octal, set when it is complete (default 600: a detokenize output holds clear values).")
    var mode = "600"
    @Flag(
        help:
            "Pipe mode for a long-lived subprocess (a Spark partition task): length-prefixed CSV batches on stdin, each batch's result on stdout as soon as it is done (docs/spark.md). Tagging off: the policy must name every column; detokenize needs --manifest."
    )
    var pipe = false
    @Option(
        help: ArgumentHelp(
            "Context recorded in the run's audit records: key=value pairs separated by commas (names and numbers, never data).",
            discussion: "Example: --context spark.app=app-20261201-0001,spark.stage=3,spark.partition=7", valueName: "pairs"))
    var context: String?

    func validate() throws {
        _ = try fileMode(mode)
        if let context { _ = try auditContext(context) }
        if pipe {
            guard input == "-", output == "-" else { throw ValidationError("--pipe reads stdin and writes stdout: leave out --in and --out") }
            guard format == nil || format == "csv", delimiter == ",", !noHeader else {
                throw ValidationError("--pipe exchanges CSV with a header row and ',' (docs/spark.md): leave out --format, --delimiter and --no-header")
            }
            guard rejects == nil, !stopOnReject else {
                throw ValidationError("--pipe keeps every row: a rejected record fails the run, so --rejects and --stop-on-reject do not apply")
            }
        }
        guard format == nil || DataFormat(rawValue: format!) != nil else { throw ValidationError("--format must be csv, jsonl or parquet") }
        guard delimiter == "tab" || delimiter.utf8.count == 1 else { throw ValidationError("--delimiter must be one character or 'tab'") }
        guard batchRows > 0, workers > 0 else { throw ValidationError("--batch-rows and --workers must be positive") }
    }

    func jobOptions(_ mode: TokenizeJob.Mode) -> TokenizeJob.Options {
        var o = TokenizeJob.Options()
        o.mode = mode
        o.input = input
        o.output = output
        o.format = format.flatMap(DataFormat.init(rawValue:))
        o.delimiter = delimiter == "tab" ? 9 : delimiter.utf8.first!
        if input.lowercased().hasSuffix(".tsv") && delimiter == "," { o.delimiter = 9 }
        o.hasHeader = !noHeader
        o.rejectsPath = rejects
        o.stopOnReject = stopOnReject
        o.batchRows = batchRows
        o.workers = workers
        o.manifestPath = manifest
        o.verifyOutput = !noVerifyOutput
        o.outputMode = (try? fileMode(self.mode)) ?? 0o600
        return o
    }

    func request(_ mode: TokenizeJob.Mode) throws -> DataRequest {
        var r = DataRequest(job: jobOptions(mode), policyPath: policy)
        r.pipe = pipe
        r.context = try context.map(auditContext) ?? [:]
        return r
    }

    /// Runs `body` with a progress line on stderr when it is a terminal.
    func withProgress(_ request: DataRequest, _ body: (DataRequest) throws -> RunSummary) throws -> RunSummary {
        guard !pipe, let line = ProgressLine.forInput(input) else { return try body(request) }
        var r = request
        r.job.progress = { line.update($0) }
        defer { line.finish() }
        return try body(r)
    }

    func report(_ s: RunSummary) throws {
        FileHandle.standardError.write(Data((s.text + "\n").utf8))
        if let summaryJson { try s.json.write(to: URL(fileURLWithPath: summaryJson), options: .atomic) }
    }
}

/// `tokenize --seal` options.
struct SealingOptions: ParsableArguments {
    @Flag(help: "Seal the output (AES-256-GCM frames, data key wrapped by the at-rest key; see docs/sealed-format.md).") var seal = false
    @Option(help: "At-rest key name for --seal.") var sealKey = "datasets"
    @Option(help: "Frame size for --seal (one batch per frame when it fits).") var frameSize = 4 << 20
    @Option(help: "With --seal: fail the run (no output) when sealing takes more than this percentage of it.") var maxEncryptionOverhead = 10.0
    @Option(help: "With --seal and a *.parquet output (PME): bind every module to this AAD prefix (text, e.g. the table's name), stored in the file.")
    var sealAadPrefix: String?
    @Flag(help: "With --seal-aad-prefix: do not store the prefix; every reader must supply it (--aad-prefix).") var sealAadPrefixNotStored = false

    func validate() throws {
        if sealAadPrefix != nil && !seal { throw ValidationError("--seal-aad-prefix needs --seal") }
        if sealAadPrefixNotStored && sealAadPrefix == nil { throw ValidationError("--seal-aad-prefix-not-stored needs --seal-aad-prefix") }
        if let p = sealAadPrefix, p.isEmpty || p.utf8.count > 1024 { throw ValidationError("--seal-aad-prefix is 1 to 1024 bytes") }
    }

    func options() -> TokenizeJob.SealOptions? {
        guard seal else { return nil }
        var s = TokenizeJob.SealOptions()
        s.keyName = sealKey
        s.frameSize = frameSize
        s.maxOverheadPercent = maxEncryptionOverhead
        s.aadPrefix = sealAadPrefix.map { Array($0.utf8) }
        s.storeAADPrefix = !sealAadPrefixNotStored
        return s
    }
}

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Tag sensitive columns and replace them with format-preserving tokens.",
        discussion: """
            Reads CSV, JSON Lines or Parquet, tags columns (see `tokengate scan`), applies the policy's rule per \
            tag or column, and writes the same shape back. Prints a run summary on stderr. A Parquet Modular \
            Encryption input is decrypted in memory with the keyring's at-rest key (the authorization of \
            `open`; the audit record names its data keys). With --seal, an output named *.parquet is PME, \
            any other sealed frames.
            Examples:
              cat feed.csv | tokengate tokenize --format csv > safe.csv
              tokengate tokenize --in Fixtures/feeds/customers.csv --out safe.csv --rejects rejects.jsonl
              tokengate tokenize --in feed.csv --out feed.tgs --seal --max-encryption-overhead 5
              tokengate tokenize --in sealed.parquet --out safe.parquet --seal    # PME in, PME out
              tokengate tokenize --pipe --policy feed.policy.yaml --context spark.app=app-1,spark.partition=0   # docs/spark.md
            """)
    @OptionGroup var data: DataOptions
    @OptionGroup var sealing: SealingOptions
    @Option(help: "A Parquet Modular Encryption input's AAD prefix (text), for a file that does not store its own.") var aadPrefix: String?
    @OptionGroup var keys: KeyringOptions

    func validate() throws {
        if data.pipe && sealing.seal { throw ValidationError("--pipe writes framed CSV batches to stdout: --seal does not apply") }
    }

    func run() throws {
        var request = try data.request(.tokenize)
        request.job.seal = sealing.options()
        request.job.aadPrefix = aadPrefix.map { Array($0.utf8) }
        let gateway = try keys.open()
        try data.report(data.withProgress(request, gateway.tokenize))
    }
}

struct DetokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detokenize",
        abstract: "Turn tokens back into values (needs the policy's detokenize permission and PIN).",
        discussion: """
            Inverts exactly what tokenize did, column by column and key version by key version, as \
            recorded in the manifest tokenize wrote.
            Example:
              TOKENGATE_DETOKENIZE_PIN=… tokengate detokenize --in safe.csv --out clear.csv --policy keys-config/policy.yaml
            """)
    @OptionGroup var data: DataOptions
    @OptionGroup var keys: KeyringOptions

    func run() throws {
        let gateway = try keys.open()
        try data.report(data.withProgress(try data.request(.detokenize), gateway.detokenize))
    }
}

struct RetokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retokenize",
        abstract: "Move a sealed dataset's tokens from older in-use key versions to the primary ones.",
        discussion: """
            Tokenization keys cannot be rewrapped (the tokens are the ciphertext). retokenize opens a \
            sealed dataset written by `tokenize --seal`, inverts each tokenized column with the key \
            version recorded in it, tokenizes again with the primary version and seals the result \
            (clear values exist only in memory). Needs the policy's detokenize permission and PIN.
            The input is a sealed frame file (CSV, JSON Lines or Parquet inside; its manifest inside) \
            or a Parquet Modular Encryption file (its manifest beside it, <file>.manifest.json, or \
            --manifest); a Parquet input is decrypted in memory. An output named *.parquet is PME \
            again, with fresh data keys wrapped by the primary version of --seal-key (every module \
            encrypted anew, untouched columns copied) and its manifest written beside it; any other \
            name is sealed frames.
            Examples:
              tokengate keys rotate in-use/pan
              TOKENGATE_DETOKENIZE_PIN=… tokengate retokenize data/feed.tgs --out data/feed.v2.tgs --policy my-policy.yaml
              TOKENGATE_DETOKENIZE_PIN=… tokengate retokenize data/feed.parquet --out data/feed.v2.parquet --policy my-policy.yaml
            """)
    @Argument(help: "Sealed dataset written by tokenize --seal (sealed frames, or a PME *.parquet).") var path: String
    @Option(name: .customLong("out"), help: "New sealed dataset (*.parquet: PME, else sealed frames).") var output: String
    @Option(help: "A PME input's manifest (default <input>.manifest.json).") var manifest: String?
    @Option(help: "A PME input's AAD prefix (text), for a file that does not store its own; the output is bound to it too, not stored.")
    var aadPrefix: String?
    @Option(help: "Policy file with the detokenize permission.") var policy: String
    @Option(help: "At-rest key for the output.") var sealKey = "datasets"
    @Option(help: "Tokenizer worker threads (default: the available cores).") var workers = defaultWorkers
    @OptionGroup var keys: KeyringOptions

    func run() throws {
        var request = RetokenizeRequest(input: path, output: output, policyPath: policy)
        request.sealKey = sealKey
        request.workers = workers
        request.manifestPath = manifest
        request.aadPrefix = aadPrefix.map { Array($0.utf8) }
        let s = try keys.open().retokenize(request)
        FileHandle.standardError.write(Data((s.text + "\n").utf8))
    }
}

/// Parses a `--context` value (``Gateway/parseAuditContext(_:)``) as an argument error.
func auditContext(_ text: String) throws -> [String: String] {
    do { return try Gateway.parseAuditContext(text) } catch let e as OperationError { throw ValidationError(e.reason) }
}

/// Parses a `--mode` value: octal permission bits, at most 777 (no set-id or sticky bits).
func fileMode(_ text: String) throws -> UInt32 {
    guard !text.isEmpty, text.count <= 4, let m = UInt32(text, radix: 8), m <= 0o777 else {
        throw ValidationError("--mode must be octal permission bits, 000 to 777 (e.g. 600, 640)")
    }
    return m
}
