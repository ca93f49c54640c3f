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
        // uniffi's generated Swift (checked in under generated/swift) and the hand-written
        // wrappers of the C functions over caller-owned buffers (Sources/FirekeepBuffers,
        // declared in include/firekeep_buffers.h, which build-xcframework.sh adds to the
        // module map). One module: the wrappers use the generated converters.
        .target(
            name: "Firekeep",
            dependencies: ["firekeep_ffiFFI"],
            path: ".",
            sources: ["generated/swift/firekeep_ffi.swift", "Sources/FirekeepBuffers/Buffers.swift"]
        ),
    ]
)
