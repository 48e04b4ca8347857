import ArgumentParser
import Foundation
import Operations
import Tagging
import Tokenize

struct ScanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Classify the columns of a CSV, JSON Lines or Parquet file (no keys needed, but for a PME file).",
        discussion: """
            A Parquet Modular Encryption file (`tokenize --seal --out x.parquet`, `seal x.parquet`, or pyarrow's with \
            tokengate's KmsClient) is decrypted in memory with the keyring's at-rest key, as `open` does: that scan \
            reads clear values, so it is an audited operation (`scan` in the audit log, naming the data keys).
            Examples:
              tokengate scan Fixtures/feeds/customers.csv --json
              tokengate scan feed.csv --emit-policy keys-config/feed.policy.yaml   # review, commit, then: tokenize --policy keys-config/feed.policy.yaml
              tokengate scan sealed.parquet --keyring keys-config/keyring.yaml    # PME: audited
            JSON: {"columns":[{"name","index","tag"|null,"status","confidence","sampled","matched",…}]}
            """)
    @Argument(help: "File to scan, or - for stdin.") var path: String
    @Option(help: "csv, jsonl or parquet (default: from the extension, else the PAR1 magic or the first line).") var format: String?
    @Option(help: "Rows sampled from the head of the file.") var sampleRows = 2000
    @Flag(help: "Print JSON.") var json = false
    @Option(
        help:
            "Write a policy naming every column with the rule this scan would apply (columns to review as commented choices), to review, commit and pass with --policy."
    )
    var emitPolicy: String?
    @Option(help: "With --emit-policy: the policy whose tag rules, algorithm and custody the new one starts from (default: the built-in policy).")
    var policy: String?
    @Option(help: "A Parquet Modular Encryption file's AAD prefix (text), for a file that does not store its own.") var aadPrefix: String?
    @OptionGroup var keys: KeyringOptions

    func run() throws {
        var request = ScanRequest(path: path, format: format.flatMap(DataFormat.init(rawValue:)), sampleRows: sampleRows)
        request.aadPrefix = aadPrefix.map { Array($0.utf8) }
        // Only a PME file needs the keyring (an audited open); any other input is scanned without keys.
        let gateway = Gateway.isEncryptedParquet(path: path) ? try keys.open() : nil
        let cols: [ColumnClassification]
        if let emitPolicy {
            cols = try gateway?.emitPolicy(request, basePolicy: policy, to: emitPolicy) ?? Gateway.emitPolicy(request, basePolicy: policy, to: emitPolicy)
        } else {
            cols = try gateway?.scan(request) ?? Gateway.scan(request)
        }
        if let emitPolicy {
            let review = cols.filter { $0.status == .ambiguous || $0.status == .needsReview }.count
            FileHandle.standardError.write(Data("policy written to \(emitPolicy): \(cols.count) columns\(review > 0 ? ", \(review) to review" : "")\n".utf8))
        }
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
