#!/usr/bin/env bash
# Node package throughput against Rust in the same run, and against the npm export tool:
#  1. Encrypting and decrypting 256 MiB from Node, each against the Rust call doing the same
#     work. Node and Rust (benches/src/bin/object_bench.rs) run in alternating processes, 5
#     rounds, since on a shared VM the cost of fresh memory changes several-fold from one
#     minute to the next; each ratio is the median of the rounds' ratios:
#     - encryptInto(key, buf, out) into one reused buffer vs format::seal_into on 2 threads
#       into a reused buffer;
#     - encrypt(key, buf) -> Buffer: a process's first call (fresh result memory) vs Rust's
#       first seal_into into a new result; repeated with each result dropped (pooled
#       memory, recycled through V8's GC) vs seal_into into a reused buffer and into a new
#       result per call;
#     - decryptInto and decrypt (results dropped) vs format::open_into on 2 threads;
#     - createEncryptStream fed 1 MiB chunks into a null sink vs criterion's EncryptingWriter
#       fed the same into io::sink (`stream/fast/encrypt-from-memory`; the cache-resident
#       `stream/fast/encrypt` is printed too), and vs a Node Transform that only copies each
#       chunk into a new Buffer (what emitting fresh Buffers costs any Node stream).
#  2. A 100,000-document backup from Node (Client.backup) vs the release `firekeep` CLI, both
#     from the same firekeep-firestore-server process over gRPC into local folders.
#  3. `firestore-export-import` (npm, over FIRESTORE_EMULATOR_HOST) exporting the same data
#     from the same server to a JSON file: its time and peak RSS against firekeep's.
#     The streams are also measured in the alternating rounds: createEncryptStream and
#     createDecryptStream (1 MiB chunks from memory into a null sink) against
#     object_bench's EncryptingWriter -> io::sink and DecryptingReader over the object in
#     memory (one thread each), so each stream ratio is a median of same-minute pairs.
# Each measured program runs in its own process so its peak RSS is its own. Prints every
# rate and the ratios (targets: Node / Rust >= 0.9). Release builds: ~10+ min of both cores.
#
#   scripts/bench-node.sh [DOCS=100000]
#   BENCH_SECTIONS=1 scripts/bench-node.sh     only section 1 (any of 1, 2, 3; default all)
#   FIREKEEP_BENCH_ADDON=old.so ...             measure that addon build instead
#   FIREKEEP_BENCH_PKG=old/lib/index.js ...     with that package's JS (an older checkout's
#                                               bindings/node, to go with the older addon)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DOCS=${1:-100000}
export BENCH_SECTIONS=${BENCH_SECTIONS:-1,2,3}
want() { [[ ",$BENCH_SECTIONS," == *",$1,"* ]]; }
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
EXPORT_TOOL=firestore-export-import@1.7.0

if [ -z "${FIREKEEP_BENCH_NO_BUILD:-}" ]; then
    if want 2 || want 3; then
        cargo build --release -q -p firekeep-cli --bin firekeep
        cargo build --release -q -p firekeep-firestore-server --bin firekeep-firestore-server
    fi
    cargo build --release -q -p firekeep-benches --bin object_bench
    # The addon as a release cdylib, loaded through napi-rs's override variable so the
    # package's own (dev) addon in bindings/node is left alone.
    cargo build --release -q -p firekeep-node
fi
(cd bindings/node && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; })

WORK=$(mktemp -d /tmp/firekeep-bench-node.XXXXXX)
trap 'exec 3>&- 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
# FIREKEEP_BENCH_ADDON=path measures another build of the addon (e.g. before a change).
cp "${FIREKEEP_BENCH_ADDON:-$TARGET_DIR/release/libfirekeep_node.so}" "$WORK/firekeep.node"
export NAPI_RS_NATIVE_LIBRARY_PATH="$WORK/firekeep.node"

