// swift-tools-version:6.0
import PackageDescription

/// Kernel modules drop Swift's bounds/exclusivity checks (see ../shared/notes/swift-kernels.md: they block
/// vectorization). Everything else keeps Swift's checks.
let kernelFlags: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-enforce-exclusivity=unchecked"])]

let package = Package(
    name: "Hearth",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "Hearth", targets: ["Hearth"]),
        .executable(name: "hearth", targets: ["hearth"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.20.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
    ],
    targets: [
        .target(name: "HearthTensors", swiftSettings: kernelFlags),
        .target(name: "HearthFormats", dependencies: ["HearthTensors"]),
        // One module per ISA level: intrinsics need the matching -target-cpu, chosen at run time.
        // Inline C functions Swift cannot express: software prefetch, `pause`, immediate-operand AVX-512 intrinsics.
        .target(name: "CHearthPrefetch"),
        .target(name: "HearthKernelsAVX512", dependencies: ["HearthTensors", "CHearthPrefetch"],
                swiftSettings: [.unsafeFlags(["-Ounchecked", "-enforce-exclusivity=unchecked",
                                              "-target-cpu", "icelake-server"])]),
        .target(name: "HearthKernelsAVX2", dependencies: ["HearthTensors", "CHearthPrefetch"],
                swiftSettings: [.unsafeFlags(["-Ounchecked", "-enforce-exclusivity=unchecked",
                                              "-target-cpu", "haswell"])]),
        .target(name: "HearthKernels",
                dependencies: ["HearthTensors", "HearthKernelsAVX512", "HearthKernelsAVX2"],
                swiftSettings: kernelFlags),
        .target(name: "HearthTokenizers", dependencies: ["HearthFormats"]),
        .target(name: "HearthModels", dependencies: ["HearthKernels", "HearthFormats"]),
        .target(name: "HearthGrammar"),
        .target(name: "HearthEngine", dependencies: ["HearthModels", "HearthTokenizers", "HearthGrammar"]),
        // Jinja chat templates (Hugging Face's apply_chat_template semantics); no dependencies.
        .target(name: "HearthTemplates"),
        // Conversations → prompts (chat templates), shared by the CLI and both server APIs.
        .target(name: "HearthChat", dependencies: ["HearthEngine", "HearthTemplates", "HearthGrammar"]),
        // The model store (blobs + manifests as Ollama lays them out), Modelfiles and pull.
        .target(name: "HearthStore", dependencies: [
            "HearthFormats", "HearthTensors",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        .target(name: "HearthServer", dependencies: [
            "HearthEngine", "HearthChat", "HearthStore", "HearthGrammar", "HearthTemplates", "HearthKernels",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        .target(name: "Hearth", dependencies: ["HearthEngine", "HearthGrammar", "HearthTemplates", "HearthChat"]),
        .executableTarget(name: "hearth", dependencies: [
            "Hearth", "HearthStore", "HearthServer", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        .testTarget(name: "HearthFormatsTests", dependencies: ["HearthFormats"]),
        .testTarget(name: "HearthKernelsTests", dependencies: ["HearthKernels", "HearthFormats"],
                    resources: [.copy("Vectors")]),
        .testTarget(name: "HearthTokenizersTests", dependencies: ["HearthTokenizers"]),
        .testTarget(name: "HearthModelsTests", dependencies: ["HearthEngine", "HearthGrammar"]),
        .testTarget(name: "HearthStoreTests", dependencies: ["HearthStore"]),
        .testTarget(name: "HearthTemplatesTests", dependencies: ["HearthTemplates"],
                    exclude: ["jinja2-cases.json", "make-jinja2-cases.py", "jinja2-conversations.json",
                              "make-jinja2-conversations.py"]),
        .testTarget(name: "HearthEngineTests", dependencies: ["HearthEngine"]),
        .testTarget(name: "HearthCLITests", dependencies: ["HearthTemplates"]),
        .testTarget(name: "HearthServerTests", dependencies: ["HearthServer"]),
        .testTarget(name: "HearthGrammarTests", dependencies: ["HearthGrammar"]),
        .testTarget(name: "HearthChatTests", dependencies: ["HearthChat", "HearthEngine", "HearthGrammar", "HearthTemplates"]),
    ]
)
