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
    /// Columns protected mid-stream (``ColumnMonitor``), decided on the calling thread before
    /// this batch was handed on: the same map for every later batch.
    var protected: [String: ColumnPlan] = [:]
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
final class BatchTransform {
    private var processors: [String: Processor]
    /// The record from which a column's rule applies (protected mid-stream); absent: every row.
    private var fromRecord: [String: Int] = [:]
    private let mode: TokenizeJob.Mode
    private let dropNames: Set<String>
    private let policy: Policy
    private let keyring: Keyring
    /// Scan what leaves untokenized (``ResidualScan``); tokenize runs unless `--no-verify-output`.
    private let verifyOutput: Bool

    init(plan: JobPlan, policy: Policy, keyring: Keyring, verifyOutput: Bool) throws {
        var processors: [String: Processor] = [:]
        for p in plan.active {
            if let f = p.fromRecord { fromRecord[p.name] = f }
            if plan.mode == .retokenize {
                processors[p.name] =
                    p.rule.action == .embedded
                    // Inverted with the input's key and transform versions, tokenized again with the
                    // primary key and the current transform version.
                    ? .embeddedRekey(
                        try EmbeddedProcessor(
                            column: p.name, policy: policy, keyring: keyring, keyVersions: p.embeddedKeyVersions,
                            transformVersion: p.transformVersion),
                        try EmbeddedProcessor(column: p.name, policy: policy, keyring: keyring))
                    : .rekey(
                        try ColumnProcessor(
                            column: p.name, rule: p.rule, policy: policy, keyring: keyring, keyVersion: p.keyVersion,
                            transformVersion: p.transformVersion),
                        try ColumnProcessor(column: p.name, rule: p.rule, policy: policy, keyring: keyring, keyVersion: nil))
                continue
            }
            processors[p.name] = try Self.processor(for: p, policy: policy, keyring: keyring)
        }
        self.processors = processors
        mode = plan.mode
        dropNames = plan.dropNames
        self.policy = policy
        self.keyring = keyring
        self.verifyOutput = verifyOutput && plan.mode == .tokenize
    }

    /// Makes the processors of columns protected mid-stream the first time a batch names them.
    private func adopt(_ protected: [String: ColumnPlan]) throws {
        for (name, p) in protected where processors[name] == nil {
            processors[name] = try Self.processor(for: p, policy: policy, keyring: keyring)
            if let f = p.fromRecord { fromRecord[name] = f }
        }
    }

    /// What tokenize and detokenize apply to a planned column, with the key versions it names.
    private static func processor(for p: ColumnPlan, policy: Policy, keyring: Keyring) throws -> Processor {
        p.rule.action == .embedded
            ? .embedded(
                try EmbeddedProcessor(
                    column: p.name, policy: policy, keyring: keyring, keyVersions: p.embeddedKeyVersions, transformVersion: p.transformVersion))
            : .column(
                try ColumnProcessor(
                    column: p.name, rule: p.rule, policy: policy, keyring: keyring, keyVersion: p.keyVersion,
                    transformVersion: p.transformVersion))
    }

    /// The first row of `batch` a column's rule applies to: 0, or for a column protected from
    /// record N on, the first row at or after N (the batch's row count when there is none).
    private func firstRow(of name: String, in batch: Batch) -> Int {
        fromRecord[name].map { f in batch.rowNumbers.firstIndex { $0 >= f } ?? batch.rowCount } ?? 0
    }

    /// Transforms one batch and drops the columns the rules drop.
    func run(_ unit: JobUnit) throws -> (JobUnit, Pipeline.Count) {
        var u = unit
        if !u.protected.isEmpty { try adopt(u.protected) }
        try transform(&u)
        if verifyOutput { verify(&u) }
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
        var reasons: [(row: Int, column: String, reason: String)] = []
        for (ci, name) in u.batch.names.enumerated() {
            guard let proc = processors[name] else { continue }
            // A column protected from record N on: the rows before N stay as they were.
            let from = firstRow(of: name, in: u.batch)
            guard from < rows else { continue }
            let gathered = u.batch.gatherValues(column: ci, fromRow: from)
            if gathered.isEmpty { continue }
            let (out, rejects) = try proc.run(gathered.values, mode: mode)
            var rejected = Set<Int>()
            for rj in rejects {
                rejected.insert(rj.index)
                reasons.append((gathered.rows[rj.index], name, rj.reason))
            }
            u.batch.scatter(out, into: gathered, keepingSource: rejected)
        }
        try transformContainers(&u, reasons: &reasons)
        reject(&u, reasons)
    }

