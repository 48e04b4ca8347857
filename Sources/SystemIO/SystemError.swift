#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Musl)
    internal import Musl
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// A failed system call: which operation, on which path or address, and the `errno` it returned.
///
/// The one errno-based error of the project. Modules that wrap I/O in their own error (for example
/// `SealingError.io`) use its ``description`` as their reason.
public struct SystemError: CodedError {
    public enum Code: String, CaseIterable, Sendable {
        /// `open(2)` failed.
        case open
        /// `close(2)` failed.
        case close
        /// `read(2)`, `pread(2)` or `recv(2)` failed.
        case read
        /// `write(2)`, `pwrite(2)` or `send(2)` failed, or wrote nothing.
        case write
        /// `lseek(2)` failed.
        case seek
        /// `fsync(2)` failed.
        case sync
        /// `flock(2)` failed.
        case lock
        /// `fstat(2)` / `stat(2)` / `getsockname(2)` failed.
        case stat
        /// `rename(2)` failed.
        case rename
        /// `unlink(2)` failed.
        case remove
        /// `socket(2)`, `bind(2)`, `listen(2)` or `setsockopt(2)` failed.
        case socket
        /// `connect(2)` failed.
        case connect
        /// `accept(2)` or `poll(2)` on a listening socket failed.
        case accept
        /// A bounded wait (accept, connect, send, receive) ran past its timeout.
        case timeout
        /// The peer closed or reset the connection (`EPIPE`, `ECONNRESET`).
        case disconnected
        /// `getaddrinfo(3)` failed.
        case resolve
    }

    public let code: Code
    /// The operation and the path or address, then the system's text for ``errorNumber``.
    public let reason: String
    /// The `errno` value (0 when the failure did not come with one, e.g. a resolver error).
    public let errorNumber: Int32

    public init(_ code: Code, _ reason: String, errorNumber: Int32 = 0) {
        self.code = code
        self.reason = reason
        self.errorNumber = errorNumber
    }

    /// The error for the current `errno`: reason `"<what>: <strerror>"`.
    static func current(_ code: Code, _ what: String) -> SystemError {
        let e = errno
        return SystemError(code, "\(what): \(message(for: e))", errorNumber: e)
    }

    /// The system's text for an errno value.
    static func message(for errorNumber: Int32) -> String {
        guard let s = strerror(errorNumber) else { return "error \(errorNumber)" }
        return String(cString: s)
    }

    /// Whether the call was interrupted by a signal (and should simply be retried).
    var interrupted: Bool { errorNumber == EINTR }
}

/// Runs a system call that returns -1 and sets `errno` on failure, retrying while it fails with
/// `EINTR`: the one EINTR loop of the project. Returns the call's result.
/// - Throws: ``SystemError`` with `code` and reason `"<what>: <strerror>"`.
func retryingInterrupts<R: FixedWidthInteger>(
    _ code: SystemError.Code, _ what: @autoclosure () -> String,
    _ call: () -> R
) throws(SystemError) -> R {
    while true {
        let r = call()
        if r != -1 { return r }
        let e = SystemError.current(code, what())
        if e.interrupted { continue }
        throw e
    }
}

/// `bytes.withUnsafeBytes` for a body that throws only `SystemError` (the standard library's form
/// rethrows untyped): the one place that narrows the error back.
func withRawBytes<R>(of bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(SystemError) -> R) throws(SystemError) -> R {
    do {
        return try bytes.withUnsafeBytes { try body($0) }
    } catch let e as SystemError {
        throw e
    } catch {
        preconditionFailure("unreachable: the body throws only SystemError (\(error))")
    }
}
