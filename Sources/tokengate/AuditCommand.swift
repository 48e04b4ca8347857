import ArgumentParser
import Foundation
import Operations

/// `--log PATH`, shared by the audit subcommands.
struct AuditLogOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Audit log (JSON Lines).",
            discussion:
                "Default: $TOKENGATE_AUDIT_LOG, else .dev/audit/audit.jsonl next to the keyring config's folder (keys-config/../.dev/audit/audit.jsonl).",
            valueName: "path"))
    var log: String?

    @Option(name: .long, help: ArgumentHelp("Name of the audit key (audit/<name>).", valueName: "name"))
    var auditKey: String = "log"

    func selection(positional: String? = nil) -> AuditLogSelection {
        AuditLogSelection(path: positional ?? log, keyName: auditKey)
    }
}

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Verify, search and trace the tamper-evident audit log.",
        discussion: """
            Every command that touches data or keys appends one record (no values, tokens, key bytes \
            or PINs): time, operation, user and host, files with sizes and SHA-256 digests, rows, \
            columns, keys, policy digest and outcome. Each record carries an HMAC-SHA-256, computed in \
            the HSM with the audit key, over the previous record's MAC and its own canonical bytes.
            """,
        subcommands: [Verify.self, Show.self, Lineage.self]
    )

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the hash chain; report the first edited, deleted, inserted, reordered or incomplete record.",
            discussion: "Example: tokengate audit verify .dev/audit/audit.jsonl\nExit status 1 when the chain is broken.")
        @OptionGroup var keys: KeyringOptions
        @OptionGroup var options: AuditLogOptions
        @Argument(help: "Audit log (overrides --log).") var file: String?
        @Flag(help: "Print JSON: {records, intact, firstBroken, problem, reason, unclosed, summary}") var json = false

        func run() throws {
            let (path, v) = try keys.open().verifyAudit(options.selection(positional: file))
            if json {
                struct Out: Encodable {
                    let log: String
                    let records: Int
                    let intact: Bool
                    let firstBroken: Int?
                    let problem: String?
                    let reason: String?
                    let unclosed: [Int]
                    let summary: String
                }
                let enc = JSONEncoder()
                enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(
                    String(
                        decoding: try enc.encode(
                            Out(
                                log: path, records: v.records, intact: v.intact, firstBroken: v.firstBroken,
                                problem: v.problem?.rawValue, reason: v.reason, unclosed: v.unclosed, summary: v.summary)),
                        as: UTF8.self))
            } else {
                print("\(path): \(v.summary)")
            }
            if !v.intact { throw ExitCode(1) }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List audit records, filtered by operation, key, dataset path or time.",
            discussion: """
                Examples:
                  tokengate audit show --operation tokenize --since 2026-11-01
                  tokengate audit show --key in-use/pan --json
                  tokengate audit show --path customers.csv
                """)
        @OptionGroup var keys: KeyringOptions
        @OptionGroup var options: AuditLogOptions
        @Option(help: "Only this operation (tokenize, seal, keys rotate, …).") var operation: String?
        @Option(name: .customLong("key"), help: "Only records using a key whose label contains this (e.g. in-use/pan).") var keyLabel: String?
        @Option(help: "Only records with an input or output path containing this (or this exact SHA-256).") var path: String?
        @Option(help: "Only records at or after this time (ISO 8601, or YYYY-MM-DD, UTC).") var since: String?
        @Option(help: "Only records at or before this time (ISO 8601, or YYYY-MM-DD, UTC).") var until: String?
        @Option(help: "Only records whose run context holds these key=value pairs (e.g. spark.app=app-1,spark.stage=3).") var context: String?
        @Flag(help: "Print the matching records as JSON Lines.") var json = false

        func run() throws {
            func date(_ s: String?, _ name: String) throws -> Date? {
                guard let s else { return nil }
                guard let d = Gateway.parseAuditTime(s) else { throw ValidationError("--\(name): not an ISO 8601 time: \(s)") }
                return d
            }
            var details: [String: String] = [:]
            let pairs: [String: String] = try context.map(auditContext) ?? [:]
            for (k, v) in pairs { details["context." + k] = v }
            let query = AuditQuery(
                operation: operation, path: path, keyLabel: keyLabel,
                since: try date(since, "since"), until: try date(until, "until"), details: details)
            let recs = try keys.open().auditRecords(options.selection(), matching: query)
            if json {
                for r in recs { print(String(decoding: try r.line(), as: UTF8.self)) }
                return
            }
            printTable(["SEQ", "TIME", "OPERATION", "OUTCOME", "USER@HOST", "INPUTS", "OUTPUTS", "ROWS", "KEYS"], recs.map(row))
            print("\(recs.count) record(s)")
        }
    }

    struct Lineage: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Trace a file back to its source feeds, policy and keys, and forward to what read it; or a Spark job's partitions.",
            discussion: """
                Examples:
                  tokengate audit lineage /data/sealed/customers.tok.csv.sealed
                  tokengate audit lineage --spark-app app-20261201-0001   # every partition run of the job, by operation and stage
                """)
        @OptionGroup var keys: KeyringOptions
        @OptionGroup var options: AuditLogOptions
        @Argument(help: "The file (matched by path, or by SHA-256 if it exists).") var file: String?
        @Option(help: "Group the partition runs of this Spark application id (context spark.app) instead of tracing a file.") var sparkApp: String?
        @Flag(help: "Print JSON: {file, sha256, upstream, downstream}, or with --spark-app {app, groups}") var json = false

        func validate() throws {
            guard (file == nil) != (sparkApp == nil) else { throw ValidationError("give a file or --spark-app, not both") }
        }

        func run() throws {
            guard let file else { return try sparkLineage(sparkApp!) }
            let l = try keys.open().auditLineage(of: file, in: options.selection())
            if json {
                let enc = JSONEncoder()
                enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try enc.encode(l), as: UTF8.self))
                return
            }
            print("\(l.file)\(l.sha256.map { " sha256=\($0)" } ?? "")")
            print("upstream (\(l.upstream.count) record(s), newest first):")
            for r in l.upstream { print("  " + describe(r)) }
            print("source feeds: " + (l.sources.isEmpty ? "-" : l.sources.map(\.path).joined(separator: ", ")))
            print("policies: " + (l.policies.isEmpty ? "-" : l.policies.joined(separator: ", ")))
            print("keys: " + (l.keys.isEmpty ? "-" : l.keys.map { "\($0.label) (id=\($0.id))" }.joined(separator: ", ")))
            print("downstream (\(l.downstream.count) record(s)):")
            for r in l.downstream { print("  " + describe(r)) }
            if l.upstream.isEmpty && l.downstream.isEmpty { print("no record mentions this file") }
        }

        /// A Spark job's runs grouped by operation and stage, one line per partition run.
        func sparkLineage(_ app: String) throws {
            let recs = try keys.open().auditRecords(options.selection(), matching: AuditQuery(details: ["context.spark.app": app]))
            let groups = SparkRunGroup.group(recs)
            if json {
                struct Out: Encodable {
                    let app: String
                    let groups: [SparkRunGroup]
                }
                let enc = JSONEncoder()
                enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try enc.encode(Out(app: app, groups: groups)), as: UTF8.self))
                return
            }
            print("spark application \(app): \(groups.count) operation/stage group(s)")
            for g in groups {
                print(
                    "  \(g.operation) stage \(g.stage): \(g.runs.count) partition run(s) — \(g.succeeded) success, \(g.failed) failure, \(g.unclosed) never closed; rows \(g.rowsIn) in, \(g.rowsOut) out"
                )
                for r in g.runs {
                    let rows = r.rowsIn.map { " rows \($0) in, \(r.rowsOut ?? 0) out" } ?? ""
                    print(
                        "    partition \(r.partition) attempt \(r.attempt): \(r.outcome) #\(r.started.map(String.init) ?? "?")→#\(r.closed.map(String.init) ?? "-")\(rows)\(r.error.map { " — \($0)" } ?? "")"
                    )
                }
            }
            if groups.isEmpty { print("no record carries context spark.app=\(app)") }
        }

        func describe(_ r: AuditEntry) -> String {
            "#\(r.sequence) \(r.time) \(r.operation): \(r.inputs.map(\.path).joined(separator: ", ")) → \(r.outputs.map(\.path).joined(separator: ", "))"
        }
    }
}

