'use strict'
// The JWKS from Node: cached by Cache-Control (one fetch for many tokens), an issuer's key
// rotation seen when the cache allows and not before; alerts from the policy's [alerts]
// rules delivered to a client's onAlert callback and alerts.file.
const test = require('node:test')
const assert = require('node:assert/strict')
const http = require('node:http')
const fs = require('node:fs')
const path = require('node:path')
const fk = require('../lib/index.js')
const { ACME_MEMBERS, tmpdir } = require('./_helpers.js')

const ISS = 'https://issuer.test'
const AUD = 'firekeep-api'
const MEMBERS = ACME_MEMBERS

let jose
test.before(async () => { jose = await import('jose') })

// A JWKS endpoint whose key set and Cache-Control the test changes; counts requests.
async function jwksServer(cacheControl) {
  const state = { jwks: { keys: [] }, cacheControl, hits: 0 }
  const server = http.createServer((req, res) => {
    state.hits++
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': state.cacheControl })
    res.end(JSON.stringify(state.jwks))
  })
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  state.url = `http://127.0.0.1:${server.address().port}/jwks`
  state.close = () => server.close()
  return state
}

async function keyPair(kid) {
  const k = await jose.generateKeyPair('RS256', { extractable: true })
  return { ...k, jwk: { ...(await jose.exportJWK(k.publicKey)), kid, alg: 'RS256' } }
}

function token(key, kid, sub = 'alice') {
  return new jose.SignJWT({ sub }).setProtectedHeader({ alg: 'RS256', kid }).setIssuer(ISS)
    .setAudience(AUD).setIssuedAt().setExpirationTime('5m').sign(key)
}

function authenticator(dir, url) {
  const policy = path.join(dir, 'policy.toml')
  fs.writeFileSync(policy, MEMBERS)
  return new fk.Authenticator({ policy, organization: 'acme', oidc: { issuer: ISS, audience: AUD, jwksUrl: url } })
}

test('JWKS cached by Cache-Control; a rotation is seen once the cache allows', async () => {
  const [k1, k2] = [await keyPair('k1'), await keyPair('k2')]
  const srv = await jwksServer('public, max-age=300')
  try {
    srv.jwks = { keys: [k1.jwk] }
    const auth = authenticator(tmpdir(), srv.url)
    for (let i = 0; i < 3; i++) assert.equal((await auth.authenticate(`Bearer ${await token(k1.privateKey, 'k1')}`)).principal, 'user:alice')
    assert.equal(srv.hits, 1, 'one fetch for three tokens within max-age')
    // The issuer rotates to k2. Just fetched: an unknown kid does not refetch within the
    // refresh interval (no hammering the issuer), so k2 is refused for now.
    srv.jwks = { keys: [k2.jwk] }
    await assert.rejects(auth.authenticate(`Bearer ${await token(k2.privateKey, 'k2')}`), (e) => e instanceof fk.UnauthenticatedError && /signing key/.test(e.message))
    assert.equal(srv.hits, 1)

    // An issuer that allows no caching: every check sees the current set.
    srv.cacheControl = 'no-store'
    srv.jwks = { keys: [k1.jwk] }
    const live = authenticator(tmpdir(), srv.url)
    assert.equal((await live.authenticate(`Bearer ${await token(k1.privateKey, 'k1')}`)).principal, 'user:alice')
    srv.jwks = { keys: [k2.jwk] }
    assert.equal((await live.authenticate(`Bearer ${await token(k2.privateKey, 'k2', 'vera')}`)).principal, 'user:vera')
    // k1 was retired by the rotation: its tokens fail now.
    await assert.rejects(live.authenticate(`Bearer ${await token(k1.privateKey, 'k1')}`), /signing key/)
  } finally {
    srv.close()
  }
})

test('a JWKS that is down is a refusal naming the key source, not a crash', async () => {
  const srv = await jwksServer('no-store')
  const url = srv.url
  srv.close()
  await new Promise((r) => setTimeout(r, 50))
  const k = await keyPair('k1')
  const auth = authenticator(tmpdir(), url)
  await assert.rejects(auth.authenticate(`Bearer ${await token(k.privateKey, 'k1')}`), (e) => e instanceof fk.UnauthenticatedError && /signing keys could not be fetched/.test(e.message))
})

