// Drives the firekeep Firestore test server with Google's own Node client
// (@google-cloud/firestore over FIRESTORE_EMULATOR_HOST) and checks that it behaves as
// Firestore documents: value types, timestamps, subcollections, queries, listing,
// read-time reads, batches, BulkWriter, preconditions, transforms, count and partitions.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');
const readline = require('node:readline');
const {
  Firestore, Timestamp, GeoPoint, FieldValue, FieldPath,
} = require('@google-cloud/firestore');

const repo = path.resolve(__dirname, '..', '..', '..');
const targetDir = process.env.CARGO_TARGET_DIR
  ? path.resolve(repo, process.env.CARGO_TARGET_DIR)
  : path.join(repo, 'target');
const serverBin = process.env.FIREKEEP_FIRESTORE_SERVER_BIN
  || path.join(targetDir, 'debug', 'firekeep-firestore-server');

// gRPC status codes the client surfaces as error.code. (Future and too-old read times
// are checked by the Rust tests: this client retries those errors with backoff.)
const Code = {
  NOT_FOUND: 5, ALREADY_EXISTS: 6, FAILED_PRECONDITION: 9,
};

let server;
let db;
let demo;

function startServer() {
  return new Promise((resolve, reject) => {
    const child = spawn(serverBin, ['--port', '0', '--seed-demo', '--demo-docs', '300',
      '--exit-on-stdin-eof'], { stdio: ['pipe', 'pipe', 'inherit'] });
    child.on('error', (e) => reject(new Error(
      `cannot start ${serverBin} (${e.message}); build it with ` +
      'cargo build -p firekeep-firestore-server --bin firekeep-firestore-server')));
    const lines = readline.createInterface({ input: child.stdout });
    lines.once('line', (line) => {
      const m = /^listening on (\S+)$/.exec(line);
      if (!m) reject(new Error(`unexpected first line from the server: ${line}`));
      else resolve({ child, host: m[1] });
    });
  });
}

before(async () => {
  server = await startServer();
  process.env.FIRESTORE_EMULATOR_HOST = server.host;
  // No Google metadata server here: keep the auth library from probing for one.
  process.env.METADATA_SERVER_DETECTION = 'none';
  db = new Firestore({ projectId: 'node-test', useBigInt: true });
  demo = new Firestore({ projectId: 'demo', useBigInt: true });
});

after(async () => {
  await db.terminate();
  await demo.terminate();
  server.child.stdin.end(); // The server exits when its stdin closes.
});

// Every value type, with Firestore's edge cases.
function allTypes() {
  let deep = 'bottom';
  for (let i = 19; i >= 0; i--) deep = i % 2 ? [deep] : { [`l${i}`]: deep };
  return {
    nul: null,
    t: true,
    f: false,
    intMin: -9223372036854775808n,
    intMax: 9223372036854775807n,
    nan: NaN,
    negZero: -0,
    inf: Infinity,
    negInf: -Infinity,
    subnormal: 5e-324,
    pi: Math.PI,
    tsMin: new Timestamp(-62135596800, 0),
    tsMax: new Timestamp(253402300799, 999999000),
    tsMicros: new Timestamp(1700000000, 123456000),
    bytes: Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
    strNul: 'a\u0000b',
    strAstral: '𝄞 😀 ü 中文',
    ref: db.doc('users/alice'),
    geo: new GeoPoint(-90, 180),
    arr: [1, 1.5, 'x', null, { k: false }],
    emptyArr: [],
    emptyMap: {},
    deep,
    'field.with.dots': 1n,
  };
}

