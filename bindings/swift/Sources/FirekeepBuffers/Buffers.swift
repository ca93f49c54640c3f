// Hand-written (not generated): encrypt and decrypt over caller-owned memory, through the C
// functions of bindings/swift/src/buffers.rs (declared in include/firekeep_buffers.h). Mirrors
// bindings/kotlin/src/main/kotlin/uniffi/firekeep_ffi/Buffers.kt. NOT COMPILED on the machine
// that wrote it (no Swift toolchain there): the Kotlin and Python wrappers of the same C
// functions are the tested ones.
import Foundation
#if canImport(firekeep_ffiFFI)
import firekeep_ffiFFI
#endif

/// Encrypts `plaintext` into the start of `output`, like `encrypt(key:plaintext:options:)` but
/// over memory you own: no copy besides the encryption itself. `output` needs at least
/// `encryptedLen(plaintextLen:options:)` bytes and must not overlap `plaintext`. Returns the
/// object's length. Errors are `FirekeepError`s, the same as `encrypt`'s.
public func encryptInto(key: Data, plaintext: UnsafeRawBufferPointer,
                        output: UnsafeMutableRawBufferPointer,
                        options: ObjectOptions? = nil) throws -> Int {
    let opts = options.map(FfiConverterTypeObjectOptions_lower)
        ?? RustBuffer(capacity: 0, len: 0, data: nil)
    // The key is read in place; Rust copies it into memory it zeroes after the call.
    let n = try key.withUnsafeBytes { k in
        try firekeepCallWithStatus { status in
            firekeep_ffi_encrypt_into(
                k.bindMemory(to: UInt8.self).baseAddress, UInt64(k.count),
                plaintext.bindMemory(to: UInt8.self).baseAddress, UInt64(plaintext.count),
                output.bindMemory(to: UInt8.self).baseAddress, UInt64(output.count),
                opts, status)
        }
    }
    return Int(n)
}

/// Decrypts `object` into the start of `output`, like `decrypt(key:object:)` but over memory
/// you own. An output as large as the object always suffices; returns the plaintext's length.
/// On error no unverified plaintext is left in `output`.
public func decryptInto(key: Data, object: UnsafeRawBufferPointer,
                        output: UnsafeMutableRawBufferPointer) throws -> Int {
    let n = try key.withUnsafeBytes { k in
        try firekeepCallWithStatus { status in
            firekeep_ffi_decrypt_into(
                k.bindMemory(to: UInt8.self).baseAddress, UInt64(k.count),
                object.bindMemory(to: UInt8.self).baseAddress, UInt64(object.count),
                output.bindMemory(to: UInt8.self).baseAddress, UInt64(output.count),
                status)
        }
    }
    return Int(n)
}

/// `encryptInto` on `Data`: the object is written at the start of `output`, which keeps its size.
public func encryptInto(key: Data, plaintext: Data, output: inout Data,
                        options: ObjectOptions? = nil) throws -> Int {
    try plaintext.withUnsafeBytes { p in
        try output.withUnsafeMutableBytes { o in
            try encryptInto(key: key, plaintext: p, output: o, options: options)
        }
    }
}

/// `decryptInto` on `Data`: the plaintext is written at the start of `output`.
public func decryptInto(key: Data, object: Data, output: inout Data) throws -> Int {
    try object.withUnsafeBytes { p in
        try output.withUnsafeMutableBytes { o in
            try decryptInto(key: key, object: p, output: o)
        }
    }
}

/// uniffi's call protocol: a fresh status, and a `FirekeepError` lifted from it on error.
private func firekeepCallWithStatus(
    _ call: (UnsafeMutablePointer<RustCallStatus>) -> UInt64
) throws -> UInt64 {
    var status = RustCallStatus(code: 0, errorBuf: RustBuffer(capacity: 0, len: 0, data: nil))
    let n = call(&status)
    switch status.code {
    case 0:
        return n
    case 1:
        throw try FfiConverterTypeFirekeepError_lift(status.errorBuf)
    default:
        // Rust reports panics as FirekeepError.Panic (code 1); this is the case where even
        // that could not be built, and the buffer is empty.
        throw FirekeepError.Panic(message: "firekeep: call failed with status \(status.code)")
    }
}
