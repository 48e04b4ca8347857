import Operations
import Prometheus

/// The server's Prometheus metrics (`GET /metrics`): requests by route and status, values by
/// operation and transformation, request latency by route, refusals by code.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
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
        registry.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "tokengate", metricName: "transform_batches", unitName: "total",
                helpText: "Batches through the vectorized transform (one per transformation per request)"),
            labels: [("operation", op.rawValue), ("transformation", transformation)]
        ).increment()
    }

    func error(_ code: String) {
        registry.makeCounter(
            descriptor: MetricNameDescriptor(namespace: "tokengate", metricName: "refusals", unitName: "total", helpText: "Refused requests by error code"),
            labels: [("code", code)]
        ).increment()
    }

    func exposition() -> [UInt8] { registry.emitToBuffer() }
}
