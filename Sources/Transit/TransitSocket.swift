import SystemIO

/// The stream's TCP connection: a ``TCPSocket`` whose failures are ``TransitError``s
/// (`.timedOut`, `.connectionLost`, `.network`) naming what the stream was waiting for.
final class TransitSocket {
    private let socket: TCPSocket
    /// The bound port (listening sockets).
    var localPort: UInt16 { socket.localPort }

    private init(_ socket: TCPSocket) { self.socket = socket }

    /// Binds and listens on `host:port` (port 0: an ephemeral port, see ``localPort``).
    static func listen(host: String, port: UInt16) throws(TransitError) -> TransitSocket {
        do { return TransitSocket(try TCPSocket.listen(host: host, port: port)) } catch {
            throw TransitError(.network, "cannot listen on \(host):\(port): \(error)")
        }
    }

    /// Accepts one connection, waiting at most `timeout` seconds.
    func accept(timeout: Double) throws(TransitError) -> TransitSocket {
        do { return TransitSocket(try socket.accept(timeout: timeout)) } catch {
            if error.code == .timeout { throw TransitError(.timedOut, "no sender connected within \(timeout) s") }
            throw TransitError(.network, "\(error)")
        }
    }

    /// Connects to `host:port`; every later send and receive waits at most `timeout` seconds.
    static func connect(host: String, port: UInt16, timeout: Double) throws(TransitError) -> TransitSocket {
        do { return TransitSocket(try TCPSocket.connect(host: host, port: port, timeout: timeout)) } catch {
            throw TransitError(.network, "cannot connect to \(host):\(port): \(error)")
        }
    }

    func setTimeout(_ seconds: Double) throws(TransitError) {
        do { try socket.setTimeout(seconds) } catch { throw TransitError(.network, "\(error)") }
    }

    func send(_ bytes: [UInt8]) throws(TransitError) {
        do { try socket.send(bytes) } catch {
            switch error.code {
            case .timeout: throw TransitError(.timedOut, "send timed out (the receiver stopped reading)")
            case .disconnected:
                throw TransitError(.connectionLost, "the receiver closed the connection (it rejected the stream or stopped; see its error)")
            default: throw TransitError(.network, "\(error)")
            }
        }
    }

    /// Receives what has arrived into `buffer` (at least one byte, or 0 when the peer closed);
    /// `what` names what the stream waits for, for the error.
    func receive(into buffer: inout [UInt8], what: String) throws(TransitError) -> Int {
        let s = socket
        let r = buffer.withUnsafeMutableBytes { b in Result { () throws(SystemError) in try s.receive(into: b) } }
        do { return try r.get() } catch { throw Self.receiveError(error, what: what) }
    }

    /// Receives exactly `count` bytes; `what` names the message for the error.
    func receive(_ count: Int, what: String) throws(TransitError) -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: count)
        while out.count < count {
            let n = try receive(into: &chunk, what: what)
            guard n > 0 else {
                throw TransitError(.connectionLost, "the connection closed before \(what) (\(out.count) of \(count) bytes arrived): the stream is incomplete")
            }
            out += chunk[0..<min(n, count - out.count)]
        }
        return out
    }

    private static func receiveError(_ error: SystemError, what: String) -> TransitError {
        switch error.code {
        case .timeout: return TransitError(.timedOut, "timed out waiting for \(what)")
        case .disconnected: return TransitError(.connectionLost, "connection reset while waiting for \(what)")
        default: return TransitError(.network, "\(error)")
        }
    }
}