mkdir "$WORK/fei"
if want 3; then
    echo "== installing $EXPORT_TOOL into a temp folder"
    (cd "$WORK/fei" && npm init -y >/dev/null && npm install --no-audit --no-fund --loglevel=error "$EXPORT_TOOL" >/dev/null)
fi

touch "$WORK/criterion.txt"
if want 1; then
    echo "== Rust: criterion stream/fast/encrypt* and stream/fast/decrypt (256 MiB)"
    cargo bench -q -p firekeep-benches --bench format -- '^stream/fast/(encrypt|decrypt)' \
        --warm-up-time 1 --measurement-time 3 2>/dev/null | tee "$WORK/criterion.txt" | grep -E "^[a-z]|thrpt:" | grep -v '%' || true
fi

HOST=none
if want 2 || want 3; then
mkfifo "$WORK/stdin"
"$TARGET_DIR/release/firekeep-firestore-server" --port 0 --seed-demo --demo-project bench \
    --demo-docs "$DOCS" --exit-on-stdin-eof < "$WORK/stdin" > "$WORK/server.out" &
exec 3> "$WORK/stdin"
for _ in $(seq 1 600); do
    grep -q "listening on" "$WORK/server.out" 2>/dev/null && break
    sleep 0.5
done
HOST=$(sed -n 's/^listening on //p' "$WORK/server.out" | head -1)
[ -n "$HOST" ] || { echo "server did not start"; exit 1; }
fi

# One Node backup, in its own process: prints {documents, seconds} (around Client.backup).
cat > "$WORK/node-backup.js" <<'JS'
const fk = require(process.env.FIREKEEP_PKG)
;(async () => {
  const [repo, host, keyB64] = process.argv.slice(2)
  const client = new fk.Client({ repository: repo, key: fk.Key.raw(keyB64) })
  const source = new fk.Firestore('bench', { emulatorHost: host })
  const t0 = process.hrtime.bigint()
  const r = await client.backup(source)
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  console.log(JSON.stringify({ documents: r.documents, seconds }))
})().catch((e) => { console.error(e); process.exit(1) })
JS

# The Node side of object_bench: one JSON line of MiB/s (medians of 9 after the first call).
cat > "$WORK/node-object.js" <<'JS'
const fk = require(process.env.FIREKEEP_PKG)
const MIB = 1 << 20
const data = Buffer.alloc(256 * MIB)
for (let i = 0; i < data.length; i++) data[i] = (i * 31 + Math.floor(i / 4099)) & 0xff
const key = fk.generateDataKey()
const median = async (f) => {
  const t = []
  for (let i = 0; i < 9; i++) {
    const t0 = process.hrtime.bigint()
    await f()
    t.push(Number(process.hrtime.bigint() - t0) / 1e9)
  }
  return 256 / t.sort((a, b) => a - b)[4]
}
;(async () => {
  const t0 = process.hrtime.bigint()
  const sealed = await fk.encrypt(key, data)
  const first = 256 / (Number(process.hrtime.bigint() - t0) / 1e9)
  const out = Buffer.alloc(sealed.length)
  const into = await median(() => fk.encryptInto(key, data, out))
  const pooled = await median(() => fk.encrypt(key, data))
  const plain = Buffer.alloc(data.length)
  const decryptInto = await median(() => fk.decryptInto(key, sealed, plain))
  if (!plain.equals(data)) throw new Error('decryptInto: plaintext differs')
  const decrypted = await median(() => fk.decrypt(key, sealed))
  // The streams, 1 MiB chunks from memory into a null sink.
  const { pipeline } = require('node:stream/promises')
  const { Readable, Writable } = require('node:stream')
  const chunksOf = (b) => { const c = []; for (let o = 0; o < b.length; o += MIB) c.push(b.subarray(o, o + MIB)); return c }
  const sink = () => new Writable({ write(_c, _e, cb) { cb() } })
  const plainChunks = chunksOf(data)
  const sealedChunks = chunksOf(sealed)
  const streamEncrypt = await median(() => pipeline(Readable.from(plainChunks), fk.createEncryptStream(key), sink()))
  const streamDecrypt = await median(() => pipeline(Readable.from(sealedChunks), fk.createDecryptStream(key), sink()))
  console.log(JSON.stringify({ first, into, pooled, decryptInto, decrypted, streamEncrypt, streamDecrypt }))
})().catch((e) => { console.error(e); process.exit(1) })
JS

