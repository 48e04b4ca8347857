import Columns
import Formats
import Keyring
import Pipeline
import Transforms

/// A batch on its way through the pipeline, with the records set aside so far.
struct JobUnit: Sendable {
    var batch: Batch
    var readRejects: [RowReject]
    var valueRejects: [ValueRejectRow]
}

/// A row a column's rule could not take: its record number, the column, why, and the row's
/// source values (for the rejects file).
struct ValueRejectRow: Sendable {
    var record: Int
    var column: String
    var reason: String
    var values: [String: String]
}

/// The transform stage: one per worker thread, made there by the pipeline's worker factory, so
/// its processors (scratch buffers, cipher contexts, HSM sessions) are never shared.
struct BatchTransform {
    private let processors: [String: Processor]
    private let mode: TokenizeJob.Mode
    private let dropNames: Set<String>

    init(plan: JobPlan, policy: Policy, keyring: Keyring) throws {
        var processors: [String: Processor] = [:]
        for p in plan.active {
            if plan.mode == .retokenize {
                processors[p.name] =
                    p.rule.action == .embedded
                    ? .embeddedRekey(
                        try EmbeddedProcessor(column: p.name, policy: policy, keyring: keyring, keyVersions: p.embeddedKeyVersions),
                        try EmbeddedProcessor(column: p.name, policy: policy, keyring: keyring))
                    : .rekey(
                        try ColumnProcessor(column: p.name, rule: p.rule, policy: policy, keyring: keyring, keyVersion: p.keyVersion),
                        try ColumnProcessor(column: p.name, rule: p.rule, policy: policy, keyring: keyring, keyVersion: nil))
                continue
            }
            processors[p.name] =
                p.rule.action == .embedded
                ? .embedded(try EmbeddedProcessor(column: p.name, policy: policy, keyring: keyring, keyVersions: p.embeddedKeyVersions))
                : .column(try ColumnProcessor(column: p.name, rule: p.rule, policy: policy, keyring: keyring, keyVersion: p.keyVersion))
        }
        self.processors = processors
        mode = plan.mode
        dropNames = plan.dropNames
    }

    /// Transforms one batch and drops the columns the rules drop.
    func run(_ unit: JobUnit) throws -> (JobUnit, Pipeline.Count) {
        var u = unit
        try transform(&u)
        if !dropNames.isEmpty {
            u.batch = u.batch.removingColumns(Set(u.batch.names.indices.filter { dropNames.contains(u.batch.names[$0]) }))
        }
        return (u, (rows: u.batch.rowCount, bytes: 0))
    }

    /// Applies each planned column's processor to the cells that hold a value (present, non-empty,
    /// not JSON null/boolean/object/array); a value the rule cannot take rejects its whole row.
    private func transform(_ u: inout JobUnit) throws {
        let rows = u.batch.rowCount
        guard rows > 0 else { return }
        var keep = [Bool](repeating: true, count: rows)
        var reasons: [(row: Int, column: String, reason: String)] = []
        for (ci, name) in u.batch.names.enumerated() {
            guard let proc = processors[name] else { continue }
            let gathered = u.batch.gatherValues(column: ci)
            guard !gathered.isEmpty else { continue }
            let (out, rejects) = try proc.run(gathered.values, mode: mode)
            var rejected = Set<Int>()
            for rj in rejects {
                rejected.insert(rj.index)
                keep[gathered.rows[rj.index]] = false
                reasons.append((gathered.rows[rj.index], name, rj.reason))
            }
            u.batch.scatter(out, into: gathered, keepingSource: rejected)
        }
        guard keep.contains(false) else { return }
        // One reject per row (its first failing column), with the row's original values.
        var seen = Set<Int>()
        for (row, column, reason) in reasons.sorted(by: { $0.row < $1.row }) where !seen.contains(row) {
            seen.insert(row)
            var values: [String: String] = [:]
            for (ci, name) in u.batch.names.enumerated() where u.batch.isPresent(row: row, column: ci) {
                values[name] = u.batch.sourceColumn(ci).string(at: row)
            }
            u.valueRejects.append(ValueRejectRow(record: u.batch.rowNumbers[row], column: column, reason: reason, values: values))
        }
        u.batch.removeRows(keep: keep)
    }
}

/// What a worker applies to one column.
enum Processor {
    case column(ColumnProcessor)
    case embedded(EmbeddedProcessor)
    /// Retokenize: invert with the old key version, tokenize with the primary.
    case rekey(ColumnProcessor, ColumnProcessor)
    case embeddedRekey(EmbeddedProcessor, EmbeddedProcessor)

    func run(_ values: ByteColumn, mode: TokenizeJob.Mode) throws -> (output: ByteColumn, rejects: [ValueReject]) {
        switch self {
        case .column(let p): return try mode == .tokenize ? p.apply(values) : p.invert(values)
        case .embedded(let p): return try p.apply(values, invert: mode == .detokenize)
        case .rekey(let old, let new):
            let (clear, r1) = try old.invert(values)
            let (tokens, r2) = try new.apply(clear)
            return (tokens, (r1 + r2).sorted { $0.index < $1.index })
        case .embeddedRekey(let old, let new):
            let (clear, r1) = try old.apply(values, invert: true)
            let (tokens, r2) = try new.apply(clear, invert: false)
            return (tokens, (r1 + r2).sorted { $0.index < $1.index })
        }
    }
}
