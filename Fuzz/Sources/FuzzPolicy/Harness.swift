import Foundation
import FuzzSupport
import Tokenize

let candidate = workDirectory + "/policy.yaml"
let again = workDirectory + "/again.json"

/// Policy loader over arbitrary bytes. Invariants: `Policy.load` returns a policy or throws a
/// PolicyError (never crashes, never another error); a loaded policy passes `validate` again,
/// and its own JSON encoding (JSON is YAML) loads back to a policy with the same encoding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    writeFile(candidate, Array(UnsafeBufferPointer(start: data, count: size)))
    let p: Policy
    do { p = try Policy.load(path: candidate) } catch is PolicyError {
        return 0
    } catch {
        require(false, "Policy.load threw a non-PolicyError: \(type(of: error)): \(error)")
        return 0
    }
    do { try p.validate(source: candidate) } catch { require(false, "a loaded policy does not validate: \(error)") }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    guard let json = try? encoder.encode(p) else { return 0 }
    writeFile(again, Array(json))
    do {
        let q = try Policy.load(path: again)
        let json2 = try encoder.encode(q)
        require(json2 == json, "a loaded policy's encoding loads back differently")
    } catch {
        require(false, "a loaded policy's own encoding does not load: \(error)")
    }
    return 0
}
