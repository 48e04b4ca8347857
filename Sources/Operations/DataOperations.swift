import Audit
import Crypto
import Foundation
import Keyring
import Sealing
public import Tagging
public import Tokenize

/// A tokenize or detokenize request: the job's options and the policy that governs it.
public struct DataRequest: Sendable {
    /// Input, output, format, rejects, batch size, workers, sealing (``TokenizeJob/Options``).
    /// The mode is set by the operation called.
    public var job: TokenizeJob.Options
    /// The policy file (YAML or JSON; docs/policy.md); nil: the built-in default policy.
    public var policyPath: String?
    /// Pipe mode (``PipeJob``): framed CSV batches on stdin and stdout, tagging off; the job's
    /// input and output must be `-`. docs/spark.md.
    public var pipe = false
    /// Who ran it, recorded in the run's audit records as `context.<key>` details (e.g.
    /// `spark.app`, `spark.stage`, `spark.partition`): checked by ``Gateway/parseAuditContext(_:)``.
    public var context: [String: String] = [:]
    /// Pipe mode's descriptors (borrowed, not closed): stdin and stdout unless a caller in
    /// process (a test, the server) hands others.
    public var pipeInputFD: Int32 = 0
    public var pipeOutputFD: Int32 = 1

    public init(job: TokenizeJob.Options = TokenizeJob.Options(), policyPath: String? = nil) {
        self.job = job
        self.policyPath = policyPath
    }
}

/// A retokenize request: a sealed dataset moved to the primary in-use key versions. The input is a
/// sealed frame file (CSV, JSON Lines or Parquet inside) or a Parquet Modular Encryption file; the
/// output is sealed the same way its name says: `*.parquet` PME (fresh data keys under the at-rest
/// key `sealKey`, manifest beside it), anything else sealed frames.
public struct RetokenizeRequest: Sendable {
    /// The sealed dataset written by `tokenize --seal`.
    public var input: String
    /// The new sealed dataset.
    public var output: String
    /// The policy holding the detokenize permission.
    public var policyPath: String
    /// At-rest key name for the output.
    public var sealKey = "datasets"
    public var workers = 1
    /// A PME input's manifest (default `<input>.manifest.json`, as `tokenize --seal` wrote it).
    /// A sealed frame file carries its own.
    public var manifestPath: String?
    /// A PME input's AAD prefix, when the file does not store it (the output is bound to the
    /// same prefix, not stored either).
    public var aadPrefix: [UInt8]?

    public init(input: String, output: String, policyPath: String) {
        self.input = input
        self.output = output
        self.policyPath = policyPath
    }
}

/// A `scan` request (no keys needed).
public struct ScanRequest: Sendable {
    /// File to scan, or `-` for stdin.
    public var path: String
    /// csv or jsonl; nil: from the extension, else sniffed.
    public var format: DataFormat?
    /// Rows sampled from the head of the file.
    public var sampleRows = 2000
    /// A PME file's AAD prefix, when it does not store its own.
    public var aadPrefix: [UInt8]?

    public init(path: String, format: DataFormat? = nil, sampleRows: Int = 2000) {
        self.path = path
        self.format = format
        self.sampleRows = sampleRows
    }
}

extension Gateway {
    /// Tags the input's columns and replaces sensitive values with format-preserving tokens (or
    /// the policy's other transforms), optionally sealing the output. Audited as `tokenize`.
    public func tokenize(_ request: DataRequest) throws -> RunSummary {
        try run(request, .tokenize)
    }

    /// Inverts a tokenize run exactly, as its manifest records; needs the policy's detokenize
    /// permission and PIN. Audited as `detokenize`.
    public func detokenize(_ request: DataRequest) throws -> RunSummary {
        try run(request, .detokenize)
    }

