'use strict'
// Authenticating callers from Node: tokens minted by `jose` (RS256 and ES256 against a JWKS
// served on 127.0.0.1, HS256 with a shared secret), expired / wrong audience / alg none /
// HS-RS confusion refused, API keys created, rotated and revoked, a Client acting as the
// verified caller, and the access review.
const test = require('node:test')
const assert = require('node:assert/strict')
const http = require('node:http')
const fs = require('node:fs')
const path = require('node:path')
const crypto = require('node:crypto')
const fk = require('../lib/index.js')
const { ACME_MEMBERS, tmpdir } = require('./_helpers.js')

const ISS = 'https://issuer.test'
const AUD = 'firekeep-api'
const HS = Buffer.from('an-hs256-secret-of-at-least-32-bytes!')
const POLICY = ACME_MEMBERS

let jose
test.before(async () => { jose = await import('jose') })

async function serveJwks(jwks) {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' })
    res.end(JSON.stringify(jwks))
  })
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  return { url: `http://127.0.0.1:${server.address().port}/jwks`, close: () => server.close() }
}

function sign(claims, key, header, extra = (j) => j) {
  const now = Math.floor(Date.now() / 1000)
  const jwt = new jose.SignJWT({ sub: 'alice', ...claims })
    .setProtectedHeader(header)
    .setIssuer(claims.iss || ISS)
    .setAudience(claims.aud || AUD)
    .setIssuedAt(now)
    .setExpirationTime(claims.exp || now + 300)
  return extra(jwt).sign(key)
}

test('jose-minted RS256/ES256 tokens against a JWKS on 127.0.0.1', async () => {
  const rsa = await jose.generateKeyPair('RS256', { extractable: true })
  const ec = await jose.generateKeyPair('ES256', { extractable: true })
  const jwks = { keys: [
    { ...(await jose.exportJWK(rsa.publicKey)), kid: 'r1', alg: 'RS256', use: 'sig' },
    { ...(await jose.exportJWK(ec.publicKey)), kid: 'e1' },
  ] }
  const srv = await serveJwks(jwks)
  try {
    const dir = tmpdir()
    const policy = path.join(dir, 'policy.toml')
    fs.writeFileSync(policy, POLICY)
    const auth = new fk.Authenticator({ policy, organization: 'acme', oidc: { issuer: ISS, audience: AUD, jwksUrl: srv.url } })
    const rs = await sign({}, rsa.privateKey, { alg: 'RS256', kid: 'r1' })
    const es = await sign({ amr: ['mfa'] }, ec.privateKey, { alg: 'ES256', kid: 'e1' })
    assert.equal((await auth.authenticate(`Bearer ${rs}`)).principal, 'user:alice')
    const who = await auth.authenticate(`Bearer ${es}`)
    assert.deepEqual([fk.identityInfo(who).mfa, fk.identityInfo(who).method], [true, 'jwt'])

    const refused = async (token, pattern) => {
      await assert.rejects(auth.authenticate(`Bearer ${token}`), (e) => {
        assert.ok(e instanceof fk.UnauthenticatedError, e)
        assert.equal(e.code, 'ERR_UNAUTHENTICATED')
        assert.match(e.message, pattern)
        assert.ok(!e.message.includes(token))
        return true
      })
    }
    await refused(await sign({ exp: Math.floor(Date.now() / 1000) - 3600 }, rsa.privateKey, { alg: 'RS256', kid: 'r1' }), /expired/)
    await refused(await sign({ aud: 'other' }, rsa.privateKey, { alg: 'RS256', kid: 'r1' }), /audience/)
    await refused(await sign({ iss: 'https://evil.test' }, rsa.privateKey, { alg: 'RS256', kid: 'r1' }), /issuer/)
    // Not yet valid: nbf an hour ahead (beyond the clock skew); a token signed by another key.
    await refused(await sign({}, rsa.privateKey, { alg: 'RS256', kid: 'r1' }, (j) => j.setNotBefore(Math.floor(Date.now() / 1000) + 3600)), /not valid before/)
    const other = await jose.generateKeyPair('RS256')
    await refused(await sign({}, other.privateKey, { alg: 'RS256', kid: 'r1' }), /signature/)
    // A member the policy does not know.
    await refused(await sign({ sub: 'mallory' }, rsa.privateKey, { alg: 'RS256', kid: 'r1' }), /not a member of organization 'acme'/)
    await refused(new jose.UnsecuredJWT({ sub: 'alice' }).setIssuer(ISS).setAudience(AUD).setExpirationTime('5m').encode(), /algorithm/)
    // HS256 keyed with the RSA public key's PEM: refused by the key's type.
    const pem = crypto.createPublicKey(await jose.exportSPKI(rsa.publicKey)).export({ type: 'spki', format: 'pem' })
    await refused(await sign({}, new Uint8Array(Buffer.from(pem)), { alg: 'HS256', kid: 'r1' }), /algorithm/)
    await refused(await sign({}, rsa.privateKey, { alg: 'RS256', kid: 'unknown' }), /signing key/)
  } finally {
    srv.close()
  }
})

