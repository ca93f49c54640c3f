#!/usr/bin/env bash
# Node package throughput against Rust in the same run, and against the npm export tool:
#  1. Encrypting 256 MiB from Node against Rust, each against the Rust API doing the same
#     work (criterion, same run, same data size and backend):
#     - encryptInto(key, Buffer, out) into one reused buffer vs format::seal_into on 2
#       threads into a reused buffer (`object/seal_into/2-thread`);
#     - encrypt(key, Buffer) -> Buffer, first call of a process (fresh result memory; the
#       median of 5 processes) vs the same allocating its result each time
#       (`object/seal_into/2-thread-fresh-result`), and repeated with each result dropped
#       (pooled memory, recycled through V8's GC) vs the reused-buffer bench;
#     - decryptInto and decrypt (results dropped) vs format::open_into on 2 threads;
#     - createEncryptStream fed 1 MiB chunks into a null sink vs an EncryptingWriter fed
#       the same into io::sink (`stream/fast/encrypt-from-memory`; the cache-resident
#       `stream/fast/encrypt` is printed too).
#  2. A 100,000-document backup from Node (Client.backup) vs the release `firekeep` CLI, both
#     from the same firekeep-firestore-server process over gRPC into local folders.
#  3. `firestore-export-import` (npm, over FIRESTORE_EMULATOR_HOST) exporting the same data
#     from the same server to a JSON file: its time and peak RSS against firekeep's.
# Each measured program runs in its own process so its peak RSS is its own. Prints every
# rate and the ratios (targets: Node / Rust >= 0.9). Release builds: ~10+ min of both cores.
#
#   scripts/bench-node.sh [DOCS=100000]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DOCS=${1:-100000}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
EXPORT_TOOL=firestore-export-import@1.7.0

if [ -z "${FIREKEEP_BENCH_NO_BUILD:-}" ]; then
    cargo build --release -q -p firekeep-cli --bin firekeep
    cargo build --release -q -p firekeep-firestore-server --bin firekeep-firestore-server
    # The addon as a release cdylib, loaded through napi-rs's override variable so the
    # package's own (dev) addon in bindings/node is left alone.
    cargo build --release -q -p firekeep-node
fi
(cd bindings/node && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; })

WORK=$(mktemp -d /tmp/firekeep-bench-node.XXXXXX)
trap 'exec 3>&- 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
cp "$TARGET_DIR/release/libfirekeep_node.so" "$WORK/firekeep.node"
export NAPI_RS_NATIVE_LIBRARY_PATH="$WORK/firekeep.node"

echo "== installing $EXPORT_TOOL into a temp folder"
mkdir "$WORK/fei"
(cd "$WORK/fei" && npm init -y >/dev/null && npm install --no-audit --no-fund --loglevel=error "$EXPORT_TOOL" >/dev/null)

echo "== Rust: criterion object/*, stream/fast/encrypt* (256 MiB)"
cargo bench -q -p firekeep-benches --bench format -- '^(object/|stream/fast/encrypt)' \
    --warm-up-time 1 --measurement-time 3 2>/dev/null | tee "$WORK/criterion.txt" | grep -E "^[a-z]|thrpt:" | grep -v '%' || true

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

# The MiB/s of one first encrypt of 256 MiB in a new process (fresh result memory).
cat > "$WORK/node-first-encrypt.js" <<'JS'
const fk = require(process.env.FIREKEEP_PKG)
const data = require('node:crypto').randomBytes(256 << 20)
const key = fk.generateDataKey()
const t0 = process.hrtime.bigint()
fk.encrypt(key, data).then(() => console.log(256 / (Number(process.hrtime.bigint() - t0) / 1e9)))
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

FIREKEEP_PKG="$ROOT/bindings/node/lib/index.js" node - "$WORK" "$HOST" "$DOCS" "$TARGET_DIR/release/firekeep" <<'JS'
const fs = require('node:fs')
const path = require('node:path')
const crypto = require('node:crypto')
const { spawnSync } = require('node:child_process')
const { pipeline } = require('node:stream/promises')
const { Readable, Writable } = require('node:stream')
const fk = require(process.env.FIREKEEP_PKG)