/// The runs of one operation in one Spark stage: each partition run's started record and the
/// outcome record that closed it (none: the process died).
struct SparkRunGroup: Encodable {
    struct Run: Encodable {
        var partition: String
        var attempt: String
        var outcome: String
        var started: Int?
        var closed: Int?
        var rowsIn: Int?
        var rowsOut: Int?
        var error: String?
    }
    var operation: String
    var stage: String
    var runs: [Run]
    var succeeded: Int { runs.filter { $0.outcome == "success" }.count }
    var failed: Int { runs.filter { $0.outcome == "failure" }.count }
    var unclosed: Int { runs.filter { $0.outcome == "started" }.count }
    var rowsIn: Int { runs.reduce(0) { $0 + ($1.rowsIn ?? 0) } }
    var rowsOut: Int { runs.reduce(0) { $0 + ($1.rowsOut ?? 0) } }

    enum CodingKeys: String, CodingKey { case operation, stage, runs, succeeded, failed, unclosed, rowsIn, rowsOut }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(operation, forKey: .operation)
        try c.encode(stage, forKey: .stage)
        try c.encode(runs, forKey: .runs)
        try c.encode(succeeded, forKey: .succeeded)
        try c.encode(failed, forKey: .failed)
        try c.encode(unclosed, forKey: .unclosed)
        try c.encode(rowsIn, forKey: .rowsIn)
        try c.encode(rowsOut, forKey: .rowsOut)
    }

    static func group(_ records: [AuditEntry]) -> [SparkRunGroup] {
        let outcomes = Dictionary(records.compactMap { r in r.startedRecord.map { ($0, r) } }, uniquingKeysWith: { a, _ in a })
        var groups: [String: SparkRunGroup] = [:]
        for s in records where s.outcome == .started {
            let closing = outcomes[s.sequence]
            let stage = s.details["context.spark.stage"] ?? "-"
            let key = s.operation + "\u{0}" + stage
            let run = Run(
                partition: s.details["context.spark.partition"] ?? "-", attempt: s.details["context.spark.attempt"] ?? "-",
                outcome: closing?.outcome.rawValue ?? "started", started: s.sequence, closed: closing?.sequence, rowsIn: closing?.rowsIn,
                rowsOut: closing?.rowsOut, error: closing?.error)
            groups[key, default: SparkRunGroup(operation: s.operation, stage: stage, runs: [])].runs.append(run)
        }
        return groups.values.sorted { ($0.stage, $0.operation) < ($1.stage, $1.operation) }.map { g in
            var g = g
            g.runs.sort { (Int($0.partition) ?? -1, $0.attempt) < (Int($1.partition) ?? -1, $1.attempt) }
            return g
        }
    }
}

private func row(_ r: AuditEntry) -> [String] {
    let rows = [r.rowsIn.map { "in=\($0)" }, r.rowsOut.map { "out=\($0)" }, r.rowsRejected.map { "rejected=\($0)" }].compactMap { $0 }
    return [
        String(r.sequence), r.time, r.operation, r.outcome.rawValue + (r.error.map { ": \($0)" } ?? ""), "\(r.user)@\(r.host)",
        r.inputs.map(\.path).joined(separator: ",").ifEmpty("-"), r.outputs.map(\.path).joined(separator: ",").ifEmpty("-"),
        rows.joined(separator: " ").ifEmpty("-"), r.keys.map { "\($0.label)" }.joined(separator: ",").ifEmpty("-"),
    ]
}

extension String {
    fileprivate func ifEmpty(_ s: String) -> String { isEmpty ? s : self }
}
