import Columns
import Keyring
import Tagging

/// Whole-stream classification (tokenize runs): the plan decides each column from the first
/// batch; every later batch is checked against those decisions on the calling thread, in input
/// order, before it is transformed. A column kept so far — untagged, and not named by the policy
/// — whose values now tag as a sensitive type, or a JSON key that first appears holding such
/// values, is *new evidence*: with `on-new-evidence: stop` (the default) the run stops naming the
/// file, records, column and type; with `protect` the tag's rule applies to the column from that
/// batch on (reported with `protectedFromRecord`). A decision never downgrades.
final class ColumnMonitor {
    private let policy: Policy
    private let keyring: Keyring
    private let classify: TokenizeJob.Classifier
    private let inputName: String
    /// Why the plan cannot change mid-stream (a sealed output, a Parquet copy); nil: it can.
    private let fixedPlan: String?
    /// Columns whose decision a later batch can still change (kept, untagged, not named by the policy).
    private var watched: Set<String>
    /// Every column name decided so far.
    private var known: Set<String>
    /// Columns protected mid-stream, with the rule and key version applied from `fromRecord` on.
    private(set) var protected: [String: ColumnPlan] = [:]
    /// Reports of the columns the first batch did not decide (new keys, protected columns).
    private(set) var reports: [ColumnReport] = []

    init(plan: JobPlan, policy: Policy, keyring: Keyring, classify: @escaping TokenizeJob.Classifier, inputName: String, fixedPlan: String?) {
        self.policy = policy
        self.keyring = keyring
        self.classify = classify
        self.inputName = inputName
        self.fixedPlan = fixedPlan
        known = Set(plan.columns.map(\.name))
        watched = Set(plan.columns.filter { $0.rule.action == .keep && $0.tag == nil && policy.columns[$0.name] == nil }.map(\.name))
    }

    /// Checks a batch after the first; returns the columns to protect in it (all protected so far).
    func check(_ batch: Batch) throws -> [String: ColumnPlan] {
        // Classify only the columns whose decision can still change (the others are decided).
        let open = batch.names.indices.filter { watched.contains(batch.names[$0]) || !known.contains(batch.names[$0]) }
        guard batch.rowCount > 0, !open.isEmpty else { return protected }
        let records = "records \(batch.rowNumbers.first ?? 0)–\(batch.rowNumbers.last ?? 0)"
        var view = Batch(names: open.map { batch.names[$0] }, columns: open.map { batch.columns[$0] }, rowNumbers: batch.rowNumbers)
        // The tagger reads a sample from the head of what it gets: spread it over the whole batch,
        // so evidence in the batch's tail is seen (the residual scan still checks every value).
        let spread = TaggerConfig.default.sampleSize
        if view.rowCount > spread {
            let step = Double(view.rowCount) / Double(spread)
            var keep = [Bool](repeating: false, count: view.rowCount)
            for k in 0..<spread { keep[min(view.rowCount - 1, Int(Double(k) * step))] = true }
            view = view.filteringRows(keep: keep)
        }
        let tags: [String?]
        do { tags = try classify(view) } catch let e as JobError where e.code == .columnUnresolved {
            throw JobError(.newEvidence, "\(inputName), \(records): \(e.reason)")
        }
        for (k, i) in open.enumerated() {
            let name = batch.names[i]
            let isNew = !known.contains(name)
            known.insert(name)
            let tag = k < tags.count ? tags[k] : nil
            let rule = policy.rule(column: name, tag: tag)
            if tag == nil || rule.action == .keep {
                if isNew {
                    // A new key with nothing sensitive in it: kept, and watched from now on.
                    if policy.columns[name] == nil { watched.insert(name) }
                    var r = ColumnReport(name: name, index: i, tag: tag, action: rule.action.rawValue)
                    r.rule = rule
                    reports.append(r)
                }
                continue
            }
            let what = isNew ? "key '\(name)' first appears in \(records) holding" : "column '\(name)', kept so far, holds"
            guard policy.onNewEvidence == .protect, fixedPlan == nil else {
                let why = policy.onNewEvidence == .protect ? fixedPlan.map { " (\($0))" } ?? "" : ""
                throw JobError(
                    .newEvidence,
                    "\(inputName): \(what) values of type \(tag!) (\(records)); the run stopped before writing them\(why). "
                        + "Name the column in the policy (`tokengate scan --emit-policy` writes one), or set on-new-evidence: protect")
            }
            let plan = ColumnPlan(
                name: name, index: i, tag: tag, rule: rule, keyVersion: nil, fromRecord: batch.rowNumbers.first ?? 0)
            var report = try JobPlan.report(for: plan, mode: .tokenize, policy: policy, keyring: keyring)
            var applied = plan
            applied.keyVersion = report.keyVersion
            applied.embeddedKeyVersions = report.embeddedKeyVersions ?? [:]
            report.index = i
            protected[name] = applied
            watched.remove(name)
            reports.removeAll { $0.name == name }
            reports.append(report)
        }
        return protected
    }
}
