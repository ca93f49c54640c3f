package dev.firekeep

import java.io.File
import java.nio.file.Files
import java.nio.file.Path
import java.util.UUID
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.TimeUnit
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.io.TempDir
import uniffi.firekeep_ffi.BackupOptions
import uniffi.firekeep_ffi.CancellationToken
import uniffi.firekeep_ffi.Client
import uniffi.firekeep_ffi.ClientConfig
import uniffi.firekeep_ffi.ConflictMode
import uniffi.firekeep_ffi.FirekeepException
import uniffi.firekeep_ffi.FirestoreConfig
import uniffi.firekeep_ffi.KeyProvider
import uniffi.firekeep_ffi.Progress
import uniffi.firekeep_ffi.ProgressListener
import uniffi.firekeep_ffi.RestoreOptions
import uniffi.firekeep_ffi.auditVerifyEvents
import uniffi.firekeep_ffi.generateRawKey

/** Records progress (called on a Rust thread); may cancel a token once enough was seen. */
class Recorder(private val cancelAt: ULong? = null, private val token: CancellationToken? = null) : ProgressListener {
    val events = CopyOnWriteArrayList<Progress>()
    override fun onProgress(progress: Progress) {
        events += progress
        if (token != null && cancelAt != null && progress.documents >= cancelAt) token.cancel()
    }
}

