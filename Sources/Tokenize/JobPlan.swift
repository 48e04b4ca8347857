import Columns
import Foundation
import Keyring
import Sealing
import Transforms

/// What tokenize wrote about each column; `detokenize` reads it back to invert exactly the same
/// rules with the same key versions (from `<out>.manifest.json`, or from a sealed file's metadata).
public struct TokenManifest: Sendable, Codable {
    /// The sealed-metadata attribute that carries the manifest.
    public static let attributeKey = "tokengate.manifest"
    public var version = 1
    public var format: DataFormat
    public var policyAlgorithm: String
    public var policyCustody: String
    public var columns: [ColumnReport]
}

/// One input column in a run's plan: its rule and the key versions it uses.
struct ColumnPlan: Sendable {
    var name: String
    var index: Int
    var tag: String?
    var rule: Rule
    var keyVersion: Int?
    var embeddedKeyVersions: [String: Int] = [:]
    /// The transform version of the tokens in the input (detokenize, retokenize: from the
    /// manifest, 1 where it records none); new tokens are always the current version.
    var transformVersion: Int = TransformSpec.currentVersion
    /// The rule applies from this record number on (a column protected mid-stream); nil: all rows.
    var fromRecord: Int?
}

/// The plan of a run, made on the calling thread from the first batch before anything is
/// transformed: each column's rule (from the tagger and the policy, or from the manifest being
/// inverted), its keys checked and its report built, so a missing key or a rule that cannot be
/// inverted fails the run before any output.
struct JobPlan: Sendable {
    let mode: TokenizeJob.Mode
    let format: DataFormat
    /// Every input column, in order.
    let columns: [ColumnPlan]
    /// Per column (same order), what the summary and the manifest report.
    let reports: [ColumnReport]
    /// The columns the workers transform, with the key versions they use: those just checked, or
    /// (retokenize) the versions recorded in the input.
    let active: [ColumnPlan]
    /// Columns the rules drop from the output.
    let dropNames: Set<String>

    /// - Parameters:
    ///   - manifest: the manifest of the data being inverted (detokenize, retokenize); nil to tag
    ///     the columns of `first` with `classify` and take their rules from the policy.
    ///   - first: the first batch (nil for an empty input).
    init(
        mode: TokenizeJob.Mode, format: DataFormat, manifest: TokenManifest?, first: Batch?,
        policy: Policy, keyring: Keyring, classify: TokenizeJob.Classifier
    ) throws {
        self.mode = mode
        self.format = format
        let names = first?.names ?? []
        if let manifest {
            columns = Self.columns(from: manifest, names: names)
        } else {
            let tags = try first.map { try classify($0) } ?? []
            columns = names.enumerated().map { i, name in
                ColumnPlan(
                    name: name, index: i, tag: i < tags.count ? tags[i] : nil,
                    rule: policy.rule(column: name, tag: i < tags.count ? tags[i] : nil), keyVersion: nil)
            }
        }
        dropNames = Set(columns.filter { $0.rule.action == .drop }.map(\.name))
        // Check keys and build the reports once, on this thread (clear errors before any output).
        reports = try columns.map { try Self.report(for: $0, mode: mode, policy: policy, keyring: keyring) }
        let active = columns.filter { $0.rule.action != .keep && $0.rule.action != .drop }
        let reports = self.reports
        self.active =
            mode == .retokenize
            ? active
            : active.map { p -> ColumnPlan in
                var q = p
                q.keyVersion = reports[p.index].keyVersion
                q.embeddedKeyVersions = reports[p.index].embeddedKeyVersions ?? [:]
                return q
            }
    }