const [work, host, docsArg, cli] = process.argv.slice(2)
const docs = Number(docsArg)
const MIB = 1 << 20
const fmt = (x, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d })

;(async () => {
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
  const data = crypto.randomBytes(256 * MIB)
  const key = fk.generateDataKey()
  // The median of n timed calls, in MiB/s (criterion's figure is a middle one too).
  const median = async (n, f) => {
    const t = []
    for (let i = 0; i < n; i++) {
      const t0 = process.hrtime.bigint()
      await f(i)
      t.push(Number(process.hrtime.bigint() - t0) / 1e9)
    }
    t.sort((a, b) => a - b)
    return 256 / t[n >> 1]
  }
  // encryptInto a buffer the caller reuses: no allocation at all, as the Rust bench.
  const out = Buffer.alloc(fk.encryptedLength(key, data.length))
  await fk.encryptInto(key, data, out)
  const into = await median(9, () => fk.encryptInto(key, data, out))
  // A first call in a new process writes fresh result memory (a page fault per 4 KiB), as
  // the Rust bench allocating its result per call. (Keeping results alive in one process
  // instead would measure this VM: once ~1 GiB is held, faulting in more runs ~6x slower,
  // in plain JS too.)
  const firsts = []
  for (let i = 0; i < 5; i++) {
    const r = spawnSync(process.execPath, [path.join(work, 'node-first-encrypt.js')], { encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`first-call encrypt failed: ${r.stderr.slice(-2000)}`)
    firsts.push(Number(r.stdout))
  }
  firsts.sort((a, b) => a - b)
  const fresh = firsts[firsts.length >> 1]
  // encrypt with each result dropped: pooled memory, recycled through V8's GC.
  await fk.encrypt(key, data)
  const repeated = await median(9, () => fk.encrypt(key, data))
  const chunks = []
  for (let o = 0; o < data.length; o += MIB) chunks.push(data.subarray(o, o + MIB))
  const stream = await median(5, () =>
    pipeline(Readable.from(chunks), fk.createEncryptStream(key), new Writable({ write(_c, _e, cb) { cb() } })))
  const line = (what, node, base, baseName) =>
    console.log(`  ${what}: ${fmt(node)} MiB/s vs Rust ${baseName} ${fmt(base)} MiB/s -> ratio ${fmt(node / base, 2)}x`)
  console.log('encrypt 256 MiB, each against the Rust call doing the same work (target: Node / Rust >= 0.9)')
  line('Node encryptInto(key, Buffer, out), reused out   ', into, need('object/seal_into/2-thread'), 'seal_into 2 threads, reused buffer')
  line('Node encrypt(key, Buffer), first call in a process', fresh, need('object/seal_into/2-thread-fresh-result'), 'seal_into 2 threads, fresh result')
  line('Node encrypt(key, Buffer), results dropped (pool)', repeated, need('object/seal_into/2-thread'), 'seal_into 2 threads, reused buffer')
  line('Node createEncryptStream, 1 MiB chunks -> null   ', stream, need('stream/fast/encrypt-from-memory'), 'EncryptingWriter -> io::sink')
  console.log(`  (stream vs the cache-resident stream/fast/encrypt, ${fmt(need('stream/fast/encrypt'))} MiB/s: ${fmt(stream / need('stream/fast/encrypt'), 2)}x)`)
  const sealed = await fk.encrypt(key, data)
  const plain = Buffer.alloc(fk.decryptedLength(sealed))
  await fk.decryptInto(key, sealed, plain)
  line('Node decryptInto(key, Buffer, out), reused out   ', await median(9, () => fk.decryptInto(key, sealed, plain)), need('object/open_into/2-thread'), 'open_into 2 threads, reused buffer')
  await fk.decrypt(key, sealed)
  line('Node decrypt(key, Buffer), results dropped (pool)', await median(9, () => fk.decrypt(key, sealed)), need('object/open_into/2-thread'), 'open_into 2 threads, reused buffer')

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
})().catch((e) => { console.error(e); process.exit(1) })
JS
