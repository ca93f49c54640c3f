package dev.firekeep

import kotlin.random.Random
import kotlin.test.assertContentEquals
import org.junit.jupiter.api.Assumptions.assumeTrue
import org.junit.jupiter.api.Test
import uniffi.firekeep_ffi.decrypt
import uniffi.firekeep_ffi.encrypt
import uniffi.firekeep_ffi.generateDataKey

/**
 * The Kotlin side of scripts/bench-kotlin.sh: `encrypt` of N MiB through the FFI, best of R
 * rounds, printed as `kotlin-encrypt-mib-per-s=X`. Skipped unless -Dfirekeep.bench.mib is set.
 */
class EncryptBench {
    @Test
    fun encryptRate() {
        val mib = System.getProperty("firekeep.bench.mib")?.toIntOrNull()
        assumeTrue(mib != null, "benchmark: set -Dfirekeep.bench.mib")
        val rounds = System.getProperty("firekeep.bench.rounds")?.toIntOrNull() ?: 5
        val data = Random.nextBytes(mib!! shl 20)
        val key = generateDataKey()
        var best = Double.MAX_VALUE
        var obj = ByteArray(0)
        repeat(rounds + 1) { i ->
            val t = System.nanoTime()
            obj = encrypt(key, data, null)
            val s = (System.nanoTime() - t) / 1e9
            if (i > 0) best = minOf(best, s) // round 0 warms the JIT and JNA
        }
        assertContentEquals(data, decrypt(key, obj))
        println("kotlin-encrypt-mib-per-s=%.1f".format(mib / best))
    }
}