test('alerts reach onAlert and alerts.file', async () => {
  const dir = tmpdir()
  const policy = path.join(dir, 'policy.toml')
  const alertsFile = path.join(dir, 'alerts.jsonl')
  fs.writeFileSync(policy, `${MEMBERS}
[alerts]
denials = { count = 2, within_minutes = 10 }
audit_export = true
file = ${JSON.stringify(alertsFile)}
`)
  const HS = Buffer.from('an-hs256-secret-of-at-least-32-bytes!')
  const auth = new fk.Authenticator({ policy, organization: 'acme', hs256: { issuer: ISS, audience: AUD, secret: HS } })
  const hs = (sub) => new jose.SignJWT({ sub }).setProtectedHeader({ alg: 'HS256' }).setIssuer(ISS).setAudience(AUD).setIssuedAt().setExpirationTime('5m').sign(HS)
  const alerts = []
  const open = async (sub) => new fk.Client({
    repository: path.join(dir, 'repo'), key: fk.Key.raw(fk.generateDataKey()), policy,
    identity: await auth.authenticate(`Bearer ${await hs(sub)}`), audit: path.join(dir, 'audit.jsonl'),
    onAlert: (a) => alerts.push(a),
  })
  const vera = await open('vera')
  for (let i = 0; i < 2; i++) await assert.rejects(vera.auditExport(), fk.AuthorizationDeniedError)
  const alice = await open('alice')
  await alice.auditExport()
  // Delivered without blocking the operation: wait (bounded) for the event loop to run them.
  for (let i = 0; i < 100 && alerts.length < 2; i++) await new Promise((r) => setTimeout(r, 10))
  assert.deepEqual(alerts.map((a) => a.rule).sort(), ['audit_exported', 'denials'])
  const denial = alerts.find((a) => a.rule === 'denials')
  assert.equal(denial.actor.id, 'vera')
  assert.equal(denial.event_ids.length, 2)
  const inFile = fs.readFileSync(alertsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l).rule)
  assert.deepEqual(inFile.sort(), ['audit_exported', 'denials'])
  assert.throws(() => new fk.Client({ repository: dir, key: fk.Key.raw(fk.generateDataKey()), onAlert: 'no' }), TypeError)
})

test('alerts.webhook_url: POSTed, signed with FIREKEEP_ALERT_WEBHOOK_SECRET; refused without it', async () => {
  const crypto = require('node:crypto')
  const received = []
  const hook = http.createServer((req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') })
      res.writeHead(204).end()
    })
  })
  await new Promise((r) => hook.listen(0, '127.0.0.1', r))
  try {
    const dir = tmpdir()
    const policy = path.join(dir, 'policy.toml')
    fs.writeFileSync(policy, `${MEMBERS}
[alerts]
audit_export = true
webhook_url = "http://127.0.0.1:${hook.address().port}/hook"
`)
    const open = () => new fk.Client({ repository: path.join(dir, 'repo'), key: fk.Key.raw(fk.generateDataKey()), policy, principal: 'user:alice', organization: 'acme' })
    delete process.env.FIREKEEP_ALERT_WEBHOOK_SECRET
    assert.throws(open, (e) => e instanceof fk.InvalidConfigError && /FIREKEEP_ALERT_WEBHOOK_SECRET/.test(e.message))
    const secret = 'a-webhook-signing-secret-of-32-bytes-or-more'
    process.env.FIREKEEP_ALERT_WEBHOOK_SECRET = secret
    await open().auditExport()
    for (let i = 0; i < 200 && received.length < 1; i++) await new Promise((r) => setTimeout(r, 10))
    assert.equal(received.length, 1)
    const { headers, body } = received[0]
    assert.equal(JSON.parse(body).rule, 'audit_exported')
    // The receiver's check, with Node's own HMAC: sha256 over "<timestamp>.<body>".
    const ts = headers['x-firekeep-timestamp']
    const want = 'sha256=' + crypto.createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex')
    assert.equal(headers['x-firekeep-signature'], want)
    assert.ok(Math.abs(Number(ts) - Date.now() / 1000) < 60)
    assert.ok(!body.includes(secret))
  } finally {
    delete process.env.FIREKEEP_ALERT_WEBHOOK_SECRET
    hook.close()
  }
})
