public import Columns
import Crypto
public import FPE
public import Keyring
public import Transforms

/// Applies one column's rule to whole columns, one batch at a time: the tokenizer stage's unit of
/// work. Built once per column per worker (it holds the transform's scratch buffers and, for
/// derived custody or `hmac`, the derived subkey's cipher context).
public final class ColumnProcessor {
    public let column: String
    public let rule: Rule
    /// The in-use key version used (nil for keep/drop/mask).
    public let key: KeyInfo?
    public let algorithm: FPEAlgorithm
    public let custody: Custody
    private let transformer: TokenTransformer?
    private let pseudonymKey: SecretBytes?
    private let tweak: [UInt8]
    /// The transform version whose rules apply (``TransformSpec/version``).
    public let transformVersion: Int

    /// - Parameters:
    ///   - keyVersion: nil = the domain key's primary (tokenize); a specific version to detokenize
    ///     what an older version tokenized.
    ///   - transformVersion: the transform rules to apply: the current version for new tokens,
    ///     the version a dataset recorded to invert it (1 where it recorded none).
    public init(
        column: String, rule: Rule, policy: Policy, keyring: Keyring?, keyVersion: Int? = nil,
        transformVersion: Int = TransformSpec.currentVersion
    ) throws {
        self.transformVersion = transformVersion
        self.column = column
        self.rule = rule
        algorithm = rule.algorithm ?? policy.algorithm
        custody = rule.custody ?? policy.custody
        switch rule.action {
        case .tokenize:
            guard let keyring, let domain = rule.domain, let spec = rule.spec(version: transformVersion) else {
                throw PolicyError(.ruleInvalid, "column '\(column)': tokenize needs a keyring, a domain and a transform")
            }
            let k = try keyring.tokenizationKey(domain: domain, version: keyVersion)
            key = k
            tweak = try TokenTransformer.tweak(domain: domain, column: column, algorithm: algorithm)
            transformer = try TokenTransformer(spec: spec, algorithm: algorithm, cipher: keyring.blockCipher(k, custody: custody), tweak: tweak)
            pseudonymKey = nil
        case .hmac:
            guard let keyring, let domain = rule.domain else { throw PolicyError(.ruleInvalid, "column '\(column)': hmac needs a keyring and a domain") }
            let k = try keyring.tokenizationKey(domain: domain, version: keyVersion)
            key = k
            tweak = try TokenTransformer.tweak(domain: domain, column: column, algorithm: .ff1)
            transformer = nil
            pseudonymKey = try keyring.deriveSubkey(k)
        case .mask, .drop, .keep, .embedded:
            key = nil
            transformer = nil
            pseudonymKey = nil
            tweak = []
        }
    }

    /// Whether `detokenize` can invert this column.
    public var isReversible: Bool { rule.action == .tokenize || rule.action == .keep || rule.action == .embedded }

    /// Transforms a column. Values the rule cannot take come back as rejects (reasons never
    /// contain values); their output slot is empty.
    public func apply(_ values: ByteColumn) throws -> (output: ByteColumn, rejects: [ValueReject]) {
        switch rule.action {
        case .tokenize: return try transformer!.tokenize(values)
        case .keep, .drop, .embedded: return (values, [])
        case .mask: return (mask(values), [])
        case .hmac: return (try pseudonyms(values), [])
        }
    }

    /// Inverts `apply` for tokenized columns; kept columns pass through.
    public func invert(_ values: ByteColumn) throws -> (output: ByteColumn, rejects: [ValueReject]) {
        switch rule.action {
        case .tokenize: return try transformer!.detokenize(values)
        case .keep: return (values, [])
        case .embedded: return (values, [])
        case .mask, .hmac, .drop:
            throw PolicyError(.notReversible, "column '\(column)' was transformed with \(rule.action.rawValue), which cannot be reversed")
        }
    }

    private func mask(_ values: ByteColumn) -> ByteColumn {
        let keep = rule.keepLast ?? 4
        var out = ByteColumn(reservingValues: values.count, bytes: values.bytes.count)
        var scalars: [Unicode.Scalar] = []
        for i in 0..<values.count {
            scalars.removeAll(keepingCapacity: true)
            scalars.append(contentsOf: String(decoding: values[i], as: UTF8.self).unicodeScalars)
            let maskable = scalars.filter { isMaskable($0) }.count
            var seen = 0
            var s = String.UnicodeScalarView()
            for u in scalars {
                if isMaskable(u) {
                    seen += 1
                    s.append(seen > maskable - keep ? u : "*")
                } else {
                    s.append(u)
                }
            }
            out.append(String(s))
        }
        return out
    }

    private func isMaskable(_ u: Unicode.Scalar) -> Bool {
        u.properties.isAlphabetic || u.properties.numericType != nil
    }

    private func pseudonyms(_ values: ByteColumn) throws -> ByteColumn {
        var out = ByteColumn(reservingValues: values.count, bytes: values.count * 32)
        let digits = Array("0123456789abcdef".utf8)
        var input: [UInt8] = []
        var hex = [UInt8](repeating: 0, count: 32)
        for i in 0..<values.count {
            input.removeAll(keepingCapacity: true)
            input.append(contentsOf: tweak)
            input.append(contentsOf: values[i])
            let mac = try input.withUnsafeBytes { try AESCMAC.authenticationCode(key: pseudonymKey!, data: $0) }
            for (j, b) in mac.enumerated() {
                hex[2 * j] = digits[Int(b >> 4)]
                hex[2 * j + 1] = digits[Int(b & 15)]
            }
            out.append(hex[0..<32])
        }
        zeroize(&input)
        return out
    }
}

private func zeroize(_ a: inout [UInt8]) {
    a.withUnsafeMutableBytes { Crypto.zeroize($0) }
}
