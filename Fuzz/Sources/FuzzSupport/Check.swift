#if canImport(Glibc)
    import Glibc
#endif

/// Stops the process (libFuzzer saves the input as a crash) when an invariant does not hold.
public func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() {
        var line = "INVARIANT FAILED: \(message())\n"
        line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
        abort()
    }
}

/// Writes `bytes` to `path` (created or truncated, mode 600).
public func writeFile(_ path: String, _ bytes: [UInt8]) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    require(fd >= 0, "cannot create \(path)")
    var done = 0
    while done < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, bytes.count - done) }
        require(n > 0, "cannot write \(path)")
        done += n
    }
    close(fd)
}

/// The bytes of a file.
public func readFile(_ path: String) -> [UInt8] {
    let fd = open(path, O_RDONLY)
    require(fd >= 0, "cannot open \(path)")
    defer { close(fd) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        require(n >= 0, "cannot read \(path)")
        if n == 0 { return out }
        out += buf[0..<n]
    }
}

/// A working folder for the harness: `$TOKENGATE_FUZZ_DIR` (scripts/fuzz.sh makes one under
/// /dev/shm) or a new one under /tmp.
public let workDirectory: String = {
    if let d = getenv("TOKENGATE_FUZZ_DIR").map({ String(cString: $0) }), !d.isEmpty {
        mkdir(d, 0o700)
        return d
    }
    var template = Array("/tmp/tokengate-fuzz-XXXXXX".utf8CString)
    let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    require(p != nil, "mkdtemp failed")
    return String(cString: p!)
}()