describe('values', () => {
  it('round-trips every value type exactly', async () => {
    const ref = db.doc('values/all');
    const wr = await ref.set(allTypes());
    const snap = await ref.get();
    assert.equal(snap.exists, true);
    const d = snap.data();
    const want = allTypes();
    assert.equal(d.intMin, want.intMin);
    assert.equal(d.intMax, want.intMax);
    assert.ok(Number.isNaN(d.nan));
    assert.ok(Object.is(d.negZero, -0), 'negative zero keeps its sign');
    assert.equal(d.inf, Infinity);
    assert.equal(d.negInf, -Infinity);
    assert.equal(d.subnormal, 5e-324);
    assert.ok(d.tsMin.isEqual(want.tsMin));
    assert.ok(d.tsMax.isEqual(want.tsMax));
    assert.ok(d.tsMicros.isEqual(want.tsMicros));
    assert.deepEqual(Buffer.from(d.bytes), want.bytes);
    assert.equal(d.strNul, want.strNul);
    assert.equal(d.strAstral, want.strAstral);
    assert.equal(d.ref.path, 'users/alice');
    assert.ok(d.geo.isEqual(want.geo));
    assert.deepEqual(d.arr, [1n, 1.5, 'x', null, { k: false }]);
    assert.deepEqual(d.emptyArr, []);
    assert.deepEqual(d.emptyMap, {});
    assert.deepEqual(d.deep, want.deep);
    assert.equal(snap.get(new FieldPath('field.with.dots')), 1n);
    // Firestore's documented timestamps: create == update on creation == write time.
    assert.ok(snap.createTime.isEqual(snap.updateTime));
    assert.ok(snap.updateTime.isEqual(wr.writeTime));
    assert.equal(wr.writeTime.nanoseconds % 1000, 0, 'commit times are microsecond-precise');
  });

  it('rounds timestamps down to microseconds, as Firestore documents', async () => {
    const ref = db.doc('values/nanos');
    await ref.set({ t: new Timestamp(1700000000, 123456789) });
    const t = (await ref.get()).get('t');
    assert.equal(t.seconds, 1700000000);
    assert.equal(t.nanoseconds, 123456000);
  });

  it('keeps the update time of writes that change nothing', async () => {
    const ref = db.doc('values/same');
    const first = await ref.set({ a: 1 });
    const second = await ref.set({ a: 1 });
    assert.ok(second.writeTime.isEqual(first.writeTime), "a no-op write reports the previous update time");
    assert.ok((await ref.get()).updateTime.isEqual(first.writeTime),
      'a write that changes nothing keeps the update time');
  });
});

describe('subcollections and listing', () => {
  before(async () => {
    const b = db.batch();
    b.set(db.doc('tree/a'), { n: 1 });
    b.set(db.doc('tree/a/l1/b'), { n: 2 });
    b.set(db.doc('tree/a/l1/b/l2/c'), { n: 3 });
    b.set(db.doc('tree/a/l1/b/l2/c/l3/d'), { n: 4 });
    b.set(db.doc('tree/ghost/kids/k1'), { n: 5 }); // tree/ghost itself never exists
    await b.commit();
  });

  it('reads three levels of subcollections', async () => {
    const snap = await db.doc('tree/a/l1/b/l2/c/l3/d').get();
    assert.equal(snap.get('n'), 4n);
    const cols = await db.doc('tree/a/l1/b').listCollections();
    assert.deepEqual(cols.map((c) => c.id), ['l2']);
  });

  it('lists root collections', async () => {
    const ids = (await db.listCollections()).map((c) => c.id);
    assert.ok(ids.includes('tree') && ids.includes('values'), ids.join(','));
    assert.deepEqual([...ids].sort(), ids, 'collection ids come sorted');
  });

  it('lists documents including parents that exist only through subcollections', async () => {
    const refs = await db.collection('tree').listDocuments();
    assert.deepEqual(refs.map((r) => r.id).sort(), ['a', 'ghost']);
    const ghost = await db.doc('tree/ghost').get();
    assert.equal(ghost.exists, false);
    assert.deepEqual((await db.doc('tree/ghost').listCollections()).map((c) => c.id), ['kids']);
  });

  it('collection group queries find every depth', async () => {
    const snap = await db.collectionGroup('l3').get();
    assert.deepEqual(snap.docs.map((d) => d.ref.path), ['tree/a/l1/b/l2/c/l3/d']);
  });
});

