package dev.firekeep

import java.nio.ByteBuffer
import java.nio.file.Files
import java.nio.file.Path
import kotlin.random.Random
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.params.ParameterizedTest
import org.junit.jupiter.params.provider.ValueSource
import uniffi.firekeep_ffi.FirekeepException
import uniffi.firekeep_ffi.ObjectOptions
import uniffi.firekeep_ffi.decrypt
import uniffi.firekeep_ffi.decryptInto
import uniffi.firekeep_ffi.encrypt
import uniffi.firekeep_ffi.encryptInto
import uniffi.firekeep_ffi.encryptedLen
import uniffi.firekeep_ffi.generateDataKey
import uniffi.firekeep_ffi.objectInfo

/** encryptInto / decryptInto over direct ByteBuffers, against the ByteArray API both ways. */
class BuffersTest {
    private val seg = 4096u
    private val opts = ObjectOptions("bk_1", "parts/1", seg)

    private fun direct(bytes: ByteArray, pad: Int = 0): ByteBuffer =
        ByteBuffer.allocateDirect(bytes.size + pad).put(bytes).flip()

    private fun bytesOf(buf: ByteBuffer): ByteArray = ByteArray(buf.remaining()).also { buf.get(it) }

    @ParameterizedTest
    @ValueSource(ints = [0, 1, 4096 - 57, 4096 - 56, 4096 - 55, 2 * (4096 - 16) + 1, (1 shl 20) + 7])
    fun `encryptInto opens with decrypt and decryptInto opens encrypt's objects`(size: Int) {
        val key = generateDataKey()
        val data = Random.nextBytes(size)
        val need = encryptedLen(size.toULong(), opts).toInt()
        // Positions other than 0: the calls use position..limit, not the whole buffer.
        val input = ByteBuffer.allocateDirect(size + 10).position(3)
        input.put(data).flip().position(3)
        val out = ByteBuffer.allocateDirect(need + 20).position(5)
        assertEquals(need, encryptInto(key, input, out, opts))
        assertEquals(input.limit(), input.position())
        assertEquals(5 + need, out.position())
        val obj = ByteArray(need).also { out.flip().position(5); out.get(it) }
        assertContentEquals(data, decrypt(key, obj))
        assertEquals("parts/1", objectInfo(obj).objectName)
        assertEquals(need, encrypt(key, data, opts).size)

        val old = encrypt(key, data, null)
        val plain = ByteBuffer.allocateDirect(old.size) // the object's length always suffices
        assertEquals(size, decryptInto(key, direct(old), plain))
        assertContentEquals(data, bytesOf(plain.flip()))
    }

    @Test
    fun `the committed golden object opens with decryptInto`() {
        // core/tests/golden/README.md: key 00..1f.
        val dir = Path.of(System.getProperty("user.dir")).resolve("../../core/tests/golden").normalize()
        val obj = Files.readAllBytes(dir.resolve("object-v1.fko"))
        val expected = Files.readAllBytes(dir.resolve("object-v1.plaintext"))
        val out = ByteBuffer.allocateDirect(expected.size)
        assertEquals(expected.size, decryptInto(ByteArray(32) { it.toByte() }, direct(obj), out))
        assertContentEquals(expected, bytesOf(out.flip()))
    }

    @Test
    fun `errors are FirekeepExceptions and leave the positions alone`() {
        val key = generateDataKey()
        val data = direct(Random.nextBytes(5000))
        val need = encryptedLen(5000u, null).toInt()
        val small = ByteBuffer.allocateDirect(need - 1)
        val e = assertFailsWith<FirekeepException.InvalidInput> { encryptInto(key, data, small) }
        assertTrue("needs $need" in e.reason, e.reason)
        assertEquals(0, data.position())
        assertEquals(0, small.position())

        // Heap buffers and a read-only output are refused before any native call.
        val out = ByteBuffer.allocateDirect(need)
        assertFailsWith<FirekeepException.InvalidInput> { encryptInto(key, ByteBuffer.wrap(ByteArray(10)), out) }
        assertFailsWith<FirekeepException.InvalidInput> { encryptInto(key, data, out.asReadOnlyBuffer()) }
        // A bad key: the message names the length, never the bytes.
        val bad = assertFailsWith<FirekeepException.InvalidInput> { encryptInto(ByteArray(31) { 0x5a }, data, out) }
        assertTrue("got 31" in bad.reason, bad.reason)

        assertEquals(need, encryptInto(key, data, out))
        val obj = out.flip()
        val plain = ByteBuffer.allocateDirect(5000)
        val other = generateDataKey()
        val mismatch = assertFailsWith<FirekeepException.KeyMismatch> { decryptInto(other, obj.duplicate(), plain) }
        assertTrue(mismatch.expected != mismatch.actual)
        val tampered = ByteBuffer.allocateDirect(need).put(obj.duplicate()).flip()
        tampered.put(need - 20, (tampered.get(need - 20).toInt() xor 1).toByte())
        assertFailsWith<FirekeepException.Integrity> { decryptInto(key, tampered, plain) }
        assertEquals(0, plain.position())
        assertTrue((0 until 5000).all { plain.get(it) == 0.toByte() }, "no unverified plaintext left")
        assertEquals(5000, decryptInto(key, obj, plain))
    }

    @Test
    fun `an output overlapping the input is refused`() {
        val key = generateDataKey()
        val need = encryptedLen(100u, null).toInt()
        val whole = ByteBuffer.allocateDirect(need + 100)
        // Output = the first `need` bytes, plaintext = 100 bytes starting inside them.
        val out = whole.duplicate().limit(need)
        val input = whole.duplicate().position(need - 50).limit(need + 50)
        val e = assertFailsWith<FirekeepException.InvalidInput> { encryptInto(key, input, out) }
        assertTrue("overlaps" in e.reason, e.reason)
        // The same memory through a slice: still refused (addresses, not buffer objects).
        assertFailsWith<FirekeepException.InvalidInput> {
            encryptInto(key, whole.duplicate().position(need).slice(), whole.duplicate().position(need - 1).slice())
        }
        // Adjacent ranges of one buffer are fine.
        val after = whole.duplicate().position(need)
        assertEquals(need, encryptInto(key, after, whole.duplicate().limit(need)))
    }
}
