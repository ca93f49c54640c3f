package dev.firekeep

import java.nio.file.Files
import java.nio.file.Path
import java.util.Base64
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import org.junit.jupiter.params.ParameterizedTest
import org.junit.jupiter.params.provider.MethodSource
import uniffi.firekeep_ffi.Client
import uniffi.firekeep_ffi.ClientConfig
import uniffi.firekeep_ffi.FirekeepException
import uniffi.firekeep_ffi.KeyProvider
import uniffi.firekeep_ffi.Policy
import uniffi.firekeep_ffi.PrincipalSpec
import uniffi.firekeep_ffi.ResourceSpec
import uniffi.firekeep_ffi.auditVerifyEvents
import uniffi.firekeep_ffi.generateDataKey
import uniffi.firekeep_ffi.generateRawKey
import uniffi.firekeep_ffi.policyActions

const val PASS = "correct horse battery staple"

/** testing/fixtures/policy-matrix.toml, shared with the uniffi Python suite. */
val POLICY: String = generateSequence(java.io.File(System.getProperty("user.dir")).absoluteFile) { it.parentFile }
    .map { java.io.File(it, "testing/fixtures/policy-matrix.toml") }
    .first { it.isFile }
    .readText()

/** Key providers, the policy evaluator and audit-chain verification from Kotlin. */
class KeysPolicyAuditTest {
    private fun who(p: String, mfa: Boolean = false) = PrincipalSpec("acme", p, mfa)
    private fun res(org: String = "acme") = ResourceSpec(org, "prod", "(default)", listOf(), null)

    @Test
    fun `passphrase and raw keys wrap and unwrap`() = runBlocking<Unit> {
        val pk = KeyProvider.passphrase(PASS, 100_000u)
        assertEquals("passphrase", pk.kind())
        val dek = generateDataKey()
        val wrapped = pk.wrapDataKey(dek, "bk_1")
        assertFalse(PASS in wrapped)
        assertTrue(pk.keyId() in wrapped)
        assertContentEquals(dek, pk.unwrapDataKey(wrapped, "bk_1"))
        // Bound to its backup.
        assertFailsWith<FirekeepException> { pk.unwrapDataKey(wrapped, "bk_2") }

        val text = generateRawKey()
        val rk = KeyProvider.rawBase64(text)
        assertEquals("raw", rk.kind())
        assertFalse(text in rk.toString())
        assertEquals(rk.keyId(), KeyProvider.rawBytes(Base64.getDecoder().decode(text)).keyId())
        val w2 = rk.wrapDataKey(dek, "bk_1")
        assertContentEquals(dek, rk.unwrapDataKey(w2, "bk_1"))
        val e = assertFailsWith<FirekeepException.KeyMismatch> {
            KeyProvider.rawBase64(generateRawKey()).unwrapDataKey(w2, "bk_1")
        }
        assertEquals(rk.keyId(), e.expected)
    }

    @Test
    fun `bad keys are config errors without the secret`() {
        val e = assertFailsWith<FirekeepException> { KeyProvider.passphrase("pw-x7Qz", null) }
        assertTrue(e is FirekeepException.InvalidConfig || e is FirekeepException.InvalidInput)
        assertFalse("pw-x7Qz" in e.message!!)
        assertFailsWith<FirekeepException> { KeyProvider.passphrase(PASS, 10u) }
        val e2 = assertFailsWith<FirekeepException> { KeyProvider.rawBase64("bm90IGEga2V5IGF0IGFsbA==") }
        assertFalse("bm90IGEga2V5IGF0IGFsbA==" in e2.message!!)
        assertFailsWith<FirekeepException> { KeyProvider.rawBytes(ByteArray(31) { 1 }) }
    }

