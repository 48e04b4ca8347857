#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Musl)
    internal import Musl
#elseif canImport(Darwin)
    internal import Darwin
#endif

// The libc calls whose names the Swift types here also use (read, write, close, …), under names
// that do not clash, so the types can call them without module qualification.

@inline(__always) func systemOpen(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 { open(path, flags, mode) }
@inline(__always) func systemClose(_ fd: Int32) -> Int32 { close(fd) }
@inline(__always) func systemRead(_ fd: Int32, _ p: UnsafeMutableRawPointer, _ n: Int) -> Int { read(fd, p, n) }
@inline(__always) func systemWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { write(fd, p, n) }
@inline(__always) func systemRename(_ a: String, _ b: String) -> Int32 { rename(a, b) }
@inline(__always) func systemListen(_ fd: Int32, _ backlog: Int32) -> Int32 { listen(fd, backlog) }
@inline(__always) func systemAccept(_ fd: Int32) -> Int32 { accept(fd, nil, nil) }
@inline(__always) func systemConnect(_ fd: Int32, _ a: UnsafePointer<sockaddr>, _ n: socklen_t) -> Int32 { connect(fd, a, n) }
@inline(__always) func systemSend(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    #if canImport(Darwin)
        send(fd, p, n, 0)  // SO_NOSIGPIPE is set on the socket instead
    #else
        send(fd, p, n, Int32(MSG_NOSIGNAL))
    #endif
}
@inline(__always) func systemReceive(_ fd: Int32, _ p: UnsafeMutableRawPointer, _ n: Int) -> Int { recv(fd, p, n, 0) }

/// `SOCK_STREAM` as the Int32 that `socket(2)` and `addrinfo` take.
var streamSocketType: Int32 {
    #if canImport(Darwin)
        SOCK_STREAM
    #else
        Int32(SOCK_STREAM.rawValue)
    #endif
}

/// `SOCK_CLOEXEC` where `socket(2)` takes it in the type (Linux), else 0 (set with fcntl after).
var socketCloseOnExec: Int32 {
    #if canImport(Darwin)
        0
    #else
        Int32(SOCK_CLOEXEC.rawValue)
    #endif
}

/// Who this process runs as.
public enum ProcessIdentity {
    /// The effective user id (`geteuid(2)`): what the kernel checks file access against.
    public static var effectiveUserID: UInt32 { UInt32(geteuid()) }

    /// The login name of `uid` from the user database (`getpwuid_r(3)`), nil when it has none.
    public static func userName(_ uid: UInt32) -> String? {
        var pw = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        return buffer.withUnsafeMutableBufferPointer { b -> String? in
            guard let base = b.baseAddress, getpwuid_r(uid_t(uid), &pw, base, b.count, &result) == 0, result != nil,
                let name = pw.pw_name
            else { return nil }
            return String(cString: name)  // copied while the buffer it points into is alive
        }
    }
}

/// Ignores `SIGPIPE` in this process: a write to a pipe whose reader has gone then fails with
/// `EPIPE` (a ``SystemError`` `.write`) instead of killing the process, so a long-lived pipe
/// (`tokenize --pipe`) can still record its failure in the audit log.
/// - Throws: ``SystemError`` `.write` if `sigaction(2)` fails.
public func ignoreBrokenPipeSignal() throws(SystemError) {
    var action = sigaction()
    #if canImport(Darwin)
        action.__sigaction_u.__sa_handler = SIG_IGN
    #else
        action.__sigaction_handler.sa_handler = SIG_IGN
    #endif
    guard sigemptyset(&action.sa_mask) == 0, sigaction(SIGPIPE, &action, nil) == 0 else {
        throw SystemError.current(.write, "cannot ignore SIGPIPE (sigaction)")
    }
}