test('HS256, API keys and a Client acting as the caller', async () => {
  const dir = tmpdir()
  const policy = path.join(dir, 'policy.toml')
  const trail = path.join(dir, 'audit.jsonl')
  fs.writeFileSync(policy, POLICY)
  const admin = { policy, principal: 'user:alice', organization: 'acme', audit: trail }
  const secret = await fk.apiKeyCreate(admin, 'ci', { actions: ['view_backups'] })
  assert.match(secret, /^fk_/)
  assert.ok(!fs.readFileSync(policy, 'utf8').includes(secret))
  await assert.rejects(fk.apiKeyCreate({ ...admin, principal: 'user:vera' }, 'x', { actions: ['view_backups'] }), fk.AuthorizationDeniedError)
  // Bad arguments are TypeError/RangeError before anything is written.
  assert.throws(() => fk.apiKeyCreate(admin, 'y', { actions: ['view_backups'], expiresInDays: -1 }), RangeError)
  assert.throws(() => fk.apiKeyRotate(admin, 'ci', { graceHours: 1.5 }), RangeError)
  assert.throws(() => fk.apiKeyCreate(admin, 'y', { actions: [7] }), TypeError)
  assert.throws(() => new fk.Authenticator({ policy, apiKeys: 'yes' }), TypeError)
  assert.equal(fk.apiKeyList(policy, { organization: 'acme' }).length, 1)

  const auth = new fk.Authenticator({ policy, organization: 'acme', hs256: { issuer: ISS, audience: AUD, secret: HS } })
  const keyCaller = await auth.authenticate(`Bearer ${secret}`)
  assert.equal(keyCaller.principal, 'apikey:ci')
  const keyInfo = fk.identityInfo(keyCaller)
  assert.deepEqual([keyInfo.kind, keyInfo.method, keyInfo.organization], ['api_key', 'api_key', 'acme'])
  // The identity carries the key's secret for the client's re-check, but never shows it.
  for (const shown of [JSON.stringify(keyInfo), require('node:util').inspect(keyCaller), String(keyCaller)]) assert.ok(!shown.includes(secret))
  const vera = await auth.authenticate(`Bearer ${await sign({ sub: 'vera' }, HS, { alg: 'HS256' })}`)
  const client = new fk.Client({ repository: path.join(dir, 'repo'), key: fk.Key.raw(fk.generateDataKey()), policy, identity: vera, audit: trail })
  assert.equal(client.principal, 'user:vera')
  assert.deepEqual([...(await client.list())], [])
  assert.throws(() => new fk.Client({ repository: path.join(dir, 'repo'), key: fk.Key.raw(fk.generateDataKey()), policy, identity: vera, principal: 'user:alice' }), TypeError)

  // A rotated key keeps working for the grace period; a second rotation without one ends it.
  const graced = await fk.apiKeyRotate(admin, 'ci')
  const during = new fk.Authenticator({ policy, organization: 'acme' })
  assert.equal((await during.authenticate(`Bearer ${secret}`)).principal, 'apikey:ci')
  assert.equal((await during.authenticate(`Bearer ${graced}`)).principal, 'apikey:ci')
  assert.equal(fk.apiKeyList(policy, { organization: 'acme' })[0].state, 'in_grace')
  const rotated = await fk.apiKeyRotate(admin, 'ci', { graceHours: 0 })
  const fresh = new fk.Authenticator({ policy, organization: 'acme' })
  assert.equal((await fresh.authenticate(`Bearer ${rotated}`)).principal, 'apikey:ci')
  await assert.rejects(fresh.authenticate(`Bearer ${secret}`), /not known/)
  await assert.rejects(fresh.authenticate(`Bearer ${graced}`), /not known/)
  await fk.apiKeyRevoke(admin, 'ci')
  await assert.rejects(new fk.Authenticator({ policy, organization: 'acme' }).authenticate(`Bearer ${rotated}`), /revoked/)
  assert.equal(fk.apiKeyList(policy, { organization: 'acme' })[0].state, 'revoked')

  const review = await fk.accessReview(admin)
  assert.ok(review.findings.some((f) => f.kind === 'admin_without_mfa' && f.subject === 'member:alice'))
  const log = fs.readFileSync(trail, 'utf8')
  for (const a of ['api_key.created', 'api_key.rotated', 'api_key.revoked', 'access.reviewed']) assert.ok(log.includes(`"action":"${a}"`), a)
  for (const s of [secret, graced, rotated]) assert.ok(!log.includes(s))
})