    /// tokenize or detokenize: the job under the request's policy, audited as the mode's name
    /// (the tagger classifies only when tokenizing; detokenize follows the manifest).
    private func run(_ request: DataRequest, _ mode: TokenizeJob.Mode) throws -> RunSummary {
        var options = request.job
        options.mode = mode
        if request.pipe && (options.input != "-" || options.output != "-") {
            throw OperationError(.invalidArgument, "--pipe reads stdin and writes stdout: --in and --out must be - (or absent)")
        }
        let input = [AuditFile(path: request.pipe ? "stdin (pipe)" : absolute(options.input, stream: "stdin"))]
        // The same rules as the CLI's --context, whoever builds the request (names and numbers only).
        if !request.context.isEmpty {
            _ = try Self.parseAuditContext(request.context.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))
        }
        var context: [String: String] = [:]
        for (k, v) in request.context { context["context." + k] = v }
        if request.pipe { context["pipe"] = "on" }
        return try audited(mode.rawValue, inputs: input, details: context) { record in
            record.inputs = input
            let policy = try Self.loadPolicy(request.policyPath)
            let grant = try TokenizeJob.authorize(mode, policy: policy, config: keyring.config)
            if mode == .tokenize && !options.verifyOutput {
                do { try keyring.config.authorizeUnverifiedOutput() } catch let e as KeyringError {
                    throw JobError(.permissionDenied, e.reason)
                }
                record.details["unverifiedOutputGrantedBy"] = keyring.config.loadedFrom
            }
            if let grant { record.details["grantedBy"] = grant.grantSource }
            if request.pipe {
                var po = PipeJob.Options()
                po.mode = mode
                po.batchRows = options.batchRows
                po.manifestPath = options.manifestPath
                po.verifyOutput = options.verifyOutput
                po.inputFD = request.pipeInputFD
                po.outputFD = request.pipeOutputFD
                let s = try PipeJob.run(po, policy: policy, keyring: keyring, authorization: grant)
                record.add(s, input: "-", output: "-", policyPath: request.policyPath)
                record.inputs = [AuditFile(path: "stdin (pipe)", bytes: Int64(s.bytesIn), sha256: s.inputSHA256)]
                record.outputs = [AuditFile(path: "stdout (pipe)", bytes: Int64(s.bytesOut), sha256: s.outputSHA256)]
                if let p = s.pipe { record.details["pipeBatches"] = String(p.batches) }
                return s
            }
            let classify: TokenizeJob.Classifier = mode == .tokenize ? Scan.classifier(policy: policy) : { @Sendable _ in [] }
            let s = try TokenizeJob.run(options, policy: policy, keyring: keyring, classify: classify, authorization: grant)
            record.add(s, input: options.input, output: options.output, policyPath: request.policyPath)
            return s
        }
    }

    /// Moves a sealed dataset's tokens from older in-use key versions to the primary ones (clear
    /// values only in memory); needs the detokenize permission. Audited as `retokenize`.
    public func retokenize(_ request: RetokenizeRequest) throws -> RunSummary {
        var o = TokenizeJob.Options()
        o.mode = .retokenize
        o.input = request.input
        o.output = request.output
        o.workers = request.workers
        o.manifestPath = request.manifestPath
        o.aadPrefix = request.aadPrefix
        var so = TokenizeJob.SealOptions()
        so.keyName = request.sealKey
        so.maxOverheadPercent = 100
        o.seal = so
        return try audited("retokenize", inputs: [AuditFile(path: absolute(request.input, stream: "stdin"))]) { record in
            record.inputs = [auditFile(request.input, stream: "stdin")]
            let policy = try Policy.load(path: request.policyPath)
            let grant = try TokenizeJob.authorize(.retokenize, policy: policy, config: keyring.config)
            record.details["grantedBy"] = grant?.grantSource
            let s = try TokenizeJob.run(o, policy: policy, keyring: keyring, classify: { _ in [] }, authorization: grant)
            record.add(s, input: request.input, output: request.output, policyPath: request.policyPath)
            return s
        }
    }

    /// Classifies the columns of a file's head. Reads data but releases only the classification,
    /// and needs no key, so it is not recorded in the audit log. A Parquet Modular Encryption
    /// file is refused (`encryptedInputRefused`): scanning it is an audited open, ``scan(_:)`` on
    /// a gateway.
    public static func scan(_ request: ScanRequest) throws -> [ColumnClassification] {
        try Scan.file(request.path, format: request.format, sampleRows: request.sampleRows)
    }

    /// Whether `path` is a Parquet Modular Encryption file (magic and footer; no key needed):
    /// scanning it needs the keyring.
    public static func isEncryptedParquet(path: String) -> Bool {
        path != "-" && Sealing.parquetMagic(path: path).encrypted
    }

    /// ``scan(_:)``, also of a Parquet Modular Encryption file: that one is decrypted in memory
    /// (the unwraps, and so the authorization, of `open`) and its clear values sampled, so it is
    /// an audited operation, `scan`, naming the data keys unwrapped. Any other input is scanned
    /// as ``scan(_:)`` does, unrecorded.
    public func scan(_ request: ScanRequest) throws -> [ColumnClassification] {
        guard Self.isEncryptedParquet(path: request.path) else { return try Self.scan(request) }
        return try audited("scan", inputs: [auditFile(request.path, stream: "stdin")]) { record in
            let r = try Scan.encryptedParquet(request.path, sampleRows: request.sampleRows, keyring: keyring, aadPrefix: request.aadPrefix)
            record.inputs = [auditFile(request.path, stream: "stdin")]
            record.keys = []
            record.add(decryptedInput: r.decrypted)
            record.details["sampleRows"] = "\(request.sampleRows)"
            record.details["columns"] = "\(r.columns.count)"
            return r.columns
        }
    }

    /// ``emitPolicy(_:basePolicy:to:)``, also of a Parquet Modular Encryption file (scanned by the
    /// audited ``scan(_:)``).
    public func emitPolicy(_ request: ScanRequest, basePolicy: String?, to path: String) throws -> [ColumnClassification] {
        try Self.writePolicy(try scan(request), request, basePolicy: basePolicy, to: path)
    }

    /// Scans like ``scan(_:)`` and writes a policy naming every column with the rule the scan
    /// would apply (on top of `basePolicy`, or the built-in default), columns to review as
    /// commented choices. Returns the classifications. No key is needed (not recorded).
    public static func emitPolicy(_ request: ScanRequest, basePolicy: String?, to path: String) throws -> [ColumnClassification] {
        try writePolicy(try scan(request), request, basePolicy: basePolicy, to: path)
    }

    private static func writePolicy(
        _ columns: [ColumnClassification], _ request: ScanRequest, basePolicy: String?, to path: String
    ) throws -> [ColumnClassification] {
        let base = try loadPolicy(basePolicy)
        let text = try PolicyWriter.emit(
            columns, base: base, source: request.path == "-" ? "stdin" : request.path,
            baseSource: basePolicy ?? "the built-in default policy")
        try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        return columns
    }

    /// Parses an audit context, `key=value` pairs separated by commas (`spark.app=app-1,spark.stage=3`):
    /// keys of 1–64 characters `a-z A-Z 0-9 . _ -`, values of 1–128 characters `a-z A-Z 0-9 . _ - : /`, at most 16 pairs,
    /// no key twice. The values are names and numbers, never data.
    public static func parseAuditContext(_ text: String) throws -> [String: String] {
        func allowed(_ s: Substring, extra: String, max: Int) -> Bool {
            !s.isEmpty && s.count <= max
                && s.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || extra.unicodeScalars.contains($0)) }
        }
        var out: [String: String] = [:]
        for pair in text.split(separator: ",", omittingEmptySubsequences: false) {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard kv.count == 2, allowed(kv[0], extra: "._-", max: 64), allowed(kv[1], extra: "._-:/", max: 128) else {
                throw OperationError(
                    .invalidArgument,
                    "--context: '\(pair.prefix(80))' is not key=value (key: 1-64 of a-z A-Z 0-9 . _ -; value: 1-128 of a-z A-Z 0-9 . _ - : /)")
            }
            guard out.updateValue(String(kv[1]), forKey: String(kv[0])) == nil else {
                throw OperationError(.invalidArgument, "--context: key '\(kv[0])' given twice")
            }
        }
        guard out.count <= 16 else { throw OperationError(.invalidArgument, "--context: at most 16 pairs") }
        return out
    }

    static func loadPolicy(_ path: String?) throws -> Policy {
        try path.map(Policy.load(path:)) ?? .default
    }
}

