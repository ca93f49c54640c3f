// examples/node/express-restore/app.js started for real (Express on 127.0.0.1) and called
// over HTTP: a jose-minted RS256 ID token (keys served as a JWKS on 127.0.0.1) and a
// firekeep API key get in; no credential, a forged or expired token and a revoked key get
// 401; a Viewer's valid token gets 403. Restores run against the Firestore test server.
import test from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import * as jose from 'jose'
import express from 'express'
import { Authenticator, Client, Firestore, Key, apiKeyCreate, apiKeyRevoke, generateDataKey } from '../lib/index.mjs'

const require = createRequire(import.meta.url)
const { startFirestore, tmpdir } = require('./_helpers.js')
const EXAMPLES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../examples/node')
const { createApp } = require(path.join(EXAMPLES, 'express-restore/app.js'))

const ORG = 'acme'
const ISS = 'https://issuer.test'
const AUD = 'restore-service'
const POLICY = `
version = 1

[[members]]
id = "alice"
email = "alice@example.com"
organization = "acme"
role = "admin"

[[members]]
id = "victor"
organization = "acme"
role = "viewer"
`

let fsServer, jwksServer, app, base, rsa, backupId, apiKey, dir, trail, policy

test.before(async () => {
  fsServer = await startFirestore(['--seed-demo', '--demo-project', 'shop', '--demo-docs', '20'])
  dir = tmpdir('fk-example-server-')
  policy = path.join(dir, 'policy.toml')
  trail = path.join(dir, 'audit.jsonl')
  fs.writeFileSync(policy, POLICY)
  const repo = path.join(dir, 'repo')
  const key = Key.raw(generateDataKey())
  const r = await new Client({ repository: repo, key, organization: ORG }).backup(new Firestore('shop', { emulatorHost: fsServer.host }))
  backupId = r.backupId

  rsa = await jose.generateKeyPair('RS256', { extractable: true })
  const jwks = { keys: [{ ...(await jose.exportJWK(rsa.publicKey)), kid: 'k1', alg: 'RS256' }] }
  jwksServer = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' })
    res.end(JSON.stringify(jwks))
  })
  await new Promise((done) => jwksServer.listen(0, '127.0.0.1', done))

  const admin = { policy, principal: 'user:alice', organization: ORG, audit: trail }
  apiKey = await apiKeyCreate(admin, 'restorer', { actions: ['restore_backup'] })

  const authenticator = new Authenticator({
    policy,
    organization: ORG,
    oidc: { issuer: ISS, audience: AUD, jwksUrl: `http://127.0.0.1:${jwksServer.address().port}/jwks` },
  })
  const expressApp = createApp({
    express,
    authenticator,
    clientFor: (who, context) => new Client({
      ...who, repository: repo, key, organization: ORG, policy, audit: trail, create: false, context,
    }),
    firestore: (project, database) => new Firestore(project, { database, emulatorHost: fsServer.host }),
  })
  app = await new Promise((done) => { const s = expressApp.listen(0, '127.0.0.1', () => done(s)) })
  base = `http://127.0.0.1:${app.address().port}`
})

test.after(async () => {
  if (app) app.close()
  if (jwksServer) jwksServer.close()
  if (fsServer) await fsServer.stop()
})

function idToken(sub, { exp = '5m', key = rsa.privateKey } = {}) {
  return new jose.SignJWT({ sub }).setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setIssuer(ISS).setAudience(AUD).setIssuedAt().setExpirationTime(exp).sign(key)
}

async function restore(authorization, project) {
  const headers = { 'content-type': 'application/json' }
  if (authorization !== undefined) headers.authorization = authorization
  const res = await fetch(`${base}/backups/${backupId}/restore`, {
    method: 'POST', headers, body: JSON.stringify({ project, dryRun: true }),
  })
  return { status: res.status, body: await res.json(), www: res.headers.get('www-authenticate') }
}

test('example server: an ID token and an API key get in, as themselves', async () => {
  const byToken = await restore(`Bearer ${await idToken('alice')}`, 'by-token')
  assert.equal(byToken.status, 200, JSON.stringify(byToken.body))
  assert.equal(byToken.body.dryRun, true)
  assert.ok(byToken.body.documents > 0)
  const byKey = await restore(`Bearer ${apiKey}`, 'by-key')
  assert.equal(byKey.status, 200, JSON.stringify(byKey.body))
  // The trail names who restored: the user, and the key (never its secret).
  const events = fs.readFileSync(trail, 'utf8').trim().split('\n').map((l) => JSON.parse(l))
  const actors = events.filter((e) => e.action === 'backup.restored').map((e) => `${e.actor.type}:${e.actor.id}`)
  assert.deepEqual(actors.sort(), ['api_key:restorer', 'user:alice'])
  assert.ok(!fs.readFileSync(trail, 'utf8').includes(apiKey))
})

test('example server: refused without a valid credential; a Viewer is forbidden', async () => {
  const other = await jose.generateKeyPair('RS256')
  const cases = [
    [undefined, /no credential/],
    ['Basic YWxpY2U6cHc=', /Bearer/],
    [`Bearer ${await idToken('alice', { key: other.privateKey })}`, /signature/],
    [`Bearer ${await idToken('alice', { exp: Math.floor(Date.now() / 1000) - 3600 })}`, /expired/],
    [`Bearer ${apiKey}x`, /not known/],
  ]
  for (const [authorization, why] of cases) {
    const r = await restore(authorization, 'refused')
    assert.equal(r.status, 401, `${authorization}: ${JSON.stringify(r.body)}`)
    assert.equal(r.body.code, 'ERR_UNAUTHENTICATED')
    assert.match(r.body.error, why)
    assert.equal(r.www, 'Bearer')
    if (authorization) assert.ok(!r.body.error.includes(authorization.slice(7)))
  }
  const viewer = await restore(`Bearer ${await idToken('victor')}`, 'refused')
  assert.equal(viewer.status, 403, JSON.stringify(viewer.body))
  assert.equal(viewer.body.code, 'ERR_AUTHORIZATION_DENIED')
  await apiKeyRevoke({ policy, principal: 'user:alice', organization: ORG, audit: trail }, 'restorer')
  // The app's Authenticator read the policy at start: the revocation reaches it on restart;
  // the Client (which re-reads the policy file) refuses the revoked key at once.
  const revoked = await restore(`Bearer ${apiKey}`, 'refused')
  assert.equal(revoked.status, 401, JSON.stringify(revoked.body))
  assert.match(revoked.body.error, /revoked/)
})
