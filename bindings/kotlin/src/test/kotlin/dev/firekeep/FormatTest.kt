package dev.firekeep

import com.google.crypto.tink.subtle.AesGcmHkdfStreaming
import java.io.ByteArrayInputStream
import java.io.ByteArrayOutputStream
import java.nio.file.Files
import java.nio.file.Path
import kotlin.random.Random
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertNotEquals
import kotlin.test.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import org.junit.jupiter.params.ParameterizedTest
import org.junit.jupiter.params.provider.ValueSource
import uniffi.firekeep_ffi.ByteSink
import uniffi.firekeep_ffi.ByteSource
import uniffi.firekeep_ffi.FirekeepException
import uniffi.firekeep_ffi.ObjectOptions
import uniffi.firekeep_ffi.dataKeyId
import uniffi.firekeep_ffi.decrypt
import uniffi.firekeep_ffi.decryptFile
import uniffi.firekeep_ffi.decryptStream
import uniffi.firekeep_ffi.encrypt
import uniffi.firekeep_ffi.encryptFile
import uniffi.firekeep_ffi.encryptStream
import uniffi.firekeep_ffi.generateDataKey
import uniffi.firekeep_ffi.objectInfo

/** The object format from Kotlin: round trips, typed errors, and Tink Java both ways. */
class FormatTest {
    private val seg = 4096u
    private fun opts(backup: String = "bk_1", name: String = "parts/1") = ObjectOptions(backup, name, seg)

    /** Header length H: bytes 6..10, big-endian (docs/format.md). */
    private fun headerOf(obj: ByteArray): ByteArray {
        val h = ((obj[6].toInt() and 0xff) shl 24) or ((obj[7].toInt() and 0xff) shl 16) or
            ((obj[8].toInt() and 0xff) shl 8) or (obj[9].toInt() and 0xff)
        return obj.copyOfRange(0, h)
    }

    private fun tink(key: ByteArray) = AesGcmHkdfStreaming(key, "HmacSha256", 32, seg.toInt(), 0)

    // Segment 0 holds S-56 plaintext bytes, later segments S-16 (docs/format.md): sizes around both.
    @ParameterizedTest
    @ValueSource(ints = [0, 1, 4039, 4040, 4041, 8119, 8120, 8121, 100_000, 1_048_576 + 7])
    fun `round trips at sizes around segment boundaries`(size: Int) {
        val key = generateDataKey()
        assertEquals(32, key.size)
        val data = Random.nextBytes(size)
        val obj = encrypt(key, data, opts())
        assertContentEquals(data, decrypt(key, obj))
        val info = objectInfo(obj.copyOfRange(0, minOf(obj.size, 4096)))
        assertEquals(listOf("bk_1", "parts/1", dataKeyId(key)), listOf(info.backupId, info.objectName, info.keyId))
        assertEquals(seg, info.segmentSize)
    }

    @Test
    fun `default options and random salts`() {
        val key = generateDataKey()
        val a = encrypt(key, "x".toByteArray(), null)
        val b = encrypt(key, "x".toByteArray(), null)
        assertFalse(a.contentEquals(b))
        assertContentEquals(decrypt(key, a), decrypt(key, b))
        assertEquals(1_048_576u, objectInfo(a).segmentSize)
    }

    @Test
    fun `wrong key is KeyMismatch naming both key ids`() {
        val key = generateDataKey()
        val other = generateDataKey()
        val obj = encrypt(key, "secret rows".toByteArray(), null)
        val e = assertFailsWith<FirekeepException.KeyMismatch> { decrypt(other, obj) }
        assertEquals(dataKeyId(key), e.expected)
        assertEquals(dataKeyId(other), e.actual)
        assertTrue("supply the key" in e.reason, e.reason)
        assertTrue(e.message!!.contains(dataKeyId(key)))
        // A catch on the sealed base class works too.
        assertFailsWith<FirekeepException> { decrypt(other, obj) }
    }

    @ParameterizedTest
    @ValueSource(strings = ["body", "truncate", "extend", "drop-segment-tag"])
    fun `tampering is Integrity`(where: String) {
        val key = generateDataKey()
        var obj = encrypt(key, Random.nextBytes(20_000), opts("b", "o"))
        when (where) {
            "body" -> obj[obj.size - 100] = (obj[obj.size - 100].toInt() xor 1).toByte()
            "truncate" -> obj = obj.copyOfRange(0, obj.size - 4096)
            "extend" -> obj += ByteArray(16)
            else -> obj = obj.copyOfRange(0, obj.size - 1)
        }
        val e = assertFailsWith<FirekeepException.Integrity> { decrypt(key, obj) }
        assertTrue(e.reason.isNotEmpty())
    }

    @Test
    fun `a changed header byte or a moved body fails`() {
        val key = generateDataKey()
        val obj = encrypt(key, Random.nextBytes(10_000), opts("b", "o"))
        val bad = obj.copyOf().also { it[12] = (it[12].toInt() xor 1).toByte() }
        // The byte may land in the key id (then it is the wrong key) or a name/size.
        val e = assertFailsWith<FirekeepException> { decrypt(key, bad) }
        assertTrue(e is FirekeepException.Integrity || e is FirekeepException.InvalidInput || e is FirekeepException.KeyMismatch, e.toString())
        // The body under another object's header (another name) fails authentication.
        val other = encrypt(key, ByteArray(1), opts("b", "p"))
        val moved = headerOf(other) + obj.copyOfRange(headerOf(obj).size, obj.size)
        assertFailsWith<FirekeepException.Integrity> { decrypt(key, moved) }
        assertFailsWith<FirekeepException> { decrypt(key, "not an object".toByteArray()) }
        assertFailsWith<FirekeepException.InvalidInput> { encrypt(ByteArray(31), ByteArray(1), null) }
    }

