#!/usr/bin/env bash
# Packs the package (`npm pack`), installs the tarball into a fresh temporary folder and
# loads it from there through both entry points (require and import), as a user would.
# Offline: the package has no runtime dependencies. Needs the addon built (`npm run build`).
set -euo pipefail
cd "$(dirname "$0")/.."
PKG=$PWD
ls firekeep.*.node >/dev/null 2>&1 || { echo "pack-check: no firekeep.*.node; run npm run build first" >&2; exit 1; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Pack from a staging copy whose addon has its debug info stripped: a dev-profile addon is
# ~400 MB of DWARF and gzipping it would dominate this check (release builds are small).
# Everything else (package.json's `files`, the exports map) is what is checked.
STAGE="$WORK/stage"
mkdir -p "$STAGE"
tar --exclude=./node_modules -cf - . | tar -xf - -C "$STAGE"
for f in "$STAGE"/firekeep.*.node; do
    if command -v strip >/dev/null; then strip --strip-debug "$f"; fi
done
TARBALL=$(cd "$STAGE" && npm pack --silent --pack-destination "$WORK" | tail -n 1)
TGZ="$WORK/$TARBALL"

# What ships: the JS layer, the types, the loader and the addon; no tests, sources or scripts.
LISTING=$(tar -tzf "$TGZ")
for f in package/package.json package/README.md package/lib/index.js package/lib/index.mjs \
         package/lib/index.d.ts package/lib/values.js package/lib/errors.js package/lib/results.js \
         package/native.js package/native.d.ts; do
    grep -qx "$f" <<<"$LISTING" || { echo "pack-check: $f is missing from $TARBALL" >&2; exit 1; }
done
grep -q '^package/firekeep\..*\.node$' <<<"$LISTING" || { echo "pack-check: no addon in $TARBALL" >&2; exit 1; }
if grep -E '^package/(src|__test__|scripts|node_modules)/|^package/Cargo.toml$' <<<"$LISTING"; then
    echo "pack-check: $TARBALL ships files it should not (above)" >&2; exit 1
fi

APP="$WORK/app"
mkdir -p "$APP"
cd "$APP"
printf '{"name":"pack-check-app","version":"1.0.0","private":true}\n' > package.json
npm install --silent --offline --no-audit --no-fund "$TGZ"

# CommonJS and ESM both load, share one addon, and work (a real encrypt/decrypt and value codec).
node -e '
const fk = require("firekeep")
const assert = require("node:assert/strict")
assert.equal(typeof fk.Client, "function")
assert.equal(fk.default, fk)
const key = fk.generateDataKey()
fk.encrypt(key, Buffer.from("packed")).then((ct) => fk.decrypt(key, ct)).then((pt) => {
  assert.equal(pt.toString(), "packed")
  const doc = fk.decodeDocument(fk.encodeDocument({ name: "projects/p/databases/(default)/documents/c/d", fields: { n: 2n ** 60n } }))
  assert.equal(doc.fields.n, 2n ** 60n)
  console.log("pack-check: require(\"firekeep\") ok, version", fk.version)
})
'
cat > check.mjs <<'JS'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import firekeep, { Client, Timestamp, encrypt, decrypt, generateDataKey } from 'firekeep'
const cjs = createRequire(import.meta.url)('firekeep')
assert.equal(Client, cjs.Client, 'ESM and CJS share one module instance')
assert.equal(firekeep.Timestamp, Timestamp)
const key = generateDataKey()
assert.equal((await decrypt(key, await encrypt(key, Buffer.from('esm')))).toString(), 'esm')
console.log('pack-check: import "firekeep" ok')
JS
node check.mjs
echo "pack-check: $TARBALL ($(du -h "$TGZ" | cut -f1)) installs and loads"
