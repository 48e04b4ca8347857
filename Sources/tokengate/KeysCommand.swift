import ArgumentParser
import Crypto
import Foundation
import Keyring
import Operations

struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create, list, rotate and retire HSM keys.",
        discussion: """
            Keys are labelled tokengate/<purpose>/<name>/v<N>. The newest version of a key is its \
            primary: it alone wraps, tokenizes and signs; older versions only unwrap or detokenize \
            until they are retired.
            """,
        subcommands: [Init.self, List.self, Rotate.self, Retire.self, Unwrap.self, Wrap.self]
    )

    struct Unwrap: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Unwrap a Parquet data key inside the HSM (for pyarrow's KmsClient; audited like open).",
            discussion: """
                Reads the key material's wrappedDEK (base64 envelope) on standard input and writes the \
                data key, base64, on standard output. python/tokengate/encryption.py calls it; nothing \
                secret is ever an argument.
                Example: echo "$WRAPPED" | tokengate keys unwrap --master-key-id tokengate/at-rest/datasets/v1
                """)
        @Option(help: "The key material's masterKeyID: tokengate/at-rest/<name>/v<N>, at-rest/<name> or <name>.") var masterKeyId: String
        @OptionGroup var options: KeyringOptions

        func run() throws {
            var input = FileHandle.standardInput.readDataToEndOfFile()
            let wrapped = String(decoding: input, as: UTF8.self)
            try options.open().unwrapParquetKey(masterKeyID: masterKeyId, wrappedDEK: wrapped) { secret in
                var text = secret.withUnsafeBytes { Data($0).base64EncodedData() }
                text.append(0x0A)
                defer { text.withUnsafeMutableBytes { zeroize($0) } }
                try FileHandle.standardOutput.write(contentsOf: text)
            }
            input.withUnsafeMutableBytes { zeroize($0) }
        }
    }

    struct Wrap: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Wrap a caller's 32-byte Parquet data key inside the HSM (for pyarrow writing PME files; audited).",
            discussion: """
                Reads the data key, base64, on standard input and writes its envelope (the key material's \
                wrappedDEK), base64, on standard output; wrapped by the primary version of the at-rest key.
                Example: tokengate keys wrap --master-key-id at-rest/datasets < dek.b64
                """)
        @Option(help: "The at-rest key: at-rest/<name>, <name> or tokengate/at-rest/<name>/v<N> (must be the primary version).")
        var masterKeyId: String
        @OptionGroup var options: KeyringOptions

        func run() throws {
            var input = FileHandle.standardInput.readDataToEndOfFile()
            defer { input.withUnsafeMutableBytes { zeroize($0) } }
            let trimmed = input.filter { $0 != 0x0A && $0 != 0x0D && $0 != 0x20 }
            guard var raw = Data(base64Encoded: trimmed).map({ [UInt8]($0) }) else {
                throw ValidationError("standard input is not a base64 data key")
            }
            let key = SecretBytes(consumingArray: &raw)
            print(try options.open().wrapParquetKey(masterKeyID: masterKeyId, key: key))
        }
    }

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create version 1 of every configured key that has none (idempotent).",
            discussion: "Example: tokengate keys init --keyring keys-config/keyring.dev.yaml")
        @OptionGroup var options: KeyringOptions

        func run() throws {
            let gateway = try options.open()
            warnIfDevelopment(gateway)
            let created = try gateway.initializeKeys()
            if created.isEmpty {
                print("all configured keys exist; nothing created")
            } else {
                for k in created { print("created \(k.label) id=\(k.id)") }
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List key versions with their custody attributes as read from the HSM.",
            discussion: "Example: tokengate keys list --json")
        @OptionGroup var options: KeyringOptions
        @Flag(
            help: "Print JSON: {\"keys\":[{label, purpose, name, version, primary, id, created, attributes, allowedMechanisms, custodyViolations, configured}]}"
        )
        var json = false

        func run() throws {
            let gateway = try options.open()
            let keys = try gateway.listKeys()
            if json {
                struct Out: Encodable {
                    let development: Bool
                    let keys: [KeyInfo]
                }
                let enc = JSONEncoder()
                enc.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try enc.encode(Out(development: gateway.isDevelopment, keys: keys)), as: UTF8.self))
                return
            }
            warnIfDevelopment(gateway)
            let rows = keys.map { k -> [String] in
                let usage = [
                    "CKA_ENCRYPT": "encrypt", "CKA_DECRYPT": "decrypt", "CKA_SIGN": "sign", "CKA_VERIFY": "verify",
                    "CKA_WRAP": "wrap", "CKA_UNWRAP": "unwrap", "CKA_DERIVE": "derive",
                ]
                .filter { k.attributes[$0.key] == true }.map(\.value).sorted().joined(separator: ",")
                let custody = k.custodyViolations.isEmpty ? "ok" : "VIOLATION: " + k.custodyViolations.joined(separator: "; ")
                return [
                    k.label, k.primary ? "primary" : "decrypt-only", k.id, k.created ?? "-", usage,
                    (k.allowedMechanisms ?? ["(not enforced)"]).joined(separator: ","), custody + (k.configured ? "" : " (not in config)"),
                ]
            }
            printTable(["LABEL", "STATE", "CKA_ID", "CREATED", "USAGE", "MECHANISMS", "CUSTODY"], rows)
            print(
                "custody: ok = CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE, CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE true; CKA_EXTRACTABLE, CKA_MODIFIABLE false; only the usage flags above"
            )
        }
    }

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create version N+1 of a key; it becomes primary, older versions become decrypt-only.",
            discussion: "Example: tokengate keys rotate at-rest/datasets")
        @OptionGroup var options: KeyringOptions
        @Argument(help: "Key as <purpose>/<name>, e.g. in-use/pan.") var key: String

        func run() throws {
            let ref = try KeyRef(parsing: key)
            let gateway = try options.open()
            warnIfDevelopment(gateway)
            let k = try gateway.rotateKey(ref)
            print("rotated \(ref): \(k.label) is primary (id=\(k.id)); older versions are decrypt-only")
        }
    }

    struct Retire: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Destroy one non-primary version of a key in the HSM.",
            discussion: """
                Data wrapped or tokenized under that version can no longer be opened or detokenized.
                Examples:
                  tokengate keys retire in-use/pan --version 1
                  tokengate keys retire at-rest/datasets --version 1 --datasets /data/sealed
                """)
        @OptionGroup var options: KeyringOptions
        @Argument(help: "Key as <purpose>/<name>.") var key: String
        @Option(help: "Version to destroy.") var version: Int
        @Option(help: "For at-rest keys: a dataset directory to search for sealed files still wrapped by this version.") var datasets: String?
        @Flag(help: "Retire even though sealed files in --datasets still need this version (they will no longer open).") var force = false

        func validate() throws {
            guard version > 0 else { throw ValidationError("--version must be 1 or more") }
        }

        func run() throws {
            let ref = try KeyRef(parsing: key)
            guard datasets == nil || ref.purpose == .atRest else { throw ValidationError("--datasets applies to at-rest keys") }
            let gateway = try options.open()
            warnIfDevelopment(gateway)
            let r = try gateway.retireKey(ref, version: version, datasets: datasets, force: force)
            if !r.orphanedFiles.isEmpty {
                let list = r.orphanedFiles.map { "  \($0)" }.joined(separator: "\n")
                FileHandle.standardError.write(
                    Data(
                        "warning: --force: \(r.orphanedFiles.count) sealed file(s) in \(datasets ?? "") were wrapped by \(r.key.label) and no longer open:\n\(list)\n"
                            .utf8))
            }
            print("retired \(r.key.label) (id=\(r.key.id)): destroyed in the HSM")
        }
    }
}

func warnIfDevelopment(_ gateway: Gateway) {
    if gateway.isDevelopment {
        FileHandle.standardError.write(Data("note: development keyring (SoftHSM2 with PINs on disk under .dev/) — not for production data\n".utf8))
    }
}

func printTable(_ header: [String], _ rows: [[String]]) {
    var widths = header.map(\.count)
    for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
    func line(_ r: [String]) -> String {
        r.enumerated().map { i, c in i == r.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: "  ")
    }
    print(line(header))
    for r in rows { print(line(r)) }
}

/// A command's refusal, printed as `Error: reason` without the usage text.
struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
