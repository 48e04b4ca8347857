import ArgumentParser
import Foundation
import Operations
import Tagging
import Tokenize

struct ScanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Classify the columns of a CSV or JSON Lines file (no keys needed).",
        discussion: """
            Example: tokengate scan Fixtures/feeds/customers.csv --json
            JSON: {"columns":[{"name","index","tag"|null,"status","confidence","sampled","matched",…}]}
            """)
    @Argument(help: "File to scan, or - for stdin.") var path: String
    @Option(help: "csv or jsonl (default: from the extension).") var format: String?
    @Option(help: "Rows sampled from the head of the file.") var sampleRows = 2000
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let cols = try Gateway.scan(ScanRequest(path: path, format: format.flatMap(DataFormat.init(rawValue:)), sampleRows: sampleRows))
        if json {
            struct Out: Encodable { let columns: [ColumnClassification] }
            let e = JSONEncoder()
            e.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try e.encode(Out(columns: cols)), as: UTF8.self))
            return
        }
        let rows = cols.map { c -> [String] in
            let embedded =
                c.containsEmbedded.isEmpty ? "" : " embedded: " + c.containsEmbedded.map { "\($0.key.rawValue)×\($0.value)" }.sorted().joined(separator: ",")
            return [
                "\(c.index)", c.name, c.tag?.rawValue ?? "-", c.status.rawValue, String(format: "%.2f", c.confidence), "\(c.matched)/\(c.sampled)",
                c.reason + embedded,
            ]
        }
        printTable(["#", "COLUMN", "TAG", "STATUS", "CONF", "MATCHED", "WHY"], rows)
    }
}
