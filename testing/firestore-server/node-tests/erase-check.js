// Google's own Node client (@google-cloud/firestore over FIRESTORE_EMULATOR_HOST) seeds the
// database that scripts/test.d/40-erase-node.sh backs up, and checks what firekeep's erase
// and export produced:
//
//   node erase-check.js seed PROJECT USERS
//   node erase-check.js check-erased PROJECT SOURCE_DB RESTORED_DB
//   node erase-check.js compare-export PROJECT SOURCE_DB EXPORT.ndjson
//
// The person erased is `alice`: users/alice, its posts (and a like under one post), and
// every order whose userId is alice.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const readline = require('node:readline');
const { Firestore } = require('@google-cloud/firestore');

const ALICE = 'alice';
const COLLECTIONS = ['users', 'orders', 'posts', 'likes', 'notes'];

function db(project, database) {
  return new Firestore({ projectId: project, databaseId: database });
}

async function seed(project, users) {
  const fs_ = db(project, '(default)');
  const w = fs_.bulkWriter();
  for (let i = 0; i < users; i++) {
    const id = `u${String(i).padStart(6, '0')}`;
    w.set(fs_.doc(`users/${id}`), { userId: id, bio: `${id} `.repeat(10), n: i });
    w.set(fs_.doc(`orders/o${String(i).padStart(6, '0')}`), {
      // Alice's orders sit among the first ones: the parts after them hold none.
      userId: i < 1000 && i % 20 === 0 ? ALICE : id, total: i, paid: i % 3 === 0,
    });
  }
  w.set(fs_.doc(`users/${ALICE}`), { userId: ALICE, email: 'alice@example.com' });
  for (let p = 0; p < 25; p++) {
    w.set(fs_.doc(`users/${ALICE}/posts/p${p}`), { text: 'private words '.repeat(5), n: p });
  }
  w.set(fs_.doc(`users/${ALICE}/posts/p0/likes/l1`), { by: 'u000001' });
  // Cells a spreadsheet would run as formulas.
  w.set(fs_.doc('notes/n1'), { text: '=HYPERLINK("http://evil","x")', at: '@SUM(1+1)', n: -1 });
  await w.close();
  await fs_.terminate();
}

function isAlices(path, data) {
  return path === `users/${ALICE}` || path.startsWith(`users/${ALICE}/`)
    || (path.startsWith('orders/') && data.userId === ALICE);
}

// Every document of the database by relative path (all collection ids the seed uses).
async function allDocs(fs_) {
  const out = new Map();
  for (const c of COLLECTIONS) {
    const snap = await fs_.collectionGroup(c).get();
    for (const d of snap.docs) out.set(d.ref.path, d.data());
  }
  return out;
}

async function checkErased(project, sourceDb, restoredDb) {
  const src = db(project, sourceDb);
  const dst = db(project, restoredDb);
  assert.equal((await dst.doc(`users/${ALICE}`).get()).exists, false, 'users/alice restored');
  assert.equal((await dst.collection(`users/${ALICE}/posts`).get()).size, 0, 'posts restored');
  assert.equal((await dst.collectionGroup('likes').get()).size, 0, 'likes restored');
  const orders = await dst.collectionGroup('orders').where('userId', '==', ALICE).get();
  assert.equal(orders.size, 0, 'alice\'s orders restored');
  const want = await allDocs(src);
  const got = await allDocs(dst);
  let expected = 0;
  for (const [path, data] of want) {
    if (isAlices(path, data)) continue;
    expected++;
    assert.ok(got.has(path), `${path} missing from ${restoredDb}`);
    assert.deepEqual(got.get(path), data, `${path} differs in ${restoredDb}`);
  }
  assert.equal(got.size, expected, `${restoredDb} holds other documents`);
  await src.terminate();
  await dst.terminate();
  console.log(`${restoredDb}: none of alice's documents, ${expected} others unchanged`);
}

// Firestore REST JSON value → what the Node client returns for it (the seed's types).
function plain(v) {
  if ('stringValue' in v) return v.stringValue;
  if ('integerValue' in v) return Number(v.integerValue);
  if ('doubleValue' in v) return Number(v.doubleValue);
  if ('booleanValue' in v) return v.booleanValue;
  if ('nullValue' in v) return null;
  if ('mapValue' in v) return fields(v.mapValue.fields || {});
  if ('arrayValue' in v) return (v.arrayValue.values || []).map(plain);
  throw new Error(`unexpected value ${JSON.stringify(v)}`);
}

function fields(f) {
  const o = {};
  for (const [k, v] of Object.entries(f)) o[k] = plain(v);
  return o;
}

async function compareExport(project, sourceDb, file) {
  const src = db(project, sourceDb);
  const want = await allDocs(src);
  const got = new Map();
  const lines = readline.createInterface({ input: fs.createReadStream(file) });
  for await (const line of lines) {
    if (!line) continue;
    const doc = JSON.parse(line);
    const path = doc.name.split('/documents/')[1];
    got.set(path, fields(doc.fields || {}));
  }
  assert.equal(got.size, want.size, 'export holds a different number of documents');
  for (const [path, data] of want) assert.deepEqual(got.get(path), data, path);
  await src.terminate();
  console.log(`export equals ${sourceDb} as Google's client reads it (${want.size} documents)`);
}

async function main() {
  const [cmd, ...a] = process.argv.slice(2);
  if (cmd === 'seed') await seed(a[0], Number(a[1]));
  else if (cmd === 'check-erased') await checkErased(a[0], a[1], a[2]);
  else if (cmd === 'compare-export') await compareExport(a[0], a[1], a[2]);
  else throw new Error(`unknown command ${cmd}`);
}

main().catch((e) => { console.error(e); process.exit(1); });