describe('queries', () => {
  const coll = () => db.collection('q');
  before(async () => {
    const b = db.batch();
    for (let i = 0; i < 20; i++) {
      b.set(coll().doc(`d${String(i).padStart(2, '0')}`), {
        i, half: i % 2 === 0 ? 'even' : 'odd', tags: [`t${i % 3}`], score: i / 4,
      });
    }
    b.set(coll().doc('noI'), { half: 'even' });
    await b.commit();
  });

  const ids = (snap) => snap.docs.map((d) => d.id);

  it('filters with equality and ranges, ordered and limited', async () => {
    const s = await coll().where('half', '==', 'odd').where('i', '>=', 11).orderBy('i', 'desc')
      .limit(3).get();
    assert.deepEqual(ids(s), ['d19', 'd17', 'd15']);
    const r = await coll().where('i', '<', 3).get(); // implicit order by i, then name
    assert.deepEqual(ids(r), ['d00', 'd01', 'd02']);
    const inq = await coll().where('i', 'in', [4, 7, 99]).get();
    assert.deepEqual(ids(inq), ['d04', 'd07']);
    const ac = await coll().where('tags', 'array-contains', 't2').get();
    assert.deepEqual(ids(ac), ['d02', 'd05', 'd08', 'd11', 'd14', 'd17']);
    const ne = await coll().where('half', '!=', 'odd').get();
    assert.equal(ne.size, 11); // ten evens and noI
    const mixed = await coll().where('score', '==', 1).get(); // 1 == 1.0 across types
    assert.deepEqual(ids(mixed), ['d04']);
  });

  it('pages with startAfter, offset and limitToLast', async () => {
    const first = await coll().orderBy('i').limit(5).get();
    assert.deepEqual(ids(first), ['d00', 'd01', 'd02', 'd03', 'd04']);
    const next = await coll().orderBy('i').startAfter(first.docs[4]).limit(2).get();
    assert.deepEqual(ids(next), ['d05', 'd06']);
    const off = await coll().orderBy('i').offset(18).get();
    assert.deepEqual(ids(off), ['d18', 'd19']);
    const last = await coll().orderBy('i').limitToLast(2).get();
    assert.deepEqual(ids(last), ['d18', 'd19']);
    const byName = await coll().orderBy(FieldPath.documentId()).startAt('d18').endBefore('noI')
      .get();
    assert.deepEqual(ids(byName), ['d18', 'd19']);
    const missingField = await coll().orderBy('i').get();
    assert.equal(missingField.size, 20, 'documents without the ordered field are left out');
  });

  it('projects fields with select', async () => {
    const s = await coll().select('i').where('i', '==', 3).get();
    assert.deepEqual(s.docs[0].data(), { i: 3n });
  });

  it('counts', async () => {
    const c = await coll().count().get();
    assert.equal(c.data().count, 21n);
    const c2 = await coll().where('half', '==', 'odd').count().get();
    assert.equal(c2.data().count, 10n);
  });
});

describe('read time', () => {
  it('reads the past at a read time', async () => {
    const ref = db.doc('history/doc');
    const w1 = await ref.set({ v: 1 });
    await ref.set({ v: 2 });
    await db.doc('history/later').set({ v: 3 });
    const old = await db.runTransaction(async (tx) => tx.get(ref),
      { readOnly: true, readTime: w1.writeTime });
    assert.equal(old.get('v'), 1n);
    assert.ok(old.readTime.isEqual(w1.writeTime));
    const oldQuery = await db.runTransaction(async (tx) => tx.get(db.collection('history')),
      { readOnly: true, readTime: w1.writeTime });
    assert.deepEqual(oldQuery.docs.map((d) => d.id), ['doc']);
    const now = await ref.get();
    assert.equal(now.get('v'), 2n);
  });
});