    @Test
    fun `streams through Kotlin callbacks in bounded pieces`() {
        val key = generateDataKey()
        val data = Random.nextBytes(3 * 1_048_576 + 123)
        val src = object : ByteSource {
            var pos = 0
            var calls = 0
            override fun read(maxLen: UInt): ByteArray {
                calls++
                val n = minOf(maxLen.toInt(), data.size - pos)
                return data.copyOfRange(pos, pos + n).also { pos += n }
            }
        }
        val writes = mutableListOf<Int>()
        val out = ByteArrayOutputStream()
        val sink = object : ByteSink {
            override fun write(data: ByteArray) { writes += data.size; out.write(data) }
        }
        encryptStream(key, src, sink, null)
        assertTrue(src.calls >= 3 && writes.size >= 3, "$writes")
        val obj = out.toByteArray()
        assertContentEquals(data, decrypt(key, obj))

        val back = ByteArrayOutputStream()
        val input = ByteArrayInputStream(obj)
        val n = decryptStream(key, object : ByteSource {
            override fun read(maxLen: UInt): ByteArray = input.readNBytes(maxLen.toInt())
        }, object : ByteSink {
            override fun write(data: ByteArray) = back.write(data)
        })
        assertEquals(data.size.toULong(), n)
        assertContentEquals(data, back.toByteArray())
    }

    @Test
    fun `a Kotlin exception in a callback surfaces as a typed error`() {
        val key = generateDataKey()
        val e = assertFailsWith<FirekeepException> {
            encryptStream(key, object : ByteSource {
                override fun read(maxLen: UInt): ByteArray = throw IllegalStateException("disk gone")
            }, object : ByteSink { override fun write(data: ByteArray) {} }, null)
        }
        assertTrue(e is FirekeepException.Callback || e is FirekeepException.Io, e.toString())
    }

    @Test
    fun `files round trip`(@TempDir dir: Path) {
        val key = generateDataKey()
        val data = Random.nextBytes(50_000)
        val plain = dir.resolve("plain").also { Files.write(it, data) }
        val enc = dir.resolve("enc")
        val dec = dir.resolve("dec")
        encryptFile(key, plain.toString(), enc.toString(), opts())
        assertEquals(data.size.toULong(), decryptFile(key, enc.toString(), dec.toString()))
        assertContentEquals(data, Files.readAllBytes(dec))
        assertFailsWith<FirekeepException> { decryptFile(key, dir.resolve("missing").toString(), dec.toString()) }
    }

    // -- Tink Java: an independent implementation of the body format ---------------------------

    @ParameterizedTest
    @ValueSource(ints = [0, 1, 4040, 4041, 8121, 100_000])
    fun `Tink Java decrypts what firekeep wrote`(size: Int) {
        val key = generateDataKey()
        val data = Random.nextBytes(size)
        val obj = encrypt(key, data, opts())
        val header = headerOf(obj)
        val body = obj.copyOfRange(header.size, obj.size)
        val plain = tink(key).newDecryptingStream(ByteArrayInputStream(body), header).use { it.readAllBytes() }
        assertContentEquals(data, plain)
        // With another associated data (another header), Tink refuses it.
        val otherHeader = headerOf(encrypt(key, ByteArray(0), opts(name = "parts/2")))
        assertFailsWith<java.io.IOException> {
            tink(key).newDecryptingStream(ByteArrayInputStream(body), otherHeader).use { it.readAllBytes() }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = [0, 1, 4040, 4041, 8121, 100_000])
    fun `firekeep decrypts what Tink Java wrote`(size: Int) {
        val key = generateDataKey()
        val data = Random.nextBytes(size)
        // firekeep's header for this key/backup/object/segment size: the associated data.
        val header = headerOf(encrypt(key, ByteArray(0), opts()))
        val body = ByteArrayOutputStream()
        tink(key).newEncryptingStream(body, header).use { it.write(data) }
        val obj = header + body.toByteArray()
        assertContentEquals(data, decrypt(key, obj))
        assertNotEquals(0, body.size())
        // Tink's object under the wrong key: firekeep names the key it needs.
        assertFailsWith<FirekeepException.KeyMismatch> { decrypt(generateDataKey(), obj) }
    }

    @Test
    fun `the committed golden object opens in firekeep and in Tink Java`() {
        // core/tests/golden/README.md: key 00..1f, segment size 4096.
        val dir = Path.of(System.getProperty("user.dir")).resolve("../../core/tests/golden").normalize()
        val obj = Files.readAllBytes(dir.resolve("object-v1.fko"))
        val expected = Files.readAllBytes(dir.resolve("object-v1.plaintext"))
        val key = ByteArray(32) { it.toByte() }
        assertContentEquals(expected, decrypt(key, obj))
        val header = headerOf(obj)
        val body = obj.copyOfRange(header.size, obj.size)
        val plain = tink(key).newDecryptingStream(ByteArrayInputStream(body), header).use { it.readAllBytes() }
        assertContentEquals(expected, plain)
    }
}
