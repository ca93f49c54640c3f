package dev.firekeep

import java.io.File
import java.nio.file.Files
import java.nio.file.Path
import java.util.UUID
import java.util.concurrent.TimeUnit
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.io.TempDir
import uniffi.firekeep_ffi.BackupOptions
import uniffi.firekeep_ffi.Client
import uniffi.firekeep_ffi.ClientConfig
import uniffi.firekeep_ffi.ConflictMode
import uniffi.firekeep_ffi.DataFormat
import uniffi.firekeep_ffi.EraseOptions
import uniffi.firekeep_ffi.FieldMatch
import uniffi.firekeep_ffi.FirekeepException
import uniffi.firekeep_ffi.FirestoreConfig
import uniffi.firekeep_ffi.KeyProvider
import uniffi.firekeep_ffi.MatchValue
import uniffi.firekeep_ffi.RestoreOptions

/**
 * Erasure, export and legal hold through the async client, on backups of
 * `firekeep-firestore-server` (seeded demo data: users/uNNNN with posts and comments).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ComplianceTest {
    private val project = "c" + UUID.randomUUID().toString().replace("-", "").take(10)
    private lateinit var server: Process
    private lateinit var host: String

    @BeforeAll
    fun start() {
        val binary = System.getProperty("firekeep.firestore.server")?.takeIf { it.isNotEmpty() && !it.startsWith("\${") }
            ?: (System.getenv("CARGO_TARGET_DIR") ?: "../../target") + "/debug/firekeep-firestore-server"
        require(File(binary).canExecute()) { "no firekeep-firestore-server at $binary (scripts/test.d/85-kotlin.sh builds it)" }
        server = ProcessBuilder(binary, "--port", "0", "--seed-demo", "--demo-project", project,
            "--demo-docs", "300", "--exit-on-stdin-eof")
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

    private fun source(p: String = project) = FirestoreConfig(p, "(default)", host, null)

    @Test
    fun `export, hold refusal, erase, restore without the erased documents`(@TempDir dir: Path) = runBlocking<Unit> {
        val c = Client(ClientConfig(dir.resolve("repo").toString(), "acme", "user:me", null, null),
            KeyProvider.passphrase(PASS, 100_000u))
        val all = BackupOptions(listOf(), true, mapOf())
        val reports = listOf(c.backup(source(), all, null, null), c.backup(source(), all, null, null))
        val ids = reports.map { it.backupId }

        // Export: one NDJSON line per document of the backup; CSV one file per collection.
        val out = dir.resolve("out")
        val exported = c.export(ids[0], out.toString(), listOf(), null, null)
        assertEquals(reports[0].documents, exported.documents)
        assertEquals(listOf("documents.ndjson"), exported.files)
        val lines = Files.readAllLines(out.resolve("documents.ndjson"))
        assertEquals(exported.documents, lines.size.toULong())
        assertTrue(lines.all { it.startsWith("{\"name\":\"projects/$project/databases/(default)/documents/") })
        assertTrue(lines.any { it.contains("/documents/users/u0001\"") })
        val csv = c.export(ids[0], dir.resolve("csv").toString(), listOf("users"), DataFormat.CSV, null)
        assertTrue("users.csv" in csv.files, "${csv.files}")
        assertTrue(Files.readString(dir.resolve("csv").resolve("users.csv")).contains("User 1"))

        // A held backup refuses the erasure before anything is written.
        val hold = c.hold(ids[0], "case 7")
        assertEquals(listOf(ids[0], "case 7"), listOf(hold.backupId, hold.reason))
        val user1 = EraseOptions(paths = listOf("users/u0001"), subcollections = true,
            fieldMatch = FieldMatch("posts", "title", MatchValue.Text("Post by 2")))
        val refused = assertFailsWith<FirekeepException.Storage> { c.erase(user1, null) }
        assertTrue("legal hold" in refused.reason, refused.reason)
        for (id in ids) assertEquals(reports[0].documents, c.verify(id, null, null).documents)
        assertNotNull(c.releaseHold(ids[0]))
        assertNull(c.releaseHold(ids[0]))

        // Matched values keep their type: users/u0001 alone is 25 (an integer, not a string).
        fun byAge(v: MatchValue) = EraseOptions(fieldMatch = FieldMatch("users", "age", v), dryRun = true)
        assertEquals(2uL, c.erase(byAge(MatchValue.Integer(25L)), null).documents)
        assertEquals(2uL, c.erase(byAge(MatchValue.RestJson("{\"integerValue\":\"25\"}")), null).documents)
        assertEquals(0uL, c.erase(byAge(MatchValue.Text("25")), null).documents)
        assertFailsWith<FirekeepException.InvalidInput> { c.erase(byAge(MatchValue.RestJson("25")), null) }

        // users/u0001 with its post and comment, and users/u0002's post with its comment.
        val dry = c.erase(user1.copy(dryRun = true), null)
        assertTrue(dry.dryRun)
        assertEquals(2uL * 5uL, dry.documents)
        val r = c.erase(user1, null)
        assertEquals(dry.documents, r.documents)
        assertEquals(ids, r.backups.map { it.backupId })
        assertEquals(listOf(2uL, 2uL), r.backups.map { it.generation })
        assertEquals(0uL, c.erase(user1, null).documents)
        for (id in ids) assertEquals(reports[0].documents - 5uL, c.verify(id, null, null).documents)

        // Restored, then backed up again through the connector: exactly 5 documents fewer,
        // and an export of the restored copy holds none of the erased paths.
        val target = "e$project"
        c.restore(ids[1], source(target), RestoreOptions(listOf(), true, ConflictMode.FAIL_IF_EXISTS, false), null, null)
        val again = c.backup(source(target), all, null, null)
        assertEquals(reports[1].documents - 5uL, again.documents)
        val check = dir.resolve("check")
        c.export(again.backupId, check.toString(), listOf(), DataFormat.NDJSON, null)
        val names = Files.readAllLines(check.resolve("documents.ndjson")).map { it.substringAfter("/documents/").substringBefore('"') }
        assertTrue(names.none { it.startsWith("users/u0001/") || it == "users/u0001" || it.startsWith("users/u0002/posts/") }, "$names")
        assertTrue("users/u0002" in names && "users/u0003/posts/p3" in names)

        val events = c.auditEventsJson()
        for (a in listOf("backup.exported", "backup.held", "backup.released", "backup.erased")) assertTrue(a in events, a)
    }
}
