// swift-tools-version:6.1
//
// Firmvisor: a RISC-V firmware virtualization monitor.
//
// One package, two builds:
// - hosted (`swift build`, `swift test`): every library target plus the tests;
// - bare metal (`scripts/build`): the `Monitor` executable as Embedded Swift for
//   `riscv64-none-none-eabi`, through the toolset in `toolchain/`.
import PackageDescription

let package = Package(
    name: "Firmvisor",
    products: [
        .library(name: "VirtCore", targets: ["VirtCore"]),
        .library(name: "Platform", targets: ["Platform"]),
        .executable(name: "Monitor", targets: ["Monitor"]),
    ],
    dependencies: [
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        // `swift package generate-documentation` (scripts/docs); no target depends on it.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        /// Pure state machines: virtual CSRs, decoding, emulation, virtual devices.
        .target(name: "VirtCore"),
        /// The thin C/assembly layer: start code, trap entry/exit, CSR and MMIO accessors.
        .target(name: "CShim"),
        /// Real hardware bindings (QEMU `virt` first) behind a generic bus.
        .target(name: "Platform", dependencies: ["VirtCore", "CShim"]),
        /// The bare-metal monitor image booted by QEMU as `-bios`.
        .executableTarget(name: "Monitor", dependencies: ["VirtCore", "Platform", "CShim"]),
        .testTarget(
            name: "VirtCoreTests",
            dependencies: [
                "VirtCore",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "PlatformTests",
            dependencies: [
                "Platform", "VirtCore",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            exclude: ["Fixtures"]
        ),
        .testTarget(name: "IntegrationTests", dependencies: [], path: "Tests/IntegrationTests"),
    ]
)
