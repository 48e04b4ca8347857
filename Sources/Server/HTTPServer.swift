import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
public import Operations
import Synchronization

/// `tokengate serve`: an HTTP/1.1 server (keep-alive, SwiftNIO) with TLS or mutual TLS
/// (swift-nio-ssl), in front of one ``OnlineSession``. The crypto of a request runs on a thread
/// pool, off the event loops; each request's values go through the vectorized transform as one
/// batch per transformation.
///
/// Shutdown (``shutdown()``, SIGTERM in the CLI): stop accepting, let the requests already
/// received finish (up to `limits.drain-timeout-seconds`; their responses say
/// `connection: close`), close the connections, then flush the audit aggregates and close the
/// session's audit record.
public final class TokengateServer: Sendable {
    public let config: ServerConfig
    /// The bound address (the actual port when the config asked for port 0).
    public let address: ServerConfig.ListenAddress
    /// Whether the listener speaks TLS.
    public let usesTLS: Bool
    let core: ServerCore
    let group: MultiThreadedEventLoopGroup
    let serverChannel: any Channel
    let flusher: RepeatedTask
    private let finished = Mutex<Bool>(false)
    private let stopped = DispatchSemaphore(value: 0)

    /// Loads the config, opens the keyring and the online session (audited), binds and starts.
    public static func start(configPath: String, threads: Int? = nil) throws -> TokengateServer {
        let config = try ServerConfig.load(path: configPath)
        let gateway = try Gateway(keyringPath: config.resolve(config.keyring))
        return try start(config: config, gateway: gateway, threads: threads)
    }

    /// Starts a server for a loaded config over an open gateway.
    public static func start(config: ServerConfig, gateway: Gateway, threads: Int? = nil) throws -> TokengateServer {
        try config.validate()
        let tlsContext = try makeTLSContext(config)
        let n = max(1, threads ?? System.coreCount)
        let session = try gateway.openOnlineSession(
            transformations: config.sessionTransformations, decodePIN: config.anyRoleDecodes ? config.decodePIN : nil,
            pinDirectory: config.baseDirectory,
            details: ["listen": config.listen.description, "config": config.loadedFrom ?? "(in memory)", "tls": tlsContext == nil ? "off" : "on"])
        let group = MultiThreadedEventLoopGroup(numberOfThreads: n)
        let pool = NIOThreadPool(numberOfThreads: n)
        pool.start()
        var purposes: [String: String] = [:]
        for (purpose, p) in gateway.keyring.config.purposes { purposes[p.token] = purpose }
        let metrics = ServerMetrics(tokenPurposes: purposes)
        let coalescer =
            config.limits.coalesce
            ? Coalescer(
                session: session, pool: pool, maxRunners: n, maxValues: Coalescer.batchValues,
                onBatch: { op, t, values, requests in metrics.batch(op, t, values: values, requests: requests) }) : nil
        let core = ServerCore(api: API(config: config, session: session, metrics: metrics, coalescer: coalescer), pool: pool, limits: config.limits)
        let channel: any Channel
        do {
            channel = try ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(.maxMessagesPerRead, value: 16)
                .childChannelInitializer { child in
                    child.eventLoop.makeCompletedFuture {
                        guard core.admit(child) else { throw ChannelError.ioOnClosedChannel }
                        let sync = child.pipeline.syncOperations
                        if let tlsContext { try sync.addHandler(NIOSSLServerHandler(context: tlsContext)) }
                        try sync.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true)
                        try sync.addHandler(IdleStateHandler(allTimeout: .milliseconds(Int64(config.limits.idleTimeoutSeconds * 1000))))
                        try sync.addHandler(HTTPHandler(core: core))
                    }
                }
                .bind(host: config.listen.host, port: config.listen.port).wait()
        } catch {
            try? session.close(error: "cannot listen on \(config.listen): \(error)")
            try? pool.syncShutdownGracefully()
            try? group.syncShutdownGracefully()
            throw ServerError(.bind, "cannot listen on \(config.listen): \(error)")
        }
        let flusher = group.next().scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
            pool.submit { state in if state == .active { session.flushDue() } }
        }
        var bound = config.listen
        bound.port = channel.localAddress?.port ?? config.listen.port
        return TokengateServer(config: config, address: bound, usesTLS: tlsContext != nil, core: core, group: group, channel: channel, flusher: flusher)
    }

    private init(
        config: ServerConfig, address: ServerConfig.ListenAddress, usesTLS: Bool, core: ServerCore, group: MultiThreadedEventLoopGroup,
        channel: any Channel, flusher: RepeatedTask
    ) {
        self.config = config
        self.address = address
        self.usesTLS = usesTLS
        self.core = core
        self.group = group
        self.serverChannel = channel
        self.flusher = flusher
    }

    static func makeTLSContext(_ config: ServerConfig) throws -> NIOSSLContext? {
        guard let files = config.tls else { return nil }
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(config.resolve(files.certificate)).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: config.resolve(files.key), format: .pem)
            var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
            tls.minimumTLSVersion = .tlsv12
            if let ca = files.clientCA {
                // Mutual TLS: a client without a certificate chaining to this CA fails the handshake.
                tls.trustRoots = .file(config.resolve(ca))
                tls.certificateVerification = .noHostnameVerification
            }
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw ServerError(.tls, "cannot load the TLS files of the server config: \(error)")
        }
    }

    /// The session the server maps its requests to (tests).
    public var session: OnlineSession { core.api.session }

    /// Stops accepting, drains the requests received (bounded by the drain timeout), closes the
    /// connections, flushes the audit aggregates and closes the session record. Idempotent.
    public func shutdown() {
        guard
            finished.withLock({ f in
                defer { f = true }
                return !f
            })
        else {
            stopped.wait()
            stopped.signal()
            return
        }
        core.startDraining()
        try? serverChannel.close().wait()
        let deadline = Date().addingTimeInterval(config.limits.drainTimeoutSeconds)
        // Closed at the moment nothing is in flight (atomically: a request arriving later on a
        // kept-alive connection is not started, its connection just closes), so no accepted
        // request meets the stopped pool.
        while !core.closeIfIdle() && Date() < deadline { usleep(5_000) }
        let left = core.forceClose()
        for ch in core.closeAll() { ch.close(promise: nil) }
        flusher.cancel()
        try? core.pool.syncShutdownGracefully()
        do {
            try core.api.session.close(
                error: left > 0 ? "drain timed out with \(left) request(s) in flight" : nil, details: ["reason": "shutdown", "listen": address.description])
        } catch {
            FileHandle.standardError.write(Data("tokengate serve: cannot close the audit record: \(error)\n".utf8))
        }
        try? group.syncShutdownGracefully()
        stopped.signal()
    }

    /// Blocks until ``shutdown()`` finished.
    public func waitUntilStopped() {
        stopped.wait()
        stopped.signal()
    }
}

