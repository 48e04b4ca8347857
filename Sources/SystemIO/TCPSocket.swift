import Synchronization

#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Musl)
    internal import Musl
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// A blocking TCP socket with bounded waits: listen, accept, connect, send-all, receive.
///
/// Failures are ``SystemError``s naming the address: `.timeout` when a wait ran past its bound,
/// `.disconnected` when the peer closed or reset the connection, `.resolve`, `.socket`,
/// `.connect`, `.accept`, `.read`, `.write` otherwise.
public final class TCPSocket: Sendable {
    /// `host:port` of the peer (connected sockets) or of the bound address (listening ones).
    public let address: String
    /// The bound port (listening sockets; 0 otherwise).
    public let localPort: UInt16
    private let fd: Atomic<Int32>

    private init(fd: Int32, address: String, localPort: UInt16 = 0) {
        self.fd = Atomic(fd)
        self.address = address
        self.localPort = localPort
    }

    deinit {
        let raw = fd.load(ordering: .acquiring)
        if raw >= 0 { _ = systemClose(raw) }
    }

    /// Closes the socket now (idempotent).
    public func close() {
        let raw = fd.exchange(-1, ordering: .acquiringAndReleasing)
        // A failed close of a socket leaves nothing to recover; the descriptor is released.
        if raw >= 0 { _ = systemClose(raw) }
    }

    private var raw: Int32 { fd.load(ordering: .acquiring) }

    // MARK: - Addresses

