import Crypto
import Foundation
import HSM
import Keyring

/// The result of `AuditLog.verify()`.
public struct AuditVerification: Sendable, Encodable, Equatable {
    public enum Problem: String, Sendable, Encodable {
        /// The record's MAC does not match its content (a field was changed).
        case edited
        /// A sequence gap: records before it were removed.
        case deleted
        /// A copy of another record was inserted.
        case inserted
        /// Records are out of order.
        case reordered
        /// The chain link (`previousMAC`) does not match the previous record.
        case chainBroken
        /// The last line has no newline: a crash during append.
        case incomplete
        /// The line is not a record.
        case malformed
        /// The audit key version named in the record is not in the HSM.
        case keyUnavailable
    }

    /// Complete lines in the log.
    public let records: Int
    /// 1-based line number of the first broken record; nil when the chain is intact.
    public let firstBroken: Int?
    public let problem: Problem?
    public let reason: String?
    /// Sequences of `started` records that no outcome record closes: runs killed (or still
    /// running) after they were recorded as started.
    public var unclosed: [Int] = []

    public init(records: Int, firstBroken: Int?, problem: Problem?, reason: String?, unclosed: [Int] = []) {
        self.records = records
        self.firstBroken = firstBroken
        self.problem = problem
        self.reason = reason
        self.unclosed = unclosed
    }

    public var intact: Bool { firstBroken == nil }

    public var summary: String {
        if firstBroken != nil, let reason { return reason }
        let open =
            unclosed.isEmpty
            ? ""
            : "; \(unclosed.count) run(s) started and never closed (killed, or still running): record(s) \(unclosed.prefix(20).map(String.init).joined(separator: ", "))"
        return "\(records) records, chain intact" + open
    }
}

extension AuditLog {
    /// Checks every record's MAC (with the audit key version it names), the sequence and the
    /// chain links, and the final newline; reports the first broken record.
    public func verify() throws -> AuditVerification {
        let (lines, incomplete) = try readLines()
        let dec = JSONDecoder()
        let decoded: [AuditRecord?] = lines.map { try? dec.decode(AuditRecord.self, from: Data($0)) }
        var macCount: [String: Int] = [:]
        for r in decoded { if let m = r?.mac { macCount[m, default: 0] += 1 } }
        var keyCache: [Int: KeyInfo] = [:]
        var versionsLoaded: [KeyInfo]? = nil
        func broken(_ i: Int, _ p: AuditVerification.Problem, _ reason: String) -> AuditVerification {
            AuditVerification(records: lines.count, firstBroken: i + 1, problem: p, reason: reason)
        }
        var previousMAC = AuditLog.zeroMAC
        var seen: [String: Int] = [:]
        for (i, rec) in decoded.enumerated() {
            let n = i + 1
            guard lines[i].count <= AuditLog.maxRecordBytes else {
                return broken(i, .malformed, "record \(n) is \(lines[i].count) bytes, over the \(AuditLog.maxRecordBytes >> 20) MiB limit of a record")
            }
            guard let r = rec, let mac = r.mac, let prev = Hex.decode(r.previousMAC), prev.count == 32 else {
                return broken(i, .malformed, "record \(n) is not a valid audit record (edited?)")
            }
            // 1. The record's own MAC, with the key version it names.
            guard let ak = r.auditKey else {
                return broken(i, .edited, "record \(n) names no audit key (edited)")
            }
            if keyCache[ak.version] == nil {
                if versionsLoaded == nil {
                    do { versionsLoaded = try keyring.versions(keyRef) } catch {
                        throw AuditError(.auditKeyUnavailable, "audit key \(keyRef) unavailable (\(error)); cannot verify")
                    }
                }
                guard let k = versionsLoaded?.first(where: { $0.version == ak.version }) else {
                    return broken(i, .keyUnavailable, "record \(n) was signed with \(ak.label), which is not in the HSM (retired?)")
                }
                keyCache[ak.version] = k
            }
            let key = keyCache[ak.version]!
            let expected = try self.mac(key: key, previous: prev, canonical: r.canonicalBytes())
            guard let stored = Hex.decode(mac), stored.count == expected.count,
                stored.withUnsafeBytes({ s in expected.withUnsafeBytes { e in constantTimeEqual(s, e) } })
            else {
                return broken(i, .edited, "record \(n) was edited (MAC mismatch)")
            }
            // 2. Exactly the bytes `append` writes: an unknown field, a reordered key or extra
            // spacing is an edit the MAC cannot see (it covers the record's own fields only).
            guard (try? r.line()) == lines[i] else {
                return broken(i, .malformed, "record \(n) has fields or formatting that are not part of an audit record (edited)")
            }
            // 3. Its place in the chain.
            if let first = seen[mac] {
                return broken(i, .inserted, "record \(n) is an inserted copy of record \(first)")
            }
            if r.sequence != n {
                if (macCount[mac] ?? 0) > 1 {
                    return broken(i, .inserted, "record \(n) is an inserted copy (sequence \(r.sequence) appears twice)")
                }
                if r.sequence > n {
                    let expectedLater = decoded[(i + 1)...].contains { $0?.sequence == n }
                    if expectedLater {
                        return broken(i, .reordered, "record \(n) is out of order (sequence \(r.sequence), expected \(n))")
                    }
                    let missing = r.sequence - n == 1 ? "record \(n) was" : "records \(n)–\(r.sequence - 1) were"
                    return broken(i, .deleted, "\(missing) deleted before record \(n) (sequence jumps to \(r.sequence))")
                }
                return broken(i, .reordered, "record \(n) is out of order (sequence \(r.sequence), expected \(n))")
            }
            if r.previousMAC != previousMAC {
                return broken(
                    i, .chainBroken, "record \(n) does not chain to record \(n - 1) (previousMAC mismatch: record replaced, deleted or inserted before it)")
            }
            seen[mac] = n
            previousMAC = mac
        }
        if incomplete != nil {
            let n = lines.count + 1
            return AuditVerification(
                records: lines.count, firstBroken: n, problem: .incomplete,
                reason: "record \(n) is incomplete (crash during append?)")
        }
        let closed = Set(decoded.compactMap { $0?.startedRecord })
        let unclosed = decoded.compactMap { r -> Int? in r.flatMap { $0.outcome == .started && !closed.contains($0.sequence) ? $0.sequence : nil } }
        return AuditVerification(records: lines.count, firstBroken: nil, problem: nil, reason: nil, unclosed: unclosed)
    }
}

