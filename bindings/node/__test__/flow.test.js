'use strict'
// The whole flow against the in-process Firestore test server (a real gRPC server).
const test = require('node:test')
const assert = require('node:assert')
const { spawn } = require('node:child_process')
const path = require('node:path')
const fs = require('node:fs')
const os = require('node:os')
const fk = require('../lib/index.js')

const target = process.env.CARGO_TARGET_DIR || path.join(__dirname, '../../../target')
const bin = path.join(target, 'debug', 'firekeep-firestore-server')

function startServer() {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, ['--port', '0', '--seed-demo', '--demo-project', 'demo', '--demo-docs', '200', '--exit-on-stdin-eof'], { stdio: ['pipe', 'pipe', 'inherit'] })
    let out = ''
    p.stdout.on('data', (d) => {
      out += d
      const m = /(127\.0\.0\.1:\d+)/.exec(out)
      if (m) resolve({ p, host: m[1] })
    })
    p.on('error', reject)
    p.on('exit', (c) => reject(new Error(`server exited ${c}: ${out}`)))
  })
}

test('backup, list, verify, restore, denial and audit', async () => {
  const { p, host } = await startServer()
  try {
    const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'fk-node-'))
    const key = fk.Key.passphrase('correct horse battery staple', 100000)
    const client = new fk.Client({ repository: repo, key })
    const src = new fk.Firestore('demo', { emulatorHost: host })
    let events = 0
    const r = await client.backup(src, { progress: () => { events++ } })
    assert.ok(r.documents > 0 || r.totals, JSON.stringify(r).slice(0, 300))
    const list = await client.list()
    assert.strictEqual(list.length, 1)
    const id = list[0].id || list[0].backup_id
    await client.verify(id)
    const dst = new fk.Firestore('other', { emulatorHost: host })
    await client.restore(id, dst)
    const d = await client.diff(id, dst)
    assert.ok(d)
    // A wrong key is reported as such.
    const wrong = new fk.Client({ repository: repo, key: fk.Key.passphrase('wrong wrong wrong wrong', 100000) })
    await assert.rejects(wrong.verify(id), (e) => e.code === 'ERR_KEY_MISMATCH')
    // Cancellation through AbortSignal.
    const ac = new AbortController(); ac.abort()
    await assert.rejects(client.backup(src, { signal: ac.signal }), (e) => e.code === 'ERR_CANCELLED')
    assert.ok(client.auditEvents().length >= 4)
  } finally {
    p.stdin.end(); p.kill()
  }
})
