// swift-tools-version:6.1
//
// TinyMonitor: a second, small consumer of Firmvisor's libraries. It reaches
// VirtCore and Platform through their products and public API only, the way
// another monitor would, and simulates a hosted "machine" on which a tiny
// hand-encoded firmware runs deprivileged.
//
//   swift test --package-path Examples/TinyMonitor --scratch-path Examples/TinyMonitor/.build
//   swift run --package-path Examples/TinyMonitor --scratch-path Examples/TinyMonitor/.build tiny-monitor
import PackageDescription

let package = Package(
    name: "TinyMonitor",
    products: [
        .library(name: "TinyMonitor", targets: ["TinyMonitor"]),
        .executable(name: "tiny-monitor", targets: ["TinyMonitorMain"]),
    ],
    dependencies: [
        // The repository root. The name lets the products below say
        // `package: "Firmvisor"` whatever the checkout's directory is called.
        .package(name: "Firmvisor", path: "../.."),
    ],
    targets: [
        .target(
            name: "TinyMonitor",
            dependencies: [
                .product(name: "VirtCore", package: "Firmvisor"),
                .product(name: "Platform", package: "Firmvisor"),
            ]
        ),
        .executableTarget(name: "TinyMonitorMain", dependencies: ["TinyMonitor"]),
        .testTarget(
            name: "TinyMonitorTests",
            dependencies: [
                "TinyMonitor",
                .product(name: "VirtCore", package: "Firmvisor"),
            ]
        ),
    ]
)