    @ParameterizedTest
    @MethodSource("matrix")
    fun `policy decisions follow the role matrix`(action: String, expected: List<Boolean>) {
        val policy = Policy.parse(POLICY)
        listOf("user:olga", "user:adam", "user:mona", "user:vic").zip(expected).forEach { (user, allowed) ->
            val d = policy.evaluate(who(user), action, res())
            assertEquals(action, d.action)
            assertEquals(allowed, d.allowed, "$user $action: ${d.reason}")
            assertTrue(d.reason.isNotEmpty())
        }
    }

    @Test
    fun `policy denials say why`() {
        val policy = Policy.parse(POLICY)
        assertTrue(policy.evaluate(who("user:olga@example.com"), "restore_backup", res()).allowed)
        val mfa = policy.evaluate(who("user:olga"), "delete_organization", res())
        assertFalse(mfa.allowed)
        assertTrue("multi-factor" in mfa.reason, mfa.reason)
        assertTrue(policy.evaluate(who("user:olga", true), "delete_organization", res()).allowed)
        val cross = policy.evaluate(who("user:olga"), "view_backups", res("other"))
        assertFalse(cross.allowed)
        assertTrue("organization" in cross.reason)
        assertFalse(policy.evaluate(who("user:nobody"), "view_backups", res()).allowed)
        val expired = policy.evaluate(who("user:ex"), "view_backups", res())
        assertFalse(expired.allowed)
        assertTrue("expired" in expired.reason)
        val viewer = policy.allowedActions(who("user:vic"), res()).toSet()
        assertTrue("view_backups" in viewer && "create_backup" !in viewer)
        assertEquals(policyActions().toSet(), policy.allowedActions(who("user:olga", true), res()).toSet())
    }

    @Test
    fun `bad policy and unknown action are errors`() {
        val e = assertFailsWith<FirekeepException.InvalidInput> {
            Policy.parse(POLICY).evaluate(who("user:olga"), "launch_rockets", res())
        }
        assertTrue("create_backup" in e.reason)
        assertFailsWith<FirekeepException> { Policy.parse("version = 1\n[[members]]\nid = 'x'\nrole = 42\n") }
    }

    @Test
    fun `audit chain verifies and tampering is detected`(@TempDir dir: Path) = runBlocking<Unit> {
        val audit = dir.resolve("audit.jsonl")
        val client = Client(
            ClientConfig(dir.resolve("repo").toString(), "acme", "user:vic", POLICY, audit.toString()),
            KeyProvider.rawBase64(generateRawKey()),
        )
        assertTrue(client.list().backups.isEmpty())
        // A viewer may not verify: denied, and the denial is audited too.
        assertFailsWith<FirekeepException.AuthorizationDenied> { client.verify("bk_missing", null, null) }
        val events = client.auditEventsJson()
        assertTrue("backup.listed" in events)
        assertTrue(auditVerifyEvents(events).hash in events)
        // Reading the trail back was audited (audit.viewed) before this check.
        val head = client.auditVerify()
        assertEquals(3uL, head.position)
        // A viewer may read the trail but not export it.
        assertFailsWith<FirekeepException.AuthorizationDenied> { client.auditExport("csv") }

        val lines = Files.readAllLines(audit).toMutableList()
        lines[0] = lines[0].replace("backup.listed", "backup.deleted")
        Files.write(audit, lines)
        assertFailsWith<FirekeepException.Integrity> { client.auditVerify() }
        // Dropping the first event breaks the chain too (JSON array of the second alone).
        val second = Files.readAllLines(audit)[1]
        assertFailsWith<FirekeepException.Audit> { auditVerifyEvents("[$second]") }
        client.close()
    }

    companion object {
        @JvmStatic
        fun matrix() = listOf(
            arrayOf("view_backups", listOf(true, true, true, true)),
            arrayOf("create_backup", listOf(true, true, true, false)),
            arrayOf("restore_backup", listOf(true, true, false, false)),
            arrayOf("manage_schedules", listOf(true, true, true, false)),
            arrayOf("configure_storage", listOf(true, true, false, false)),
            arrayOf("manage_team", listOf(true, true, false, false)),
            arrayOf("access_billing", listOf(true, false, false, false)),
        )
    }
}
