import Foundation
import Synchronization
import Tokenize

/// The progress line of a long run: on stderr, only when stderr is a terminal (never in pipes,
/// logs or CI), at most four updates a second, erased when the run ends. Shows records, MB read,
/// MB/s and, when the input's size is known, the share done and the time left.
final class ProgressLine: Sendable {
    private let total: Int?
    private let last = Mutex<Double>(-1)

    /// A reporter for `input` (a path, or `-`), or nil when stderr is not a terminal.
    static func forInput(_ input: String) -> ProgressLine? {
        guard isatty(STDERR_FILENO) == 1 else { return nil }
        var size: Int?
        if input != "-", let attrs = try? FileManager.default.attributesOfItem(atPath: input),
            attrs[.type] as? FileAttributeType == .typeRegular, let n = attrs[.size] as? NSNumber
        {
            size = n.intValue
        }
        return ProgressLine(total: size)
    }

    private init(total: Int?) { self.total = total }

    func update(_ p: TokenizeJob.JobProgress) {
        let due = last.withLock { t -> Bool in
            guard p.seconds - t >= 0.25 else { return false }
            t = p.seconds
            return true
        }
        guard due, p.seconds > 0 else { return }
        let mb = Double(p.bytes) / 1_000_000
        let rate = mb / p.seconds
        var line = String(format: "%@ records  %.1f MB  %.1f MB/s", grouped(p.records), mb, rate)
        if let total, total > 0 {
            let done = min(1, Double(p.bytes) / Double(total))
            line += String(format: "  %3.0f %%", done * 100)
            if rate > 0 { line += "  ETA " + clock(max(0, (Double(total) - Double(p.bytes)) / 1_000_000 / rate)) }
        }
        FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8))
    }

    /// Erases the line (before the run summary is printed).
    func finish() {
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }

    private func grouped(_ n: Int) -> String {
        let f = NumberFormatter()
        f.numberStyle = .decimal
        f.groupingSeparator = ","
        return f.string(from: NSNumber(value: n)) ?? "\(n)"
    }

    private func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