describe('writes', () => {
  it('commits batches atomically', async () => {
    await db.doc('atomic/existing').set({ v: 1 });
    const b = db.batch();
    b.set(db.doc('atomic/new'), { v: 2 });
    b.create(db.doc('atomic/existing'), { v: 3 });
    await assert.rejects(b.commit(), (e) => e.code === Code.ALREADY_EXISTS);
    assert.equal((await db.doc('atomic/new').get()).exists, false, 'nothing of a failed batch applies');
    assert.equal((await db.doc('atomic/existing').get()).get('v'), 1n);
  });

  it('enforces preconditions', async () => {
    await assert.rejects(db.doc('pre/missing').update({ a: 1 }),
      (e) => e.code === Code.NOT_FOUND);
    const ref = db.doc('pre/doc');
    const w = await ref.set({ a: 1 });
    await assert.rejects(ref.create({ a: 2 }), (e) => e.code === Code.ALREADY_EXISTS);
    await assert.rejects(
      ref.delete({ lastUpdateTime: Timestamp.fromMillis(w.writeTime.toMillis() - 1000) }),
      (e) => e.code === Code.FAILED_PRECONDITION,
    );
    await ref.update({ a: 5 }, { lastUpdateTime: w.writeTime });
    assert.equal((await ref.get()).get('a'), 5n);
    await ref.delete({ exists: true });
    assert.equal((await ref.get()).exists, false);
  });

  it('applies field transforms and merges', async () => {
    const ref = db.doc('tx/transforms');
    await ref.set({ n: 1, list: ['a', 'b'], keep: true, gone: 1 });
    const w = await ref.update({
      n: FieldValue.increment(2),
      list: FieldValue.arrayUnion('b', 'c'),
      gone: FieldValue.delete(),
      at: FieldValue.serverTimestamp(),
    });
    await ref.update({ list: FieldValue.arrayRemove('a') });
    await ref.set({ nested: { x: 1 } }, { merge: true });
    const d = (await ref.get()).data();
    assert.equal(d.n, 3n);
    assert.deepEqual(d.list, ['b', 'c']);
    assert.equal(d.keep, true);
    assert.equal('gone' in d, false);
    assert.ok(d.at.isEqual(w.writeTime), 'serverTimestamp is the commit time');
    assert.deepEqual(d.nested, { x: 1n });
  });

  it('writes with BulkWriter (BatchWrite) and reports per-write failures', async () => {
    await db.doc('bulk/d0000').set({ pre: true });
    const bw = db.bulkWriter();
    const failures = [];
    bw.onWriteError((e) => { failures.push([e.documentRef.id, e.code]); return false; });
    const ops = [];
    for (let i = 0; i < 600; i++) {
      ops.push(bw.create(db.doc(`bulk/d${String(i).padStart(4, '0')}`), { i }).catch(() => null));
    }
    await bw.close();
    await Promise.all(ops);
    assert.deepEqual(failures, [['d0000', Code.ALREADY_EXISTS]]);
    const c = await db.collection('bulk').count().get();
    assert.equal(c.data().count, 600n);
  });

  it('runs read-write transactions', async () => {
    const ref = db.doc('tx/counter');
    await ref.set({ n: 0 });
    for (let i = 0; i < 3; i++) {
      await db.runTransaction(async (tx) => {
        const s = await tx.get(ref);
        tx.update(ref, { n: s.get('n') + 1n });
      });
    }
    assert.equal((await ref.get()).get('n'), 3n);
  });
});

describe('seeded demo data and partitions', () => {
  it('reads the seeded fidelity document exactly', async () => {
    const d = (await demo.doc('fidelity/all').get()).data();
    assert.ok(Number.isNaN(d.nan));
    assert.ok(Object.is(d.neg_zero, -0));
    assert.equal(d.int_min, -9223372036854775808n);
    assert.equal(d.int_max, 9223372036854775807n);
    assert.equal(d.ts_max.seconds, 253402300799); // 9999-12-31T23:59:59Z
    assert.equal(d.ts_max.nanoseconds, 999999000);
    assert.equal(d.ts_min.seconds, -62135596800); // 0001-01-01T00:00:00Z
    assert.equal(d.string_nul, 'a\u0000b');
    assert.equal(d.bytes.length, 256);
    assert.equal(d.reference.path, 'users/u0000');
  });

  it('partitions a collection group into disjoint ranges covering it', async () => {
    const all = await demo.collectionGroup('orders').get();
    assert.ok(all.size > 50);
    const seen = [];
    let parts = 0;
    for await (const p of demo.collectionGroup('orders').getPartitions(4)) {
      parts++;
      const s = await p.toQuery().get();
      seen.push(...s.docs.map((d) => d.ref.path));
    }
    assert.equal(parts, 4);
    assert.deepEqual(seen, all.docs.map((d) => d.ref.path), 'partitions cover the group in order');
  });
});