/// What every connection handler shares: the routes, the pool, the limits, the drain state.
final class ServerCore: Sendable {
    let api: API
    let pool: NIOThreadPool
    let limits: ServerConfig.Limits
    private let state = Mutex(State())

    struct State: Sendable {
        var draining = false
        /// No request starts any more (set when the drain ends).
        var closed = false
        var inFlight = 0
        var children: [ObjectIdentifier: any Channel] = [:]
    }

    init(api: API, pool: NIOThreadPool, limits: ServerConfig.Limits) {
        self.api = api
        self.pool = pool
        self.limits = limits
    }

    /// Registers a new connection; false while draining (it is refused).
    func admit(_ ch: any Channel) -> Bool {
        let ok = state.withLock { s -> Bool in
            guard !s.draining else { return false }
            s.children[ObjectIdentifier(ch)] = ch
            return true
        }
        if ok {
            let id = ObjectIdentifier(ch)
            ch.closeFuture.whenComplete { _ in self.state.withLock { _ = $0.children.removeValue(forKey: id) } }
        }
        return ok
    }

    var draining: Bool { state.withLock { $0.draining } }
    var inFlight: Int { state.withLock { $0.inFlight } }
    /// Counts a request in; false once the server closed (the request is not started).
    func enter() -> Bool {
        state.withLock { s in
            guard !s.closed else { return false }
            s.inFlight += 1
            return true
        }
    }

    /// Closes when nothing is in flight; whether it closed.
    func closeIfIdle() -> Bool {
        state.withLock { s in
            if s.inFlight == 0 { s.closed = true }
            return s.closed
        }
    }

    /// Closes whatever is in flight; returns how many requests were.
    func forceClose() -> Int {
        state.withLock { s in
            s.closed = true
            return s.inFlight
        }
    }
    func leave() { state.withLock { $0.inFlight -= 1 } }
    func startDraining() { state.withLock { $0.draining = true } }
    func closeAll() -> [any Channel] { state.withLock { Array($0.children.values) } }
}

