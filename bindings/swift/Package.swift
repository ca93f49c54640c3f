// swift-tools-version:5.9
// Swift package for firekeep (iOS and macOS). Not compiled on the machine that produced it
// (no Swift toolchain there): build the XCFramework first with
// `bindings/swift/scripts/build-xcframework.sh` on a Mac, then `swift build`.
import PackageDescription

let package = Package(
    name: "Firekeep",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "Firekeep", targets: ["Firekeep"]),
    ],
    targets: [
        // The Rust static library and its C header/module map (module `firekeep_ffiFFI`).
        .binaryTarget(name: "firekeep_ffiFFI", path: "build/FirekeepFFI.xcframework"),
        // uniffi's generated Swift, checked in under generated/swift.
        .target(
            name: "Firekeep",
            dependencies: ["firekeep_ffiFFI"],
            path: "generated/swift",
            exclude: ["firekeep_ffiFFI.h", "firekeep_ffiFFI.modulemap"],
            sources: ["firekeep_ffi.swift"]
        ),
    ]
)
