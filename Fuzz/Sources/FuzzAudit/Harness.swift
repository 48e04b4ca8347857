import Audit
import Foundation
import FuzzSupport
import Operations

/// The valid log the edits apply to: the throwaway keyring's own audit log after `keys init`
/// and a few audited operations (seal, a refused open, seal again), copied aside.
let original: [UInt8] = {
    let g = ThrowawayKeyring.gateway
    let dir = workDirectory
    writeFile(dir + "/a.csv", Array("id,name\n1,a\n2,b\n".utf8))
    _ = try? g.seal(input: dir + "/a.csv", output: dir + "/a.tgs", frameSize: 96)
    _ = try? g.open(path: dir + "/missing.tgs", output: dir + "/out.csv")
    _ = try? g.seal(input: dir + "/a.csv", output: dir + "/b.tgs")
    let log = readFile(ThrowawayKeyring.auditLog)
    writeFile(dir + "/original.jsonl", log)
    let v = try? g.verifyAudit(AuditLogSelection(path: dir + "/original.jsonl")).verification
    require(v?.intact == true && (v?.records ?? 0) >= 6, "the original log does not verify: \(String(describing: v))")
    return log
}()

let candidate = workDirectory + "/candidate.jsonl"

/// Whether `bytes` is the original cut after a complete record (dropping the newest records is
/// the one change a hash chain cannot see without an anchor kept elsewhere).
func isRecordPrefix(_ bytes: [UInt8]) -> Bool {
    bytes.count <= original.count && original.starts(with: bytes) && (bytes.isEmpty || bytes.last == UInt8(ascii: "\n"))
}

/// Audit verifier over arbitrary log bytes (an input starting with `{`) or edits of a valid log
/// (any other input). Invariants: verify returns a verdict or throws an AuditError, never
/// crashes; an intact verdict only for the original or the original cut after a record; the
/// unchanged log verifies intact, with the original's record count.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let script = UnsafeBufferPointer(start: data, count: size)
    let raw = size >= 1 && data[0] == UInt8(ascii: "{")
    let bytes = raw ? Array(script) : applyEdits(script, to: original)
    writeFile(candidate, bytes)
    let v: AuditVerification
    do { v = try ThrowawayKeyring.gateway.verifyAudit(AuditLogSelection(path: candidate)).verification } catch let e as AuditError {
        require(false, "verify threw \(e) (the audit key is there; a log's content should give a verdict)")
        return 0
    } catch {
        require(false, "verify threw a non-AuditError: \(type(of: error)): \(error)")
        return 0
    }
    if bytes == original {
        require(v.intact && v.records == original.count { $0 == UInt8(ascii: "\n") }, "the unchanged log did not verify: \(v.summary)")
    } else if v.intact {
        require(isRecordPrefix(bytes), "an edited log verified intact (\(v.records) records): \(v.summary)")
    } else {
        require(v.firstBroken! >= 1 && v.problem != nil && v.reason != nil, "a broken verdict without its record, problem or reason")
    }
    return 0
}
