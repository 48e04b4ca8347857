import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A blocking TCP socket (POSIX) with bounded waits, for the in-transit stream.
final class TransitSocket {
    let fd: Int32
    /// The bound port (listening sockets).
    private(set) var localPort: UInt16 = 0

    private init(fd: Int32) { self.fd = fd }

    deinit { close(fd) }

    private static func errnoText() -> String { String(cString: strerror(errno)) }

    private static func resolve(host: String, port: UInt16, passive: Bool) throws -> UnsafeMutablePointer<addrinfo> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = passive ? AI_PASSIVE : 0
        var res: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &res)
        guard rc == 0, let res else {
            throw SealingError(.network, "cannot resolve \(host):\(port): \(String(cString: gai_strerror(rc)))")
        }
        return res
    }

    /// Binds and listens on `host:port` (port 0: an ephemeral port, see ``localPort``).
    static func listen(host: String, port: UInt16) throws -> TransitSocket {
        let res = try resolve(host: host, port: port, passive: true)
        defer { freeaddrinfo(res) }
        var lastError = "no address"
        var ai: UnsafeMutablePointer<addrinfo>? = res
        while let a = ai {
            ai = a.pointee.ai_next
            let fd = socket(a.pointee.ai_family, a.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), a.pointee.ai_protocol)
            guard fd >= 0 else { lastError = errnoText(); continue }
            let s = TransitSocket(fd: fd)
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            guard bind(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0, Glibc.listen(fd, 1) == 0 else {
                lastError = errnoText()
                continue
            }
            s.localPort = try s.boundPort()
            return s
        }
        throw SealingError(.network, "cannot listen on \(host):\(port): \(lastError)")
    }

    private func boundPort() throws -> UInt16 {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard rc == 0 else { throw SealingError(.network, "getsockname: \(TransitSocket.errnoText())") }
        return withUnsafePointer(to: &storage) { p -> UInt16 in
            if Int32(p.pointee.ss_family) == AF_INET6 {
                return p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
            }
            return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
    }

    /// Accepts one connection, waiting at most `timeout` seconds; closes the listening socket's
    /// role (the caller drops it).
    func accept(timeout: Double) throws -> TransitSocket {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while true {
            let rc = poll(&p, 1, Int32(max(0, min(timeout * 1000, Double(Int32.max)))))
            if rc < 0 {
                if errno == EINTR { continue }
                throw SealingError(.network, "poll: \(TransitSocket.errnoText())")
            }
            guard rc > 0 else { throw SealingError(.timedOut, "no sender connected within \(timeout) s") }
            break
        }
        let c = Glibc.accept(fd, nil, nil)
        guard c >= 0 else { throw SealingError(.network, "accept: \(TransitSocket.errnoText())") }
        _ = fcntl(c, F_SETFD, FD_CLOEXEC)
        return TransitSocket(fd: c)
    }

    /// Connects to `host:port`; every later send and receive waits at most `timeout` seconds.
    static func connect(host: String, port: UInt16, timeout: Double) throws -> TransitSocket {
        let res = try resolve(host: host, port: port, passive: false)
        defer { freeaddrinfo(res) }
        var lastError = "no address"
        var ai: UnsafeMutablePointer<addrinfo>? = res
        while let a = ai {
            ai = a.pointee.ai_next
            let fd = socket(a.pointee.ai_family, a.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), a.pointee.ai_protocol)
            guard fd >= 0 else { lastError = errnoText(); continue }
            let s = TransitSocket(fd: fd)
            try s.setTimeout(timeout) // SO_SNDTIMEO also bounds connect on Linux
            if Glibc.connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 { return s }
            lastError = errno == EINPROGRESS || errno == EAGAIN ? "timed out after \(timeout) s" : errnoText()
        }
        throw SealingError(.network, "cannot connect to \(host):\(port): \(lastError)")
    }

    func setTimeout(_ seconds: Double) throws {
        let s = max(0.001, seconds)
        var tv = timeval(tv_sec: Int(s), tv_usec: Int((s - Double(Int(s))) * 1_000_000))
        guard setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size)) == 0,
              setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size)) == 0 else {
            throw SealingError(.network, "setsockopt(timeout): \(TransitSocket.errnoText())")
        }
    }

    func send(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { b in
            var off = 0
            while off < b.count {
                let n = Glibc.send(fd, b.baseAddress! + off, b.count - off, Int32(MSG_NOSIGNAL))
                if n < 0 {
                    switch errno {
                    case EINTR: continue
                    case EAGAIN, EWOULDBLOCK: throw SealingError(.timedOut, "send timed out (the receiver stopped reading)")
                    case EPIPE, ECONNRESET: throw SealingError(.connectionLost, "the receiver closed the connection (it rejected the stream or stopped; see its error)")
                    default: throw SealingError(.network, "send: \(TransitSocket.errnoText())")
                    }
                }
                off += n
            }
        }
    }

    /// Receives exactly `count` bytes; `what` names the message for the error.
    func receive(_ count: Int, what: String) throws -> [UInt8] {
        var buf = [UInt8](repeating: 0, count: count)
        var off = 0
        try buf.withUnsafeMutableBytes { b in
            while off < count {
                let n = recv(fd, b.baseAddress! + off, count - off, 0)
                if n < 0 {
                    switch errno {
                    case EINTR: continue
                    case EAGAIN, EWOULDBLOCK: throw SealingError(.timedOut, "timed out waiting for \(what)")
                    case ECONNRESET: throw SealingError(.connectionLost, "connection reset while waiting for \(what)")
                    default: throw SealingError(.network, "recv: \(TransitSocket.errnoText())")
                    }
                }
                guard n > 0 else {
                    throw SealingError(.connectionLost, "the connection closed before \(what) (\(off) of \(count) bytes arrived): the stream is incomplete")
                }
                off += n
            }
        }
        return buf
    }
}