/// Where a file came from and what read it, from the audit log.
public struct AuditLineage: Sendable, Encodable {
    public let file: String
    public let sha256: String?
    /// Records that produced the file, then those that produced their inputs, … (newest first).
    public let upstream: [AuditRecord]
    /// Records that read the file, then those that read their outputs, … (oldest first).
    public let downstream: [AuditRecord]

    /// Files at the start of the chain: inputs of upstream records that no record produced.
    public var sources: [AuditFile] {
        let produced = Set(upstream.flatMap(\.outputs).map(\.path))
        var out: [AuditFile] = []
        for f in upstream.flatMap(\.inputs) where !produced.contains(f.path) && !out.contains(where: { $0.path == f.path }) { out.append(f) }
        return out
    }

    public var policies: [String] { Array(Set(upstream.compactMap(\.policyDigest))).sorted() }
    public var keys: [AuditKey] {
        var out: [AuditKey] = []
        for k in upstream.flatMap(\.keys) where !out.contains(k) { out.append(k) }
        return out
    }
}

extension AuditLog {
    /// Follows outputs → inputs backwards and inputs → outputs forwards from `path` (matched by
    /// path, or by SHA-256 when the file exists on disk or a record names its digest).
    public func lineage(of path: String) throws -> AuditLineage {
        let all = try records().filter { $0.outcome == .success }
        let abs = URL(fileURLWithPath: path).standardizedFileURL.path
        let digest = (try? AuditFile.describe(path: abs))?.sha256
        func key(_ f: AuditFile) -> [String] { [f.path] + (f.sha256.map { ["sha256:" + $0] } ?? []) }
        let start = Set([path, abs] + (digest.map { ["sha256:" + $0] } ?? []))

        // A producer precedes what it produced; a reader follows what it read.
        func walk(upstream: Bool) -> [AuditRecord] {
            var targets: [(keys: Set<String>, bound: Int)] = [(start, upstream ? Int.max : 0)]
            var found: [Int: AuditRecord] = [:]
            var changed = true
            while changed {
                changed = false
                for r in all where found[r.sequence] == nil {
                    let files = upstream ? r.outputs : r.inputs
                    let hit = targets.contains { t in
                        (upstream ? r.sequence < t.bound : r.sequence > t.bound)
                            && files.contains { !t.keys.isDisjoint(with: key($0)) }
                    }
                    if hit {
                        found[r.sequence] = r
                        for f in upstream ? r.inputs : r.outputs { targets.append((Set(key(f)), r.sequence)) }
                        changed = true
                    }
                }
            }
            return found.values.sorted { $0.sequence < $1.sequence }
        }
        let up = walk(upstream: true)
        let down = walk(upstream: false)
        return AuditLineage(file: abs, sha256: digest, upstream: up.reversed(), downstream: down)
    }
}