    /// JSON objects and arrays in a transformed column: the column's rule applies to every string
    /// and number leaf inside (free text: embedded scanning of each leaf), all leaves of the batch
    /// in one call; structure, key order and spacing stay byte for byte. A leaf the rule cannot
    /// take rejects its row, like a scalar value.
    private func transformContainers(_ u: inout JobUnit, reasons: inout [(row: Int, column: String, reason: String)]) throws {
        let kinds = (0..<u.batch.columnCount).map { u.batch.kinds(column: $0) }
        for (ci, name) in u.batch.names.enumerated() {
            guard let proc = processors[name], !kinds[ci].isEmpty else { continue }
            let from = firstRow(of: name, in: u.batch)
            var rows: [Int] = []
            for r in from..<u.batch.rowCount {
                let k = CellKind(rawValue: kinds[ci][r])
                if k == .object || k == .array { rows.append(r) }
            }
            guard !rows.isEmpty else { continue }
            let cells = u.batch.gatherCells(column: ci, rows: rows)
            // Every leaf of every container cell, in one dense column.
            var leaves = ByteColumn(reservingValues: rows.count * 4, bytes: cells.values.bytes.count)
            var where_: [(cell: Int, range: Range<Int>, kind: JSONLeaf.Kind)] = []
            try cells.values.bytes.withUnsafeBufferPointer { all in
                for k in 0..<cells.count {
                    let raw = UnsafeBufferPointer(rebasing: all[cells.values.offsets[k]..<cells.values.offsets[k + 1]])
                    try JSONContainer.forEachLeaf(in: raw) { kind, _, range, value in
                        guard !value.isEmpty else { return }
                        leaves.append(bytes: UnsafeRawBufferPointer(value))
                        where_.append((k, range, kind))
                    }
                }
            }
            guard !where_.isEmpty else { continue }
            let (out, rejects) = try proc.run(leaves, mode: mode)
            var badCells = Set<Int>()
            for rj in rejects {
                badCells.insert(where_[rj.index].cell)
                reasons.append(
                    (
                        rows[where_[rj.index].cell], name,
                        rj.reason + " (inside a JSON \(CellKind(rawValue: kinds[ci][rows[where_[rj.index].cell]]) == .array ? "array" : "object"))"
                    ))
            }
            var perCell = [[JSONLeafReplacement]](repeating: [], count: cells.count)
            for (j, w) in where_.enumerated() where !badCells.contains(w.cell) {
                let v = Array(out[j])
                // A token that is no JSON number (a leading zero) is written as a string.
                let kind: JSONLeaf.Kind = w.kind == .number && !Self.isJSONNumber(v) ? .string : w.kind
                perCell[w.cell].append(JSONLeafReplacement(range: w.range, kind: kind, value: v))
            }
            var rebuilt = ByteColumn(reservingValues: cells.count, bytes: cells.values.bytes.count + 16 * where_.count)
            for k in 0..<cells.count {
                let raw = cells.values[k]
                let bytes = badCells.contains(k) ? Array(raw) : try JSONContainer.replacingLeaves(in: raw, with: perCell[k])
                bytes.withUnsafeBytes { rebuilt.append(bytes: $0) }
            }
            u.batch.scatter(rebuilt, into: cells, keepingSource: Set(badCells))
        }
    }

    /// `-?(0|[1-9][0-9]*)` — the digit tokens a transform writes (no fraction or exponent).
    private static func isJSONNumber(_ v: [UInt8]) -> Bool {
        var s = v[...]
        if s.first == 0x2D { s = s.dropFirst() }
        guard let f = s.first, s.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return false }
        return f != 0x30 || s.count == 1
    }

    /// Rejects the rows named (one reject per row: its first failing column), with the row's
    /// original values for the rejects file, and removes them from the batch.
    private func reject(_ u: inout JobUnit, _ reasons: [(row: Int, column: String, reason: String)]) {
        guard !reasons.isEmpty else { return }
        var keep = [Bool](repeating: true, count: u.batch.rowCount)
        var seen = Set<Int>()
        for (row, column, reason) in reasons.sorted(by: { $0.row < $1.row }) where !seen.contains(row) {
            seen.insert(row)
            keep[row] = false
            var values: [String: String] = [:]
            for (ci, name) in u.batch.names.enumerated() where u.batch.isPresent(row: row, column: ci) {
                values[name] = u.batch.sourceColumn(ci).string(at: row)
            }
            u.valueRejects.append(ValueRejectRow(record: u.batch.rowNumbers[row], column: column, reason: reason, values: values))
        }
        u.batch.removeRows(keep: keep)
    }

    /// The residual scan of what leaves untokenized: a clear sensitive value rejects its record.
    /// Dropped columns do not leave the run, so they are not scanned.
    private func verify(_ u: inout JobUnit) {
        let transformed = Set(processors.keys).union(dropNames)
        let embedded = Set(processors.compactMap { k, p -> String? in if case .embedded = p { return k } else { return nil } }).subtracting(dropNames)
        let findings = ResidualScan.scan(u.batch, transformed: transformed, embedded: embedded)
        reject(&u, findings.map { ($0.row, $0.column, "residual scan: a clear \($0.tag.rawValue) value would leave the run untokenized") })
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
