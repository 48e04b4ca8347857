import HSM
import Operations
import Prometheus

/// The server's Prometheus metrics (`GET /metrics`): requests by route and status, values by
/// operation and transformation, request latency by route, refusals by code, and the PKCS#11
/// calls of the process (``HSMCallStats``): crypto calls by function and key purpose, failed
/// calls by function and `CKR_*` code.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    /// Token label → key purpose (the keyring's), so HSM calls are reported by purpose.
    let tokenPurposes: [String: String]

    init(tokenPurposes: [String: String] = [:]) { self.tokenPurposes = tokenPurposes }
    static let buckets: [Duration] = [
        .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1),
    ]

    func request(route: String, status: Int, seconds: Duration) {
        registry.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "tokengate", metricName: "http_requests", unitName: "total", helpText: "HTTP requests by route and status"),
            labels: [("route", route), ("status", String(status))]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(
                namespace: "tokengate", metricName: "http_request_duration", unitName: "seconds", helpText: "Request latency, body received to response ready"),
            labels: [("route", route)], buckets: Self.buckets
        ).record(seconds)
    }

    func values(_ op: OnlineOperation, _ transformation: String, _ n: Int) {
        registry.makeCounter(
            descriptor: MetricNameDescriptor(namespace: "tokengate", metricName: "values", unitName: "total", helpText: "Values encoded or decoded"),
            labels: [("operation", op.rawValue), ("transformation", transformation)]
        ).increment(by: Int64(n))
    }

    /// One batch through the vectorized transform, of `requests` coalesced requests.
    func batch(_ op: OnlineOperation, _ transformation: String, values: Int, requests: Int) {
        let labels = [("operation", op.rawValue), ("transformation", transformation)]
        registry.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "tokengate", metricName: "transform_batches", unitName: "total",
                helpText: "Batches through the vectorized transform (concurrent requests of one transformation coalesced)"),
            labels: labels
        ).increment()
        registry.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "tokengate", metricName: "transform_batch_requests", unitName: "total",
                helpText: "Requests served by those batches (requests per batch = this / transform_batches)"),
            labels: labels
        ).increment(by: Int64(requests))
    }

    func error(_ code: String) {
        registry.makeCounter(
            descriptor: MetricNameDescriptor(namespace: "tokengate", metricName: "refusals", unitName: "total", helpText: "Refused requests by error code"),
            labels: [("code", code)]
        ).increment()
    }

    func exposition() -> [UInt8] {
        var out = registry.emitToBuffer()
        let hsm = HSMCallStats.snapshot()
        var s = "# HELP tokengate_hsm_calls_total PKCS#11 crypto calls (C_Encrypt, C_Decrypt, C_Sign) by function and key purpose\n"
        s += "# TYPE tokengate_hsm_calls_total counter\n"
        var calls: [String: Int] = [:]
        for (k, n) in hsm.calls {
            calls["function=\"\(k.function)\",purpose=\"\(tokenPurposes[k.token] ?? "other")\"", default: 0] += n
        }
        for (labels, n) in calls.sorted(by: { $0.key < $1.key }) { s += "tokengate_hsm_calls_total{\(labels)} \(n)\n" }
        s += "# HELP tokengate_hsm_errors_total Failed PKCS#11 calls by function and CKR_ code\n"
        s += "# TYPE tokengate_hsm_errors_total counter\n"
        for (k, n) in hsm.errors.sorted(by: { ($0.key.function, $0.key.code) < ($1.key.function, $1.key.code) }) {
            s += "tokengate_hsm_errors_total{function=\"\(k.function)\",code=\"\(k.code)\"} \(n)\n"
        }
        out.append(contentsOf: s.utf8)
        return out
    }
}
