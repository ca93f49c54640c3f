#!/usr/bin/env bash
# Builds bindings/swift/build/FirekeepFFI.xcframework (static libraries for iOS devices, the
# iOS simulator and macOS, with the uniffi C header and module map) for Package.swift.
# macOS only (needs Xcode's xcodebuild and lipo). Not run on the Linux machine this was
# written on: see docs/mobile.md.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac
[ "$(uname -s)" = Darwin ] || { echo "build-xcframework.sh needs macOS with Xcode" >&2; exit 1; }

targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin)
rustup target add "${targets[@]}"
for t in "${targets[@]}"; do
  cargo build --release -p firekeep-ffi --lib --target "$t"
done

# Keep the checked-in sources current with the library being packaged.
bash "$here/scripts/generate.sh"

out="$here/build"
rm -rf "$out"
mkdir -p "$out/headers" "$out/ios-sim" "$out/macos"
cp "$here/generated/swift/firekeep_ffiFFI.h" "$here/include/firekeep_buffers.h" "$out/headers/"
# The module must be called module.modulemap inside an XCFramework's headers; it also declares
# the hand-written C functions over caller-owned buffers (include/firekeep_buffers.h).
awk '{ print } /header "firekeep_ffiFFI.h"/ { sub(/firekeep_ffiFFI\.h/, "firekeep_buffers.h"); print }' \
  "$here/generated/swift/firekeep_ffiFFI.modulemap" >"$out/headers/module.modulemap"
grep -q firekeep_buffers.h "$out/headers/module.modulemap"
lib=libfirekeep_ffi.a
lipo -create "$target/aarch64-apple-ios-sim/release/$lib" "$target/x86_64-apple-ios/release/$lib" \
  -output "$out/ios-sim/$lib"
lipo -create "$target/aarch64-apple-darwin/release/$lib" "$target/x86_64-apple-darwin/release/$lib" \
  -output "$out/macos/$lib"
xcodebuild -create-xcframework \
  -library "$target/aarch64-apple-ios/release/$lib" -headers "$out/headers" \
  -library "$out/ios-sim/$lib" -headers "$out/headers" \
  -library "$out/macos/$lib" -headers "$out/headers" \
  -output "$out/FirekeepFFI.xcframework"
echo "built $out/FirekeepFFI.xcframework"