/// One connection's HTTP/1.1 handler: collects a request within the body limit and the request
/// timeout, runs it on the pool, writes the response. Pipelined requests are serialized by NIO's
/// pipelining handler in front of it.
final class HTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    enum Phase { case idle, reading, refused, processing }

    let core: ServerCore
    private var phase = Phase.idle
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var counted = false
    private var timeout: Scheduled<Void>?
    private var certificateNames: [String]?
    private var received = ContinuousClock.now

    init(core: ServerCore) { self.core = core }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            if !counted {
                guard core.enter() else {
                    // The server stopped after its drain: the request is not started.
                    phase = .refused
                    context.close(promise: nil)
                    return
                }
                counted = true
            }
            head = h
            body.removeAll(keepingCapacity: true)
            phase = .reading
            if certificateNames == nil { certificateNames = Self.peerNames(context) }
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            timeout = context.eventLoop.scheduleTask(in: .milliseconds(Int64(core.limits.requestTimeoutSeconds * 1000))) {
                let (handler, ctx) = bound.value
                guard handler.phase == .reading else { return }
                handler.refuse(ctx, .errors(408, ["request not received within \(handler.core.limits.requestTimeoutSeconds) s"]))
            }
            if let len = h.headers.first(name: "content-length").flatMap({ Int($0) }), len > core.limits.maxBodyBytes {
                refuse(context, .errors(413, ["request body of \(len) bytes exceeds the limit of \(core.limits.maxBodyBytes)"]))
            }
        case .body(let buf):
            guard phase == .reading else { return }
            if body.count + buf.readableBytes > core.limits.maxBodyBytes {
                refuse(context, .errors(413, ["request body exceeds the limit of \(core.limits.maxBodyBytes) bytes"]))
                return
            }
            body.append(contentsOf: buf.readableBytesView)
        case .end:
            if phase == .refused {
                // The refused request's body was read to its end (so the client reads the
                // response rather than a reset); now the connection closes.
                context.close(promise: nil)
                return
            }
            guard phase == .reading, let h = head else { return }
            timeout?.cancel()
            phase = .processing
            received = .now
            var headers: [String: String] = [:]
            for (name, value) in h.headers { headers[name.lowercased()] = value }
            let request = APIRequest(
                method: h.method.rawValue, path: String(h.uri.split(separator: "?", maxSplits: 1).first ?? ""), headers: headers, body: body,
                certificateNames: certificateNames ?? [])
            body = []
            let keepAlive = h.isKeepAlive
            let api = core.api
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let answered = context.eventLoop.makePromise(of: (APIResponse, String).self)
            core.pool.submit { state in
                guard state == .active else {
                    answered.succeed((APIResponse.errors(503, ["server is shutting down"]), "other"))
                    return
                }
                api.handle(request) { response, route in answered.succeed((response, route)) }
            }
            answered.futureResult.whenComplete { result in
                let (handler, ctx) = bound.value
                let (response, route) = (try? result.get()) ?? (APIResponse.errors(503, ["server is shutting down"]), "other")
                handler.core.api.metrics.request(route: route, status: response.status, seconds: ContinuousClock.now - handler.received)
                handler.respond(ctx, response, keepAlive: keepAlive && !handler.core.draining)
            }
        }
    }

    /// Answers a request that is refused before it is whole (413, 408). After a 413 the rest of
    /// the body is read and dropped (the client then reads the response instead of a connection
    /// reset) and the connection closes at its end, or when the request timeout expires; after a
    /// 408 it closes at once.
    private func refuse(_ context: ChannelHandlerContext, _ r: APIResponse) {
        timeout?.cancel()
        phase = .refused
        core.api.metrics.error(r.status == 413 ? "bodyTooLarge" : "requestTimeout")
        core.api.metrics.request(route: "other", status: r.status, seconds: .zero)
        let closeNow = r.status != 413
        respond(context, r, keepAlive: false, close: closeNow)
        if !closeNow {
            let channel = context.channel
            timeout = context.eventLoop.scheduleTask(in: .milliseconds(Int64(core.limits.requestTimeoutSeconds * 1000))) {
                channel.close(promise: nil)
            }
        }
    }

    private func respond(_ context: ChannelHandlerContext, _ r: APIResponse, keepAlive: Bool, close: Bool? = nil) {
        let wasRefused = phase == .refused
        if !wasRefused { phase = .idle }
        head = nil
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: r.contentType)
        headers.add(name: "content-length", value: String(r.body.readableBytes))
        headers.add(name: "connection", value: keepAlive ? "keep-alive" : "close")
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: r.status), headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(r.body))), promise: nil)
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
        let leave = counted
        counted = false
        let core = self.core
        let channel = context.channel
        let closeAfter = close ?? !keepAlive
        written.futureResult.whenComplete { _ in
            if leave { core.leave() }
            if closeAfter { channel.close(promise: nil) }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            if phase == .idle || phase == .refused { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeout?.cancel()
        if counted {
            counted = false
            core.leave()
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// The verified client certificate's subject CN and DNS subject alternative names.
    static func peerNames(_ context: ChannelHandlerContext) -> [String] {
        guard let cert = (try? context.pipeline.syncOperations.nioSSL_peerCertificate()) ?? nil else { return [] }
        var names = cert.subjectName.filter { $0.type == .commonName }.map(\.value)
        for san in cert._subjectAlternativeNames() where san.nameType == .dnsName {
            names.append(String(decoding: Array(san.contents), as: UTF8.self))
        }
        return names
    }
}
