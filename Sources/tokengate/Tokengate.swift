import ArgumentParser

/// The `tokengate` command line (root). Subcommands are thin layers over the library modules.
@main
struct Tokengate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokengate",
        abstract: "Tokenization and encryption gateway with HSM-backed key custody.",
        subcommands: [FPECommand.self]
    )
}
