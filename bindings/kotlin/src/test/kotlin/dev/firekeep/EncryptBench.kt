package dev.firekeep

import java.nio.ByteBuffer
import kotlin.random.Random
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import org.junit.jupiter.api.Assumptions.assumeTrue
import org.junit.jupiter.api.Test
import uniffi.firekeep_ffi.decrypt
import uniffi.firekeep_ffi.decryptInto
import uniffi.firekeep_ffi.encrypt
import uniffi.firekeep_ffi.encryptInto
import uniffi.firekeep_ffi.encryptedLen
import uniffi.firekeep_ffi.generateDataKey

/**
 * The Kotlin side of scripts/bench-kotlin.sh: N MiB through the FFI with `encrypt` (ByteArray)
 * and `encryptInto` (direct ByteBuffers allocated once and reused), alternating, best of R
 * rounds each, printed as `kotlin-encrypt-mib-per-s=X` and `kotlin-encrypt-into-mib-per-s=Y`.
 * Skipped unless -Dfirekeep.bench.mib is set.
 */
class EncryptBench {
    @Test
    fun encryptRate() {
        val mib = System.getProperty("firekeep.bench.mib")?.toIntOrNull()
        assumeTrue(mib != null, "benchmark: set -Dfirekeep.bench.mib")
        val rounds = System.getProperty("firekeep.bench.rounds")?.toIntOrNull() ?: 5
        val data = Random.nextBytes(mib!! shl 20)
        val key = generateDataKey()
        val input = ByteBuffer.allocateDirect(data.size).put(data).flip()
        val output = ByteBuffer.allocateDirect(encryptedLen(data.size.toULong(), null).toInt())
        var best = Double.MAX_VALUE
        var bestInto = Double.MAX_VALUE
        var obj = ByteArray(0)
        repeat(rounds + 1) { i ->
            var t = System.nanoTime()
            obj = encrypt(key, data, null)
            val s = (System.nanoTime() - t) / 1e9
            input.rewind()
            output.clear()
            t = System.nanoTime()
            encryptInto(key, input, output)
            val sInto = (System.nanoTime() - t) / 1e9
            if (i > 0) { // round 0 warms the JIT and JNA
                best = minOf(best, s)
                bestInto = minOf(bestInto, sInto)
            }
        }
        assertContentEquals(data, decrypt(key, obj))
        val plain = ByteBuffer.allocateDirect(data.size)
        assertEquals(data.size, decryptInto(key, output.flip(), plain))
        assertEquals(ByteBuffer.wrap(data), plain.flip())
        println("kotlin-encrypt-mib-per-s=%.1f".format(mib / best))
        println("kotlin-encrypt-into-mib-per-s=%.1f".format(mib / bestInto))
    }
}