    /// Every address of `host:port` in resolver order, each tried with `body` until one returns
    /// a socket; the last failure is reported otherwise. The one getaddrinfo/socket loop.
    private static func eachAddress(
        host: String, port: UInt16, passive: Bool, failure: SystemError.Code, verb: String,
        _ body: (Int32, UnsafePointer<addrinfo>) throws(SystemError) -> TCPSocket
    ) throws(SystemError) -> TCPSocket {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = streamSocketType
        hints.ai_flags = passive ? AI_PASSIVE : 0
        var res: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &res)
        guard rc == 0, let res else {
            let text = gai_strerror(rc).map { String(cString: $0) } ?? "resolver error \(rc)"
            throw SystemError(.resolve, "cannot resolve \(host):\(port): \(text)")
        }
        defer { freeaddrinfo(res) }
        var last = SystemError(failure, "cannot \(verb) \(host):\(port): no address")
        var ai: UnsafeMutablePointer<addrinfo>? = res
        while let a = ai {
            ai = a.pointee.ai_next
            let s = socket(a.pointee.ai_family, a.pointee.ai_socktype | socketCloseOnExec, a.pointee.ai_protocol)
            guard s >= 0 else {
                last = SystemError.current(.socket, "cannot \(verb) \(host):\(port): socket")
                continue
            }
            #if canImport(Darwin)
                _ = fcntl(s, F_SETFD, FD_CLOEXEC)
            #endif
            do {
                return try body(s, UnsafePointer(a))
            } catch {
                _ = systemClose(s)
                last = error
            }
        }
        throw last
    }

    /// Binds and listens on `host:port` (port 0: an ephemeral port, see ``localPort``).
    /// - Throws: ``SystemError`` `.resolve` or `.socket`.
    public static func listen(host: String, port: UInt16, backlog: Int32 = 1) throws(SystemError) -> TCPSocket {
        let name = "\(host):\(port)"
        return try eachAddress(host: host, port: port, passive: true, failure: .socket, verb: "listen on") { (s, a) throws(SystemError) in
            var one: Int32 = 1
            guard setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
                throw SystemError.current(.socket, "cannot listen on \(name): setsockopt(SO_REUSEADDR)")
            }
            guard bind(s, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 else {
                throw SystemError.current(.socket, "cannot listen on \(name): bind")
            }
            guard systemListen(s, backlog) == 0 else {
                throw SystemError.current(.socket, "cannot listen on \(name): listen")
            }
            let bound = try boundPort(s, name: name)
            return TCPSocket(fd: s, address: "\(host):\(bound)", localPort: bound)
        }
    }

    private static func boundPort(_ s: Int32, name: String) throws(SystemError) -> UInt16 {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) }
        }
        guard rc == 0 else { throw SystemError.current(.stat, "cannot listen on \(name): getsockname") }
        return withUnsafePointer(to: &storage) { p -> UInt16 in
            if Int32(p.pointee.ss_family) == AF_INET6 {
                return p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
            }
            return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
    }

    /// Accepts one connection, waiting at most `timeout` seconds.
    /// - Throws: ``SystemError`` `.timeout` (nobody connected in time) or `.accept`.
    public func accept(timeout: Double) throws(SystemError) -> TCPSocket {
        var p = pollfd(fd: raw, events: Int16(POLLIN), revents: 0)
        let ms = Int32(max(0, min(timeout * 1000, Double(Int32.max))))
        let ready = try retryingInterrupts(.accept, "cannot accept on \(address): poll") { poll(&p, 1, ms) }
        guard ready > 0 else { throw SystemError(.timeout, "no connection on \(address) within \(timeout) s") }
        let listening = raw
        let c = try retryingInterrupts(.accept, "cannot accept on \(address)") { systemAccept(listening) }
        guard fcntl(c, F_SETFD, FD_CLOEXEC) == 0 else {
            let e = SystemError.current(.accept, "cannot accept on \(address): fcntl(FD_CLOEXEC)")
            _ = systemClose(c)
            throw e
        }
        let s = TCPSocket(fd: c, address: "peer of \(address)")
        try s.configure()
        return s
    }

    /// Connects to `host:port`, trying each resolved address; the connect and every later send
    /// and receive wait at most `timeout` seconds.
    /// - Throws: ``SystemError`` `.resolve`, `.socket`, `.connect` or `.timeout`.
    public static func connect(host: String, port: UInt16, timeout: Double) throws(SystemError) -> TCPSocket {
        let name = "\(host):\(port)"
        return try eachAddress(host: host, port: port, passive: false, failure: .connect, verb: "connect to") { (s, a) throws(SystemError) in
            let socket = TCPSocket(fd: s, address: name)
            // Ownership of `s` passes to `socket` only on success: on a throw eachAddress closes it.
            do throws(SystemError) {
                try socket.configure()
                try socket.setTimeout(timeout)  // SO_SNDTIMEO also bounds connect on Linux
            } catch {
                socket.release()
                throw error
            }
            if systemConnect(s, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 { return socket }
            let e = SystemError.current(.connect, "cannot connect to \(name)")
            socket.release()
            if e.errorNumber == EINPROGRESS || e.errorNumber == EAGAIN {
                throw SystemError(.timeout, "cannot connect to \(name): timed out after \(timeout) s", errorNumber: e.errorNumber)
            }
            throw e
        }
    }

    /// Gives up the descriptor without closing it (the caller closes it).
    private func release() { _ = fd.exchange(-1, ordering: .acquiringAndReleasing) }

    private func configure() throws(SystemError) {
        #if canImport(Darwin)
            var one: Int32 = 1
            guard setsockopt(raw, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
                throw SystemError.current(.socket, "setsockopt(SO_NOSIGPIPE) on \(address)")
            }
        #endif
    }

    /// Bounds every later send and receive to `seconds` (at least 1 ms).
    /// - Throws: ``SystemError`` `.socket`.
    public func setTimeout(_ seconds: Double) throws(SystemError) {
        let s = max(0.001, seconds)
        var tv = timeval()
        tv.tv_sec = .init(Int(s))
        tv.tv_usec = .init(Int((s - Double(Int(s))) * 1_000_000))
        guard setsockopt(raw, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size)) == 0,
            setsockopt(raw, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size)) == 0
        else {
            throw SystemError.current(.socket, "setsockopt(timeout) on \(address)")
        }
    }

    /// Closes the sending direction (`shutdown(SHUT_WR)`): the peer reads the end of the stream.
    /// - Throws: ``SystemError`` `.socket`.
    public func shutdownSending() throws(SystemError) {
        #if canImport(Darwin)
            let how = SHUT_WR
        #else
            let how = Int32(SHUT_WR)
        #endif
        guard shutdown(raw, how) == 0 else { throw SystemError.current(.socket, "shutdown(SHUT_WR) on \(address)") }
    }

    // MARK: - Data

    /// Sends all of `bytes`.
    /// - Throws: ``SystemError`` `.timeout` (the peer stopped reading), `.disconnected` (it closed
    ///   or reset the connection) or `.write`.
    public func send(_ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        guard let base = bytes.baseAddress else { return }
        let s = raw
        var off = 0
        while off < bytes.count {
            let n: Int
            do {
                n = try retryingInterrupts(.write, "cannot send to \(address)") { systemSend(s, base + off, bytes.count - off) }
            } catch {
                throw SystemError.classified(error, address: address, direction: "send")
            }
            off += n
        }
    }

    /// Sends all of `bytes`.
    public func send(_ bytes: [UInt8]) throws(SystemError) {
        try withRawBytes(of: bytes) { (b) throws(SystemError) in try send(b) }
    }

    /// One `recv(2)` into `buffer`: how many bytes arrived, 0 when the peer closed its side.
    /// - Throws: ``SystemError`` `.timeout` (nothing arrived in time), `.disconnected` (reset) or `.read`.
    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        let s = raw
        do {
            return try retryingInterrupts(.read, "cannot receive from \(address)") { systemReceive(s, base, buffer.count) }
        } catch {
            throw SystemError.classified(error, address: address, direction: "receive")
        }
    }
}

extension SystemError {
    /// A send/receive failure as `.timeout` (`EAGAIN`: the socket's timeout ran out) or
    /// `.disconnected` (`EPIPE`, `ECONNRESET`), else unchanged.
    static func classified(_ e: SystemError, address: String, direction: String) -> SystemError {
        switch e.errorNumber {
        case EAGAIN, EWOULDBLOCK:
            return SystemError(.timeout, "\(direction) on \(address) timed out", errorNumber: e.errorNumber)
        case EPIPE, ECONNRESET:
            return SystemError(.disconnected, "\(address) closed the connection during \(direction)", errorNumber: e.errorNumber)
        default:
            return e
        }
    }
}
