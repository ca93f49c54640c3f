// Reads every document of collection "bench" with Google's Node client (streamed), for
// scripts/bench-firestore-read.sh. Prints one JSON line like the Rust reader.
'use strict';
const [host, databaseId] = process.argv.slice(2);
process.env.FIRESTORE_EMULATOR_HOST = host;
const {Firestore} = require('@google-cloud/firestore');

const db = new Firestore({projectId: 'firekeep-bench', databaseId});
const started = process.hrtime.bigint();
let docs = 0;
let fields = 0;
db.collection('bench')
  .stream()
  .on('data', (snap) => {
    docs++;
    fields += Object.keys(snap.data()).length;
  })
  .on('error', (e) => {
    console.error(e);
    process.exit(1);
  })
  .on('end', async () => {
    const secs = Number(process.hrtime.bigint() - started) / 1e9;
    const peak = process.resourceUsage().maxRSS; // KiB
    console.log(JSON.stringify({reader: 'node', docs, secs: +secs.toFixed(3),
      docs_per_sec: Math.round(docs / secs), peak_rss_kib: peak, fields}));
    await db.terminate();
  });