    /// A column's report, its keys checked (a missing key or an irreversible rule fails here).
    static func report(for p: ColumnPlan, mode: TokenizeJob.Mode, policy: Policy, keyring: Keyring) throws -> ColumnReport {
        var r = ColumnReport(name: p.name, index: p.index, tag: p.tag, action: p.rule.action.rawValue)
        r.rule = p.rule
        r.protectedFromRecord = p.fromRecord
        let versionsOut = mode == .retokenize ? [:] : p.embeddedKeyVersions
        // What the output holds: new tokens in the current version, or (detokenize) the version inverted.
        let transformVersion = mode == .detokenize ? p.transformVersion : TransformSpec.currentVersion
        if p.rule.action == .embedded {
            let ep = try EmbeddedProcessor(
                column: p.name, policy: policy, keyring: keyring, keyVersions: versionsOut, transformVersion: transformVersion)
            r.embeddedKeyVersions = ep.keys.mapValues(\.version)
            r.transformVersion = transformVersion
        }
        if p.rule.action == .tokenize || p.rule.action == .hmac {
            let cp = try ColumnProcessor(
                column: p.name, rule: p.rule, policy: policy, keyring: keyring,
                keyVersion: mode == .retokenize ? nil : p.keyVersion, transformVersion: transformVersion)
            if p.rule.action == .tokenize { r.transformVersion = transformVersion }
            r.transform = p.rule.transform?.rawValue
            r.algorithm = cp.algorithm.rawValue
            r.custody = cp.custody.rawValue
            r.keyLabel = cp.key?.label
            r.keyID = cp.key?.id
            r.keyVersion = cp.key?.version
            if mode != .tokenize && !cp.isReversible {
                throw JobError(.notReversible, "column '\(p.name)' was transformed with \(p.rule.action.rawValue), which cannot be reversed")
            }
        }
        return r
    }

    /// The manifest of the output (`columns`: the reports with their reject counts).
    func manifest(policy: Policy, columns: [ColumnReport]) -> TokenManifest {
        TokenManifest(format: format, policyAlgorithm: policy.algorithm.rawValue, policyCustody: policy.custody.rawValue, columns: columns)
    }

    /// The metadata of a sealed output: per column its tag and in-use key, and the manifest.
    func sealedMetadata(policy: Policy, source: String) throws -> SealedMetadata {
        SealedMetadata(
            columns: reports.map { r in
                SealedMetadata.Column(
                    name: r.name, tag: r.tag, key: r.keyLabel.map { _ in "in-use/\(r.rule?.domain ?? "")" },
                    keyVersion: r.keyVersion, keyID: r.keyID)
            },
            attributes: [
                "format": format.rawValue, "producer": "tokengate \(mode.rawValue)", "source": source,
                TokenManifest.attributeKey: String(decoding: try JSONEncoder().encode(manifest(policy: policy, columns: reports)), as: UTF8.self),
            ])
    }

    /// The format the options or the file names declare; nil: sniff the input.
    static func declaredFormat(_ o: TokenizeJob.Options) -> DataFormat? {
        o.format ?? DataFormat.infer(path: o.input) ?? (o.input == "-" ? DataFormat.infer(path: o.output) : nil)
    }

    /// detokenize: the manifest tokenize wrote (`--manifest`, or `<input>.manifest.json`).
    static func loadManifest(_ o: TokenizeJob.Options) throws -> TokenManifest {
        guard let path = o.manifestPath ?? (o.input == "-" ? nil : o.input + ".manifest.json") else {
            throw JobError(.manifestMissing, "detokenize needs --manifest FILE (the manifest tokenize wrote) when reading stdin")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw JobError(.manifestMissing, "cannot read manifest '\(path)' (tokenize writes <output>.manifest.json; pass --manifest)")
        }
        do { return try JSONDecoder().decode(TokenManifest.self, from: data) } catch {
            throw JobError(.manifestInvalid, "manifest '\(path)' is not a tokengate manifest: \(error)")
        }
    }

    /// The columns a manifest tokenized (by name), everything else kept.
    static func columns(from m: TokenManifest, names: [String]) -> [ColumnPlan] {
        let byName = Dictionary(m.columns.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let first = names.enumerated().map { i, name in
            guard let c = byName[name], let rule = c.rule, rule.action == .tokenize || rule.action == .embedded else {
                return ColumnPlan(name: name, index: i, tag: byName[name]?.tag, rule: Rule(action: .keep), keyVersion: nil)
            }
            return ColumnPlan(
                name: name, index: i, tag: c.tag, rule: rule, keyVersion: c.keyVersion, embeddedKeyVersions: c.embeddedKeyVersions ?? [:],
                transformVersion: c.transformVersion ?? 1, fromRecord: c.protectedFromRecord)
        }
        // Columns the manifest names that the first batch does not have (JSON keys that appear later).
        let present = Set(names)
        let later = m.columns.filter { !present.contains($0.name) }
        return first
            + later.enumerated().compactMap { k, c -> ColumnPlan? in
                guard let rule = c.rule, rule.action == .tokenize || rule.action == .embedded else { return nil }
                return ColumnPlan(
                    name: c.name, index: names.count + k, tag: c.tag, rule: rule, keyVersion: c.keyVersion,
                    embeddedKeyVersions: c.embeddedKeyVersions ?? [:], transformVersion: c.transformVersion ?? 1,
                    fromRecord: c.protectedFromRecord)
            }
    }
}
