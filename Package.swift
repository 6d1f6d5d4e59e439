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
    ],
    targets: [
        .target(name: "HearthTensors", swiftSettings: kernelFlags),
        .target(name: "HearthFormats", dependencies: ["HearthTensors"]),
        // One module per ISA level: intrinsics need the matching -target-cpu, chosen at run time.
        .target(name: "HearthKernelsAVX512", dependencies: ["HearthTensors"],
                swiftSettings: [.unsafeFlags(["-Ounchecked", "-enforce-exclusivity=unchecked",
                                              "-target-cpu", "icelake-server"])]),
        .target(name: "HearthKernelsAVX2", dependencies: ["HearthTensors"],
                swiftSettings: [.unsafeFlags(["-Ounchecked", "-enforce-exclusivity=unchecked",
                                              "-target-cpu", "haswell"])]),
        .target(name: "HearthKernels",
                dependencies: ["HearthTensors", "HearthKernelsAVX512", "HearthKernelsAVX2"],
                swiftSettings: kernelFlags),
        .target(name: "HearthTokenizers", dependencies: ["HearthFormats"]),
        .target(name: "HearthModels", dependencies: ["HearthKernels", "HearthFormats"]),
        .target(name: "HearthGrammar"),
        .target(name: "HearthEngine", dependencies: ["HearthModels", "HearthTokenizers", "HearthGrammar"]),
        .target(name: "Hearth", dependencies: ["HearthEngine", "HearthGrammar"]),
        .executableTarget(name: "hearth", dependencies: [
            "Hearth", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "HearthFormatsTests", dependencies: ["HearthFormats"]),
        .testTarget(name: "HearthKernelsTests", dependencies: ["HearthKernels", "HearthFormats"],
                    resources: [.copy("Vectors")]),
        .testTarget(name: "HearthTokenizersTests", dependencies: ["HearthTokenizers"]),
        .testTarget(name: "HearthModelsTests", dependencies: ["HearthEngine", "HearthGrammar"]),
        .testTarget(name: "HearthCLITests", dependencies: []),
        .testTarget(name: "HearthGrammarTests", dependencies: ["HearthGrammar"]),
    ]
)
