// Hand-written (not generated): encrypt and decrypt over caller-owned direct ByteBuffers,
// through the C functions of bindings/swift/src/buffers.rs. Compiled with the generated
// Kotlin (same package, same module) so it can use uniffi's call status and converters.
package uniffi.firekeep_ffi

import com.sun.jna.Memory
import com.sun.jna.Native
import com.sun.jna.Pointer
import java.nio.ByteBuffer

/** JNA direct mapping of the two C functions (the library uniffi's code loads). */
internal object UniffiBuffersLib {
    init {
        // The same name and override property as the generated UniffiLib.
        val lib = System.getProperty("uniffi.component.firekeep_ffi.libraryOverride") ?: "firekeep_ffi"
        Native.register(UniffiBuffersLib::class.java, lib)
    }

    external fun firekeep_ffi_encrypt_into(
        key: Pointer?, keyLen: Long, plaintext: Pointer?, plaintextLen: Long,
        out: Pointer?, outCap: Long, options: RustBuffer.ByValue, status: UniffiRustCallStatus,
    ): Long

    external fun firekeep_ffi_decrypt_into(
        key: Pointer?, keyLen: Long, obj: Pointer?, objLen: Long,
        out: Pointer?, outCap: Long, status: UniffiRustCallStatus,
    ): Long
}

/**
 * Encrypts `plaintext`'s remaining bytes into `output` at its position, like [encrypt] but
 * over memory you own: no copy is made besides the encryption itself. Both buffers must be
 * direct (`ByteBuffer.allocateDirect`), `output` writable, with at least
 * [encryptedLen]`(plaintext.remaining())` bytes remaining, and not overlapping the plaintext.
 * Returns the object's length; on success `plaintext`'s position moves to its limit and
 * `output`'s by the length written (as `javax.crypto.Cipher.doFinal(ByteBuffer, ByteBuffer)`),
 * on error neither moves. Do not touch either buffer from another thread during the call.
 * Errors are [FirekeepException]s, the same as [encrypt]'s.
 */
fun encryptInto(key: ByteArray, plaintext: ByteBuffer, output: ByteBuffer, options: ObjectOptions? = null): Int {
    val input = directSpan(plaintext, "plaintext")
    val out = writableSpan(output)
    val opts = if (options == null) RustBuffer.ByValue() else FfiConverterTypeObjectOptions.lower(options)
    val n = withKey(key) { k ->
        callWithStatus { status ->
            UniffiBuffersLib.firekeep_ffi_encrypt_into(
                k, key.size.toLong(), input, plaintext.remaining().toLong(),
                out, output.remaining().toLong(), opts, status,
            )
        }
    }
    return advance(plaintext, output, n)
}

/**
 * Decrypts the object in `obj`'s remaining bytes into `output` at its position, like
 * [decrypt] but over memory you own (no copy besides the decryption). An output with as many
 * bytes remaining as the object always suffices; the plaintext's length is returned. Same
 * buffer rules and position moves as [encryptInto]; on error no unverified plaintext is left
 * in `output`. Errors are [decrypt]'s ([FirekeepException.KeyMismatch],
 * [FirekeepException.Integrity], ...).
 */
fun decryptInto(key: ByteArray, obj: ByteBuffer, output: ByteBuffer): Int {
    val input = directSpan(obj, "object")
    val out = writableSpan(output)
    val n = withKey(key) { k ->
        callWithStatus { status ->
            UniffiBuffersLib.firekeep_ffi_decrypt_into(
                k, key.size.toLong(), input, obj.remaining().toLong(),
                out, output.remaining().toLong(), status,
            )
        }
    }
    return advance(obj, output, n)
}

/** The address of `buf`'s position: JNA reads a direct buffer's address without copying. */
private fun directSpan(buf: ByteBuffer, what: String): Pointer? {
    if (!buf.isDirect) {
        throw FirekeepException.InvalidInput(
            "the $what must be a direct ByteBuffer (ByteBuffer.allocateDirect); for byte arrays use encrypt/decrypt",
        )
    }
    if (!buf.hasRemaining()) return null // empty: Rust accepts null with a length of 0
    return Native.getDirectBufferPointer(buf).share(buf.position().toLong())
}

private fun writableSpan(buf: ByteBuffer): Pointer? {
    if (buf.isReadOnly) throw FirekeepException.InvalidInput("the output ByteBuffer is read-only")
    return directSpan(buf, "output")
}

/** Copies the key into native memory for the call and zeroes that copy afterwards. */
private inline fun <T> withKey(key: ByteArray, f: (Pointer?) -> T): T {
    if (key.isEmpty()) return f(null)
    val mem = Memory(key.size.toLong())
    try {
        mem.write(0, key, 0, key.size)
        return f(mem)
    } finally {
        mem.clear()
        mem.close()
    }
}

/** uniffi's call protocol: a fresh status, then the error lifted as the generated code does. */
private inline fun callWithStatus(f: (UniffiRustCallStatus) -> Long): Long {
    val status = UniffiRustCallStatus()
    val n = f(status)
    when {
        status.isSuccess() -> return n
        status.isError() -> throw FirekeepException.ErrorHandler.lift(status.error_buf)
        status.error_buf.len > 0 -> throw InternalException(FfiConverterString.lift(status.error_buf))
        else -> throw InternalException("firekeep: call failed with status ${status.code}")
    }
}

private fun advance(input: ByteBuffer, output: ByteBuffer, n: Long): Int {
    val written = Math.toIntExact(n) // at most output.remaining(), an Int (checked in Rust)
    input.position(input.limit())
    output.position(output.position() + written)
    return written
}