extension AuditRecord {
    /// Data keys for a record's details: `role[columns]=<at-rest key version> envelope-sha256:<hex>`,
    /// separated by `; ` (no key bytes: the envelope is the wrapped key, and this is its digest).
    static func describe(_ keys: [DataKeyReport]) -> String {
        keys.map { k in
            "\(k.role)\(k.columns.map { "[" + $0.joined(separator: ",") + "]" } ?? "")=\(k.keyLabel) envelope-sha256:\(k.envelopeSHA256)"
        }.joined(separator: "; ")
    }

    /// A sealed input's data keys, unwrapped to read it in memory (an open): its at-rest key
    /// versions among the record's keys (once each), its kind and envelopes in the details.
    mutating func add(decryptedInput d: DecryptedInputReport) {
        for k in d.dataKeys where !keys.contains(where: { $0.label == k.keyLabel && $0.id == k.keyID }) {
            keys.append(AuditKey(label: k.keyLabel, id: k.keyID, version: k.keyVersion))
        }
        details["inputEncryption"] = d.kind
        details["inputDataKeys"] = Self.describe(d.dataKeys)
    }

    /// Fills the record from a tokenize/detokenize/retokenize run summary.
    mutating func add(_ s: RunSummary, input: String, output: String, policyPath: String?) {
        // Digests computed during the run; only a sealed output is hashed afterwards.
        if let d = s.inputSHA256 {
            inputs = [AuditFile(path: absolute(input, stream: "stdin"), bytes: Int64(s.bytesIn), sha256: d)]
        } else if inputs.first?.sha256 == nil {
            inputs = [auditFile(input, stream: "stdin")]
        }
        if let d = s.outputSHA256 {
            outputs = [AuditFile(path: absolute(output, stream: "stdout"), bytes: Int64(s.bytesOut), sha256: d)]
        } else {
            outputs = [output == "-" ? AuditFile(path: "stdout", bytes: Int64(s.bytesOut)) : auditFile(output, stream: "stdout")]
        }
        rowsIn = s.rowsIn
        rowsOut = s.rowsOut
        rowsRejected = s.rowsRejected
        columns = s.columns.filter { $0.action != "keep" }.map {
            AuditColumn(name: $0.name, tag: $0.tag, transform: $0.transform ?? $0.action, keyLabel: $0.keyLabel, keyID: $0.keyID, keyVersion: $0.keyVersion)
        }
        var seen = Set<String>()
        keys = s.columns.compactMap { c in
            guard let l = c.keyLabel, let v = c.keyVersion, seen.insert(l).inserted else { return nil }
            return AuditKey(label: l, id: c.keyID ?? "", version: v)
        }
        if let d = s.decryptedInput { add(decryptedInput: d) }
        if let sealed = s.sealed {
            keys.append(AuditKey(label: sealed.keyLabel, id: sealed.keyID, version: Int(sealed.keyLabel.split(separator: "/").last?.dropFirst() ?? "") ?? 0))
            details["sealedFileID"] = sealed.fileID
            // Every data key of the output by its envelope (PME: the footer key and the column key).
            if let dk = sealed.dataKeys, !dk.isEmpty { details["dataKeys"] = Self.describe(dk) }
        }
        policyDigest =
            policyPath.flatMap { FileManager.default.contents(atPath: $0) }.flatMap { try? SHA256.hash(Array($0)) }.map(Hex.encode)
            ?? "built-in default policy"
        throughputMBps = s.megabytesPerSecond
        encryptionOverheadPercent = s.encryptionOverheadPercent
        if let r = s.rejectsFile { details["rejectsFile"] = r }
        if let v = s.outputVerified { details["outputScan"] = v ? "on" : "off (--no-verify-output)" }
        let protected = s.columns.compactMap { c in c.protectedFromRecord.map { "\(c.name) from record \($0)" } }
        if !protected.isEmpty { details["newEvidenceProtected"] = protected.joined(separator: "; ") }
    }
}
