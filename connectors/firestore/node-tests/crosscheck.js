// Google's Node client as the referee for the firekeep connector.
//
//   node crosscheck.js write <database>   writes a data set with every value type
//   node crosscheck.js dump  <database>   prints every document as typed JSON lines
//
// Uses FIRESTORE_EMULATOR_HOST (set by the Rust driver). The typed JSON keeps what plain
// JSON loses: integer vs double, double bits, nanoseconds, bytes, references, geopoints.
'use strict';

const {Firestore, Timestamp, GeoPoint} = require('@google-cloud/firestore');

const [mode, databaseId] = process.argv.slice(2);
const db = new Firestore({projectId: 'firekeep-node', databaseId, useBigInt: true});

function doubleBits(x) {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  return view.getBigUint64(0).toString(16).padStart(16, '0');
}

function typed(v) {
  if (v === null) return {null: null};
  if (typeof v === 'boolean') return {bool: v};
  if (typeof v === 'bigint') return {int: v.toString()};
  if (typeof v === 'number') return {double: doubleBits(v)};
  if (typeof v === 'string') return {str: v};
  if (v instanceof Timestamp) return {ts: [v.seconds.toString(), v.nanoseconds]};
  if (v instanceof GeoPoint) return {geo: [doubleBits(v.latitude), doubleBits(v.longitude)]};
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return {bytes: Buffer.from(v).toString('hex')};
  if (Array.isArray(v)) return {array: v.map(typed)};
  if (v && typeof v.path === 'string' && typeof v.collection === 'function') return {ref: v.path};
  if (v && typeof v === 'object') {
    const out = {};
    for (const k of Object.keys(v)) out[k] = typed(v[k]);
    return {map: out};
  }
  throw new Error('unexpected value ' + v);
}

function nested(depth) {
  let v = 'bottom';
  for (let level = depth - 1; level >= 0; level--) {
    v = level % 2 === 1 ? [v] : {['l' + level]: v};
  }
  return v;
}

async function write() {
  const all = {
    null: null,
    true: true,
    int_min: -9223372036854775808n,
    int_max: 9223372036854775807n,
    small_int: 42,
    nan: NaN,
    neg_zero: -0,
    pos_inf: Infinity,
    neg_inf: -Infinity,
    subnormal: 5e-324,
    pi: Math.PI,
    ts_min: new Timestamp(-62135596800, 0),
    ts_max: new Timestamp(253402300799, 999999000),
    ts_micros: new Timestamp(1700000000, 123456000),
    ts_pre_epoch: new Timestamp(-1, 999999000),
    string_nul: 'a\u0000b',
    string_astral: '𝄞 😀 ü 中文',
    string_empty: '',
    bytes: Buffer.from(Array.from({length: 256}, (_, i) => i)),
    reference: db.doc('nodes/all/sub/s1'),
    geo: new GeoPoint(-90, 180),
    array_mixed: [1n, 1.5, 'x', null, {k: false}],
    array_empty: [],
    map_empty: {},
    deep: nested(20),
    'field.with.dots': 1n,
    'ünïcødé key': 2n,
  };
  await db.doc('nodes/all').set(all);
  await db.doc('nodes/all/sub/s1').set({level: 1n});
  await db.doc('nodes/all/sub/s1/deeper/d1').set({level: 2n});
  await db.doc('nodes/all/sub/s1/deeper/d1/deepest/e1').set({level: 3n});
  // A parent that exists only through its subcollection.
  await db.doc('ghosts/g1/items/i1').set({ghost: true});
  const batch = db.batch();
  for (let i = 0; i < 60; i++) {
    batch.set(db.doc(`many/m${String(i).padStart(3, '0')}`), {i: BigInt(i), s: 'x'.repeat(i)});
  }
  await batch.commit();
}

async function walk(collection, out) {
  for (const ref of await collection.listDocuments()) {
    const snap = await ref.get();
    if (snap.exists) {
      out.push({
        path: ref.path,
        create: [snap.createTime.seconds.toString(), snap.createTime.nanoseconds],
        update: [snap.updateTime.seconds.toString(), snap.updateTime.nanoseconds],
        fields: typed(snap.data()).map,
      });
    }
    for (const sub of await ref.listCollections()) await walk(sub, out);
  }
}

async function dump() {
  const out = [];
  for (const c of await db.listCollections()) await walk(c, out);
  for (const d of out) process.stdout.write(JSON.stringify(d) + '\n');
}

(mode === 'write' ? write() : dump())
  .then(() => db.terminate())
  .catch((e) => {
    console.error(e);
    process.exit(1);
  });