# firestore-export-import as its README shows it: backups(db) of every collection, then
# JSON.stringify to a file. Counts what it exported (subcollections nest under subCollection).
cat > "$WORK/fei/export.cjs" <<'JS'
const fs = require('node:fs')
const { initializeFirebaseApp, backups } = require('firestore-export-import')
;(async () => {
  const t0 = process.hrtime.bigint()
  const db = initializeFirebaseApp()
  const data = await backups(db)
  fs.writeFileSync(process.argv[2], JSON.stringify(data))
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  const count = (colls) => {
    let n = 0
    for (const docs of Object.values(colls)) for (const d of Object.values(docs)) { n++; if (d && d.subCollection) n += count(d.subCollection) }
    return n
  }
  console.log(JSON.stringify({ documents: count(data), seconds }))
  process.exit(0)
})().catch((e) => { console.error(e); process.exit(1) })
JS

# FIREKEEP_BENCH_PKG: an older package's lib/index.js, for an addon build from before a change
# that also changed the JS (e.g. `git archive <commit> bindings/node | tar -x -C /tmp/old`).
export FIREKEEP_PKG="${FIREKEEP_BENCH_PKG:-$ROOT/bindings/node/lib/index.js}"
node - "$WORK" "$HOST" "$DOCS" "$TARGET_DIR/release/firekeep" "$TARGET_DIR/release/object_bench" <<'JS'
const fs = require('node:fs')
const path = require('node:path')
const crypto = require('node:crypto')
const { spawnSync } = require('node:child_process')
const { pipeline } = require('node:stream/promises')
const { Readable, Writable, Transform } = require('node:stream')
const fk = require(process.env.FIREKEEP_PKG)

const [work, host, docsArg, cli, objectBench] = process.argv.slice(2)
const docs = Number(docsArg)
const MIB = 1 << 20
const fmt = (x, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d })

const want = (n) => process.env.BENCH_SECTIONS.split(',').includes(String(n))

;(async () => {
  if (want(1)) await section1()
  if (want(2) || want(3)) await sections23()
})().catch((e) => { console.error(e); process.exit(1) })

