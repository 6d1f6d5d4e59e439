import ArgumentParser
import Hearth

@main
struct HearthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hearth",
        abstract: "Local LLM inference.",
        subcommands: [])
}
