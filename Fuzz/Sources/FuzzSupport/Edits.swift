/// Applies an edit script to `original`: the fuzzer's input read as 4-byte operations
/// `[op, position high, position low, value]` (a trailing partial operation is ignored). The
/// position is taken modulo the current length + 1. Operations: 0 flip bits (xor value), 1 set a
/// byte, 2 insert a byte, 3 delete a byte, 4 truncate, 5 copy `value` bytes from the position to
/// the position named by the next operation's position bytes (a splice; consumes that operation),
/// 6 delete `value` bytes. An empty script leaves the file unchanged.
public func applyEdits(_ script: UnsafeBufferPointer<UInt8>, to original: [UInt8]) -> [UInt8] {
    var out = original
    var i = 0
    while i + 4 <= script.count {
        let op = script[i] % 7
        let pos = (Int(script[i + 1]) << 8 | Int(script[i + 2])) % (out.count + 1)
        let v = script[i + 3]
        i += 4
        switch op {
        case 0: if pos < out.count { out[pos] ^= v }
        case 1: if pos < out.count { out[pos] = v }
        case 2: out.insert(v, at: pos)
        case 3: if pos < out.count { out.remove(at: pos) }
        case 4: out.removeSubrange(pos...)
        case 5:
            guard i + 4 <= script.count else { break }
            let to = (Int(script[i + 1]) << 8 | Int(script[i + 2])) % (out.count + 1)
            i += 4
            let block = Array(out[pos..<min(out.count, pos + Int(v))])
            out.replaceSubrange(to..<min(out.count, to + block.count), with: block)
        default: out.removeSubrange(pos..<min(out.count, pos + Int(v)))
        }
    }
    return out
}
