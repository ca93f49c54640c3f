'use strict'
// Shared by the node:test files (not a test itself: the name does not match *.test.js).
// Real parts only: the firekeep Firestore test server (a gRPC server process), moto's S3
// server, and Google's own Node client to seed and read databases.
const { spawn } = require('node:child_process')
const fs = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')
const readline = require('node:readline')

const ROOT = path.resolve(__dirname, '..', '..', '..')
const TARGET = process.env.CARGO_TARGET_DIR ? path.resolve(ROOT, process.env.CARGO_TARGET_DIR) : path.join(ROOT, 'target')
const SERVER_BIN = process.env.FIREKEEP_FIRESTORE_SERVER || path.join(TARGET, 'debug', 'firekeep-firestore-server')

// No Google metadata server here: keep google-auth-library from probing for one.
process.env.METADATA_SERVER_DETECTION = 'none'

/** Children to kill if the test process exits without stopping them. */
const children = new Set()
process.on('exit', () => { for (const c of children) c.kill('SIGKILL') })

function exited(child, ms) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true)
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms)
    child.once('exit', () => { clearTimeout(t); resolve(true) })
  })
}

/**
 * Starts firekeep-firestore-server on a free port. `args` adds e.g. `--seed-demo`.
 * Resolves with `{ host, stop() }`.
 */
function startFirestore(args = []) {
  return new Promise((resolve, reject) => {
    // --keep-nanos: timestamps keep nanoseconds, so fidelity is checked to the nanosecond.
    // --exit-on-stdin-eof: the server dies with this process even if `stop` is never called.
    const child = spawn(SERVER_BIN, ['--port', '0', '--keep-nanos', '--exit-on-stdin-eof', ...args], { stdio: ['pipe', 'pipe', 'inherit'] })
    children.add(child)
    child.on('error', (e) => reject(new Error(`cannot start ${SERVER_BIN} (${e.message}); build it with cargo build -p firekeep-firestore-server --bin firekeep-firestore-server`)))
    child.once('exit', (code) => reject(new Error(`firekeep-firestore-server exited early (${code})`)))
    readline.createInterface({ input: child.stdout }).once('line', (line) => {
      const m = /^listening on (\S+)$/.exec(line)
      if (!m) return reject(new Error(`unexpected first line from the server: ${line}`))
      resolve({
        host: m[1],
        async stop() {
          child.stdin.end()
          if (!(await exited(child, 5000))) child.kill('SIGKILL')
          children.delete(child)
        },
      })
    })
  })
}

const GCP_KMS_BIN = process.env.FIREKEEP_GCP_KMS_SERVER_BIN || path.join(TARGET, 'debug', 'firekeep-gcp-kms-server')

/**
 * Starts the Cloud KMS test server (firekeep-gcp-kms-server) with the given symmetric keys.
 * Resolves with `{ endpoint, stop() }`.
 */
function startGcpKms(keys) {
  return new Promise((resolve, reject) => {
    const args = ['--port', '0', '--exit-on-stdin-eof', ...keys.flatMap((k) => ['--key', k])]
    const child = spawn(GCP_KMS_BIN, args, { stdio: ['pipe', 'pipe', 'inherit'] })
    children.add(child)
    child.on('error', (e) => reject(new Error(`cannot start ${GCP_KMS_BIN} (${e.message}); build it with cargo build -p firekeep-gcp-kms-server --bin firekeep-gcp-kms-server`)))
    child.once('exit', (code) => reject(new Error(`firekeep-gcp-kms-server exited early (${code})`)))
    readline.createInterface({ input: child.stdout }).once('line', (line) => {
      const m = /^listening on (\S+)$/.exec(line)
      if (!m) return reject(new Error(`unexpected first line from the Cloud KMS server: ${line}`))
      resolve({
        endpoint: `http://${m[1]}`,
        async stop() {
          child.stdin.end()
          if (!(await exited(child, 5000))) child.kill('SIGKILL')
          children.delete(child)
        },
      })
    })
  })
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)) })
  })
}

function motoBinary() {
  const candidates = []
  if (process.env.FIREKEEP_PYTHON) candidates.push(path.join(path.dirname(process.env.FIREKEEP_PYTHON), 'moto_server'))
  candidates.push(path.join(ROOT, '.venv', 'bin', 'moto_server'))
  return candidates.find((p) => fs.existsSync(p)) || 'moto_server'
}

/** Starts moto's server (S3, KMS) on a free loopback port. Resolves with `{ endpoint, stop() }`. */
async function startMoto() {
  const port = await freePort()
  const child = spawn(motoBinary(), ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' })
  children.add(child)
  let failed = null
  child.on('error', (e) => { failed = e })
  const deadline = Date.now() + 30000
  for (;;) {
    if (failed) throw new Error(`cannot start moto_server (${failed.message}); run scripts/setup-python.sh`)
    const up = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true) })
      s.once('error', () => resolve(false))
    })
    if (up) break
    if (Date.now() > deadline) { child.kill(); throw new Error('moto_server did not start within 30 s') }
    await new Promise((r) => setTimeout(r, 100))
  }
  const endpoint = `http://127.0.0.1:${port}`
  return {
    endpoint,
    /** firekeep's storage options for this server (moto accepts any credentials). */
    storageOptions: { endpoint, allow_http: 'true', region: 'us-east-1', access_key_id: 'testing', secret_access_key: 'testing' },
    async stop() {
      child.kill('SIGTERM')
      if (!(await exited(child, 5000))) child.kill('SIGKILL')
      children.delete(child)
    },
  }
}