/**
 * The async client from coroutines against `firekeep-firestore-server` (the in-process
 * Firestore v1 test server, started here on a free port with seeded demo documents).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClientTest {
    private val project = "p" + UUID.randomUUID().toString().replace("-", "").take(10)
    private val docs = 3000
    private lateinit var server: Process
    private lateinit var host: String

    @BeforeAll
    fun start() {
        val binary = System.getProperty("firekeep.firestore.server")?.takeIf { it.isNotEmpty() && !it.startsWith("\${") }
            ?: (System.getenv("CARGO_TARGET_DIR") ?: "../../target") + "/debug/firekeep-firestore-server"
        require(File(binary).canExecute()) { "no firekeep-firestore-server at $binary (scripts/test.d/85-kotlin.sh builds it)" }
        // --exit-on-stdin-eof: the server dies with this JVM, even on a crash.
        server = ProcessBuilder(binary, "--port", "0", "--seed-demo", "--demo-project", project,
            "--demo-docs", docs.toString(), "--exit-on-stdin-eof")
            .redirectError(ProcessBuilder.Redirect.INHERIT).start()
        val line = server.inputStream.bufferedReader().readLine()?.trim().orEmpty()
        check(line.startsWith("listening on ")) { "firekeep-firestore-server did not start: $line" }
        host = line.removePrefix("listening on ")
    }

    @AfterAll
    fun stop() {
        server.outputStream.close()
        if (!server.waitFor(5, TimeUnit.SECONDS)) server.destroyForcibly().waitFor()
    }

    private fun client(dir: Path) = Client(
        ClientConfig(dir.resolve("repo").toString(), "acme", "user:me", null, null),
        KeyProvider.passphrase(PASS, 100_000u),
    )

    private fun source(p: String = project) = FirestoreConfig(p, "(default)", host, null)
    private val all = BackupOptions(listOf(), true, mapOf("app" to "android"))

    @Test
    fun `backup, list, verify, restore with progress`(@TempDir dir: Path) = runBlocking<Unit> {
        val c = client(dir)
        val rec = Recorder()
        val report = c.backup(source(), all, rec, null)
        assertTrue(report.documents >= docs.toULong(), "${report.documents}")
        assertTrue(report.parts >= 1uL && report.storedBytes > 0uL)
        assertTrue(report.backupId in report.json)
        assertTrue(rec.events.isNotEmpty())
        assertEquals(report.documents, rec.events.maxOf { it.documents })
        assertTrue(rec.events.any { it.phase == "backup" })

        val listed = c.list()
        assertEquals(listOf(report.backupId), listed.backups.map { it.id })
        assertTrue(listed.unreadable.isEmpty())
        // Another key lists the backup as unreadable, with the key-mismatch code.
        val other = Client(ClientConfig(dir.resolve("repo").toString(), "acme", "user:me", null, null),
            KeyProvider.rawBase64(generateRawKey()))
        val seen = other.list()
        assertTrue(seen.backups.isEmpty())
        assertEquals("ERR_KEY_MISMATCH", seen.unreadable.single().code)

        val vrec = Recorder()
        val v = c.verify(report.backupId, vrec, null)
        assertEquals(listOf(report.parts, report.parts, report.documents), listOf(v.parts, v.partsOk, v.documents))
        assertTrue(vrec.events.isNotEmpty())

        val target = "r$project"
        val r = c.restore(report.backupId, source(target),
            RestoreOptions(listOf(), true, ConflictMode.FAIL_IF_EXISTS, false), null, null)
        assertEquals(listOf(report.documents, 0uL, report.documents), listOf(r.written, r.failed, r.documents))
        val again = c.restore(report.backupId, source(target),
            RestoreOptions(listOf(), true, ConflictMode.SKIP_EXISTING, false), null, null)
        assertEquals(listOf(0uL, report.documents), listOf(again.written, again.skipped))
        // The restored copy backs up to the same number of documents.
        assertEquals(report.documents, c.backup(source(target), all, null, null).documents)
        val events = c.auditEventsJson()
        assertTrue("backup.restored" in events)
        auditVerifyEvents(events)
        // Checking and exporting the trail are client operations, audited like the rest.
        assertTrue(c.auditVerify().position > 0uL)
        val csv = c.auditExport("csv", null, null, listOf("backup.created"))
        assertEquals(2, csv.split("backup.created").size - 1)
        Unit
    }

    @Test
    fun `tampered part fails verify as Integrity`(@TempDir dir: Path) = runBlocking<Unit> {
        val c = client(dir)
        val report = c.backup(source(), BackupOptions(listOf("users"), true, mapOf()), null, null)
        val part = Files.walk(dir.resolve("repo")).use { s ->
            s.filter { Files.isRegularFile(it) && it.toString().endsWith(".fkp") }.findFirst().get()
        }
        val data = Files.readAllBytes(part)
        data[data.size / 2] = (data[data.size / 2].toInt() xor 0x40).toByte()
        Files.write(part, data)
        assertFailsWith<FirekeepException.Integrity> { c.verify(report.backupId, null, null) }
        assertFailsWith<FirekeepException.NotFound> { c.verify("bk_does_not_exist", null, null) }
    }

    @Test
    fun `cancel by token from the progress callback`(@TempDir dir: Path) = runBlocking<Unit> {
        val c = client(dir)
        val token = CancellationToken()
        assertFailsWith<FirekeepException.Cancelled> { c.backup(source(), all, Recorder(1uL, token), token) }
        assertTrue(token.isCancelled())
        assertTrue(c.list().backups.isEmpty())
        assertTrue("backup.failed" in c.auditEventsJson())
    }

    @Test
    fun `cancelling the coroutine stops the backup`(@TempDir dir: Path) = runBlocking<Unit> {
        val c = client(dir)
        val started = CompletableDeferred<Unit>()
        val token = CancellationToken()
        val job = async(Dispatchers.IO) {
            c.backup(source(), all, object : ProgressListener {
                // Slow the backup down (this runs on the Rust side's thread) so the
                // cancellation below lands while it is still running.
                override fun onProgress(progress: Progress) { started.complete(Unit); Thread.sleep(50) }
            }, token)
        }
        withTimeout(30_000) { started.await() }
        assertTrue(!token.isCancelled())
        job.cancel()
        assertFailsWith<CancellationException> { job.await() }
        // uniffi dropped the Rust future; dropping it cancels the operation's token, so the work
        // stops (polled briefly: the drop happens on the Rust side).
        withTimeout(10_000) { while (!token.isCancelled()) kotlinx.coroutines.delay(20) }
        assertTrue(c.list().backups.isEmpty())
    }
}