async function section1() {
  // 1. encrypt. Criterion's middle throughput of each bench, in MiB/s.
  const unit = { KiB: 1 / 1024, MiB: 1, GiB: 1024 }
  const rust = {}
  let bench = null
  for (const line of fs.readFileSync(path.join(work, 'criterion.txt'), 'utf8').split('\n')) {
    const name = /^([a-z][\w/.-]*)/.exec(line)
    if (name) bench = name[1]
    const m = /thrpt:\s*\[\s*[\d.]+ \w+\/s\s+([\d.]+) (\w+)\/s/.exec(line)
    if (m && bench && !(bench in rust)) rust[bench] = Number(m[1]) * unit[m[2]]
  }
  const need = (b) => rust[b] ?? NaN
  // encrypt/decrypt: Node and Rust (object_bench) in alternating processes, 5 rounds.
  const run = (args) => {
    const r = spawnSync(args[0], args.slice(1), { encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr.slice(-2000)}`)
    return JSON.parse(r.stdout)
  }
  const rounds = []
  for (let i = 0; i < 5; i++) {
    rounds.push({
      rust: run([objectBench, '--mib', '256', '--reps', '9']),
      node: run([process.execPath, path.join(work, 'node-object.js')]),
    })
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
  const line = (what, nodeKey, rustKey, baseName) => {
    const n = med(rounds.map((r) => r.node[nodeKey]))
    const b = med(rounds.map((r) => r.rust[rustKey]))
    const per = rounds.map((r) => r.node[nodeKey] / r.rust[rustKey])
    console.log(`  ${what}: ${fmt(n)} MiB/s vs Rust ${baseName} ${fmt(b)} MiB/s -> ratio ${fmt(med(per), 2)}x (rounds ${per.map((x) => fmt(x, 2)).join(', ')})`)
  }
  console.log('encrypt/decrypt 256 MiB, each against the Rust call doing the same work, 5 alternating rounds (target: Node / Rust >= 0.9)')
  line('Node encryptInto(key, buf, out), reused out   ', 'into', 'into', 'seal_into 2 threads, reused buffer')
  line('Node encrypt(key, buf), first call of process ', 'first', 'first', 'seal_into 2 threads, first call, new result')
  line('Node encrypt(key, buf), results dropped (pool)', 'pooled', 'into', 'seal_into 2 threads, reused buffer')
  line('Node encrypt(key, buf), results dropped (pool)', 'pooled', 'fresh', 'seal_into 2 threads, new result per call')
  line('Node decryptInto(key, obj, out), reused out   ', 'decryptInto', 'open_into', 'open_into 2 threads, reused buffer')
  line('Node decrypt(key, obj), results dropped (pool)', 'decrypted', 'open_into', 'open_into 2 threads, reused buffer')
  line('Node createEncryptStream, 1 MiB chunks -> null', 'streamEncrypt', 'stream_encrypt', 'EncryptingWriter -> io::sink')
  line('Node createDecryptStream, 1 MiB chunks -> null', 'streamDecrypt', 'stream_decrypt', 'DecryptingReader from memory')

  // The stream against criterion's EncryptingWriter bench from the start of this run.
  const data = crypto.randomBytes(256 * MIB)
  const key = fk.generateDataKey()
  const chunks = []
  for (let o = 0; o < data.length; o += MIB) chunks.push(data.subarray(o, o + MIB))
  const streamTimes = []
  for (let i = 0; i < 5; i++) {
    const t0 = process.hrtime.bigint()
    await pipeline(Readable.from(chunks), fk.createEncryptStream(key), new Writable({ write(_c, _e, cb) { cb() } }))
    streamTimes.push(Number(process.hrtime.bigint() - t0) / 1e9)
  }
  const stream = 256 / med(streamTimes)
  // What any Node Transform pays to emit new Buffers: one that only copies each chunk into
  // a new Buffer (no cipher), through the same pipeline.
  const copyTimes = []
  for (let i = 0; i < 5; i++) {
    const copy = new Transform({ transform(c, _e, cb) { const b = Buffer.allocUnsafe(c.length); c.copy(b); cb(null, b) } })
    const t0 = process.hrtime.bigint()
    await pipeline(Readable.from(chunks), copy, new Writable({ write(_c, _e, cb) { cb() } }))
    copyTimes.push(Number(process.hrtime.bigint() - t0) / 1e9)
  }
  const copied = 256 / med(copyTimes)
  console.log(`  Node createEncryptStream, 1 MiB chunks -> null: ${fmt(stream)} MiB/s vs Rust EncryptingWriter -> io::sink ${fmt(need('stream/fast/encrypt-from-memory'))} MiB/s -> ratio ${fmt(stream / need('stream/fast/encrypt-from-memory'), 2)}x`)
  console.log(`  (stream vs the cache-resident stream/fast/encrypt, ${fmt(need('stream/fast/encrypt'))} MiB/s: ${fmt(stream / need('stream/fast/encrypt'), 2)}x;`)
  console.log(`   vs a Node Transform that only copies each chunk into a new Buffer, ${fmt(copied)} MiB/s: ${fmt(stream / copied, 2)}x)`)
}

async function sections23() {
  // 2. backup of `docs` documents: Rust CLI and Node alternating, best of 2 each.
  const keyB64 = crypto.randomBytes(32).toString('base64')
  const env = { ...process.env, FIREKEEP_KEY: keyB64 }
  // Every program under GNU time, which reports its peak RSS (KiB). (A child's own
  // getrusage would count the RSS of the forked Node parent before exec.)
  const measure = (args, runEnv = env) => {
    const t0 = process.hrtime.bigint()
    const r = spawnSync('/usr/bin/time', ['-f', 'FKTIME %e %M', ...args], { env: runEnv, encoding: 'utf8', maxBuffer: 1 << 24 })
    if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr.slice(-2000)}`)
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9
    return { seconds, maxRssKiB: Number(/FKTIME [\d.]+ (\d+)/.exec(r.stderr)[1]), out: JSON.parse(r.stdout) }
  }
  const rustRuns = []
  const nodeRuns = []
  for (let i = 0; i < 2; i++) {
    const r = measure([cli, 'backup', '--repo', path.join(work, `rust${i}`), '--project', 'bench', '--emulator-host', host, '--json'])
    rustRuns.push({ seconds: r.seconds, maxRssKiB: r.maxRssKiB, documents: r.out.documents })
    const n = measure([process.execPath, path.join(work, 'node-backup.js'), path.join(work, `node${i}`), host, keyB64])
    if (n.out.documents < docs) throw new Error(`the Node backup holds ${n.out.documents} documents, expected >= ${docs}`)
    nodeRuns.push({ seconds: n.out.seconds, maxRssKiB: n.maxRssKiB, documents: n.out.documents })
  }
  const bestOf = (runs) => runs.reduce((a, b) => (b.seconds < a.seconds ? b : a))
  const rb = bestOf(rustRuns)
  const nb = bestOf(nodeRuns)
  console.log(`backup ${fmt(docs)} docs over gRPC: Node ${fmt(nb.documents / nb.seconds)} docs/s, Rust CLI ${fmt(rb.documents / rb.seconds)} docs/s -> ratio ${fmt((nb.documents / nb.seconds) / (rb.documents / rb.seconds), 2)}x`)
  console.log(`  (Node timed around Client.backup; the CLI's time includes its process start)`)

  if (!want(3)) return
  // 3. firestore-export-import on the same server and data.
  const feiEnv = { ...process.env, FIRESTORE_EMULATOR_HOST: host, GOOGLE_CLOUD_PROJECT: 'bench', GCLOUD_PROJECT: 'bench', METADATA_SERVER_DETECTION: 'none' }
  delete feiEnv.NAPI_RS_NATIVE_LIBRARY_PATH
  const f = measure([process.execPath, path.join(work, 'fei', 'export.cjs'), path.join(work, 'export.json')], feiEnv)
  const fei = { ...f.out, maxRssKiB: f.maxRssKiB }
  const size = fs.statSync(path.join(work, 'export.json')).size
  console.log(`firestore-export-import: ${fmt(fei.documents)} docs in ${fmt(fei.seconds, 1)} s (${fmt(fei.documents / fei.seconds)} docs/s), peak RSS ${fmt(fei.maxRssKiB / 1024)} MiB, ${fmt(size / MIB, 1)} MiB of plain JSON`)
  console.log(`firekeep (Node):         ${fmt(nb.documents)} docs in ${fmt(nb.seconds, 1)} s, peak RSS ${fmt(nb.maxRssKiB / 1024)} MiB (encrypted, verified parts)`)
  console.log(`firekeep (CLI):          ${fmt(rb.documents)} docs in ${fmt(rb.seconds, 1)} s, peak RSS ${fmt(rb.maxRssKiB / 1024)} MiB`)
  console.log(`-> export tool / firekeep Node: time ${fmt(fei.seconds / nb.seconds, 1)}x, peak RSS ${fmt(fei.maxRssKiB / nb.maxRssKiB, 1)}x; documents it missed: ${fmt(nb.documents - fei.documents)}`)
}
JS