// moto's S3 REST API over plain HTTP. moto reads the access key from the Authorization
// header (for ACLs) but does not check the signature, so a well-formed header is enough.
const AUTH = { authorization: 'AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0' }
const s3 = {
  async createBucket(endpoint, bucket) {
    const r = await fetch(`${endpoint}/${bucket}`, { method: 'PUT', headers: AUTH })
    if (!r.ok) throw new Error(`create bucket ${bucket}: HTTP ${r.status}`)
  },
  async keys(endpoint, bucket) {
    const r = await fetch(`${endpoint}/${bucket}?list-type=2&max-keys=1000`, { headers: AUTH })
    const xml = await r.text()
    return [...xml.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1])
  },
  async get(endpoint, bucket, key) {
    const r = await fetch(`${endpoint}/${bucket}/${key}`, { headers: AUTH })
    if (!r.ok) throw new Error(`get ${key}: HTTP ${r.status}`)
    return Buffer.from(await r.arrayBuffer())
  },
  async put(endpoint, bucket, key, body) {
    const r = await fetch(`${endpoint}/${bucket}/${key}`, { method: 'PUT', body, headers: AUTH })
    if (!r.ok) throw new Error(`put ${key}: HTTP ${r.status}`)
  },
}

/** Google's Node client on the test server (FIRESTORE_EMULATOR_HOST must be set). */
function gclient(projectId, databaseId = '(default)') {
  const { Firestore } = require('@google-cloud/firestore')
  return new Firestore({ projectId, databaseId, useBigInt: true })
}

/** A document holding every Firestore value type with the edge cases DESIGN.md lists. */
function everyType(db) {
  const { Timestamp, GeoPoint } = require('@google-cloud/firestore')
  let deep = 'bottom'
  for (let i = 18; i >= 0; i--) deep = i % 2 ? [deep] : { [`l${i}`]: deep }
  return {
    nul: null,
    t: true,
    f: false,
    intMin: -9223372036854775808n,
    intMax: 9223372036854775807n,
    small: 42n,
    nan: NaN,
    negZero: -0,
    inf: Infinity,
    negInf: -Infinity,
    subnormal: 5e-324,
    pi: Math.PI,
    tsNanos: new Timestamp(1709251199, 123456789),
    tsMin: new Timestamp(-62135596800, 0),
    tsMax: new Timestamp(253402300799, 999999999),
    str: 'héllo \u0000 wörld 🔥 𝄞',
    empty: '',
    bytes: Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
    ref: db.doc('people/p001'),
    geo: new GeoPoint(-33.8688, 151.2093),
    arr: [1n, 'two', 3.5, null, Buffer.from('x'), { k: [true] }],
    emptyArr: [],
    emptyMap: {},
    deep,
    'field.with.dots': 1n,
  }
}

/** Seeds `db`: the every-type document, `n` people and one subcollection document. */
async function seed(db, n = 20) {
  const b = db.batch()
  b.set(db.doc('types/all'), everyType(db))
  for (let i = 0; i < n; i++) b.set(db.doc(`people/p${String(i).padStart(3, '0')}`), { i: BigInt(i), name: `person ${i}` })
  b.set(db.doc('people/p000/pets/rex'), { kind: 'dog' })
  await b.commit()
  return n + 2
}

/** A comparable form of a value read by Google's client: NaN and -0 kept apart, timestamps
 * to the nanosecond, bytes as hex, references by path. */
function norm(v) {
  const { Timestamp, GeoPoint, DocumentReference } = require('@google-cloud/firestore')
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v
  if (typeof v === 'bigint') return ['int', v.toString()]
  if (typeof v === 'number') return ['double', Number.isNaN(v) ? 'NaN' : Object.is(v, -0) ? '-0' : String(v)]
  if (v instanceof Timestamp) return ['ts', v.seconds, v.nanoseconds]
  if (v instanceof GeoPoint) return ['geo', v.latitude, v.longitude]
  if (v instanceof DocumentReference) return ['ref', v.path]
  if (v instanceof Uint8Array) return ['bytes', Buffer.from(v).toString('hex')]
  if (Array.isArray(v)) return v.map(norm)
  if (typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]))
  throw new Error(`unexpected value ${v}`)
}

/** Every document of a database (all collections, any depth), normalized, by path. */
async function dump(db) {
  const out = {}
  async function walk(colls) {
    for (const c of colls) {
      for (const snap of (await c.get()).docs) {
        out[snap.ref.path] = norm(snap.data())
        await walk(await snap.ref.listCollections())
      }
      // Documents that exist only through their subcollections.
      for (const ref of await c.listDocuments()) {
        if (!(ref.path in out)) await walk(await ref.listCollections())
      }
    }
  }
  await walk(await db.listCollections())
  return out
}

/** Temporary folders, removed when the test process exits. */
const tmpdirs = []
process.on('exit', () => { for (const d of tmpdirs) fs.rmSync(d, { recursive: true, force: true }) })

/** A fresh temporary folder (removed at exit). */
function tmpdir(prefix = 'fk-node-') {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  tmpdirs.push(d)
  return d
}

/** Every file under `dir`, relative, sorted. */
function files(dir) {
  const out = []
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(path.relative(dir, path.join(e.parentPath || e.path, e.name)))
  }
  return out.sort()
}

/** The members policy the Python and Node identity/alert tests share (testing/fixtures). */
const ACME_MEMBERS = fs.readFileSync(path.join(ROOT, 'testing/fixtures/acme-members.toml'), 'utf8')

module.exports = { ROOT, ACME_MEMBERS, SERVER_BIN, startFirestore, startGcpKms, startMoto, freePort, s3, gclient, everyType, seed, norm, dump, tmpdir, files }
