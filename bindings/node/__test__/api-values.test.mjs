// Fidelity of every Firestore value type of DESIGN.md into JS values and back, through the
// core's own REST JSON codec (encodeDocument/decodeDocument call it): JS -> JSON -> JS and
// JSON -> JS -> JSON must both be exact, bit for bit.
import test from 'node:test'
import assert from 'node:assert/strict'
import {
  Timestamp, GeoPoint, DocumentReference, Double, Document, decodeDocument, encodeDocument,
  InvalidInputError,
} from '../lib/index.mjs'

const NAME = 'projects/p/databases/(default)/documents/users/alice'
const REF = 'projects/p/databases/(default)/documents/orders/o1'

/** Exact equality: Object.is for numbers (NaN, -0), bigint, classes by isEqual, bytes. */
function same(a, b, where = 'value') {
  if (typeof a === 'number' || typeof a === 'bigint') {
    assert.equal(typeof b, typeof a, `${where}: type`)
    assert.ok(Object.is(a, b), `${where}: ${String(a)} !== ${String(b)}`)
  } else if (a instanceof Timestamp || a instanceof GeoPoint || a instanceof DocumentReference || a instanceof Double) {
    assert.ok(a.isEqual(b), `${where}: ${String(a)} !== ${String(b)}`)
  } else if (Buffer.isBuffer(a)) {
    assert.ok(Buffer.isBuffer(b) && a.equals(b), `${where}: bytes differ`)
  } else if (Array.isArray(a)) {
    assert.ok(Array.isArray(b) && a.length === b.length, `${where}: array length`)
    a.forEach((x, i) => same(x, b[i], `${where}[${i}]`))
  } else if (a !== null && typeof a === 'object') {
    assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort(), `${where}: keys`)
    for (const k of Object.keys(a)) same(a[k], b[k], `${where}.${k}`)
  } else {
    assert.equal(b, a, where)
  }
}

// Every type and its edges (DESIGN.md, "Data fidelity").
const EDGES = {
  null: null,
  true: true,
  false: false,
  intZero: 0,
  intSafeMax: Number.MAX_SAFE_INTEGER,
  intSafeMin: Number.MIN_SAFE_INTEGER,
  int64Max: 2n ** 63n - 1n,
  int64Min: -(2n ** 63n),
  intJustBeyond: 2n ** 53n,
  doubleHalf: 0.5,
  doubleTenth: 0.1,
  doubleOne: new Double(1),
  doubleNegOne: new Double(-1),
  doubleHuge: 1e300,
  doubleMax: Number.MAX_VALUE,
  doubleMinNormal: 2.2250738585072014e-308,
  doubleSubnormal: 5e-324,
  doubleNegSubnormal: -5e-324,
  nan: NaN,
  inf: Infinity,
  negInf: -Infinity,
  negZero: -0,
  tsMin: new Timestamp(-62135596800, 0),
  tsMax: new Timestamp(253402300799, 999999999),
  tsNanos: new Timestamp(1700000000, 1),
  tsMicros: new Timestamp(0, 123456000),
  tsNegative: new Timestamp(-1, 999999999),
  empty: '',
  unicode: 'héllo wörld ✓ 日本語 😀 \u{10FFFF}',
  nul: 'a\u0000b',
  controls: '\n\t\r"\\\u0001\u001f',
  bytesEmpty: Buffer.alloc(0),
  bytesAll: Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
  ref: new DocumentReference(REF),
  geo: new GeoPoint(48.8584, 2.2945),
  geoEdges: new GeoPoint(-90, 180),
  geoNegZero: new GeoPoint(-0, -0),
  arrayEmpty: [],
  array: [1, 'two', null, false, new Double(3), 4.5, new Timestamp(5, 6), Buffer.from('x'), { seven: 7 }],
  mapEmpty: {},
  map: { a: { b: { c: [1, { d: NaN }] } } },
  awkwardKeys: { 'with.dot': 1, 'with space': 2, '`tick`': 3, 'ü': 4, ['__proto__']: { inner: 5 }, constructor: 6 },
}

function nested(depth, leaf) {
  let v = leaf
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { m: v }
  return v
}

test('every value type survives JS -> REST JSON -> JS exactly', () => {
  const doc = new Document(NAME, { ...EDGES, deepest: nested(20, 'leaf') }, {
    createTime: new Timestamp(1714564800, 123456789),
    updateTime: new Timestamp(1714564800, 500000000),
  })
  const json = encodeDocument(doc)
  const back = decodeDocument(json)
  assert.ok(back instanceof Document)
  assert.equal(back.name, NAME)
  assert.equal(back.path, 'users/alice')
  assert.equal(back.id, 'alice')
  same(doc.fields, back.fields, 'fields')
  same(doc.createTime, back.createTime, 'createTime')
  same(doc.updateTime, back.updateTime, 'updateTime')
  // And the JSON is a fixed point: encoding the decoded document gives the same bytes.
  assert.equal(encodeDocument(back), json)
})

test('decoded types: safe integers are numbers, beyond are bigint; integral doubles are Double', () => {
  const d = decodeDocument(encodeDocument(new Document(NAME, EDGES))).fields
  assert.equal(typeof d.intSafeMax, 'number')
  assert.equal(typeof d.int64Max, 'bigint')
  assert.equal(d.int64Max, 9223372036854775807n)
  assert.equal(d.int64Min, -9223372036854775808n)
  assert.equal(typeof d.intJustBeyond, 'bigint')
  assert.ok(d.doubleOne instanceof Double)
  assert.equal(d.doubleOne * 2, 2, 'a Double does arithmetic through valueOf')
  assert.equal(typeof d.doubleHuge, 'number', 'a double beyond 2^53 is unambiguous, so a plain number')
  assert.ok(Object.is(d.negZero, -0))
  assert.ok(Number.isNaN(d.nan))
  assert.ok(Buffer.isBuffer(d.bytesAll))
  assert.ok(d.tsMax instanceof Timestamp)
  assert.equal(d.tsMax.toRFC3339(), '9999-12-31T23:59:59.999999999Z')
  assert.equal(d.tsMin.toRFC3339(), '0001-01-01T00:00:00Z')
  assert.ok(d.ref instanceof DocumentReference)
  assert.equal(d.ref.path, 'orders/o1')
  assert.equal(d.ref.id, 'o1')
  assert.equal(d.ref.projectId, 'p')
  assert.equal(d.ref.databaseId, '(default)')
  assert.ok(d.geo instanceof GeoPoint)
  assert.ok(Object.is(d.geoNegZero.latitude, -0))
  assert.equal(Object.getPrototypeOf(d.awkwardKeys), Object.prototype, 'a "__proto__" key is data, not a prototype')
  assert.deepEqual(Object.keys(d.awkwardKeys.__proto__), ['inner'])
})

test('REST JSON -> JS -> REST JSON is exact, and non-canonical input is normalised by the core', () => {
  const canonical = '{"name":"' + NAME + '","fields":{' + [
    '"b":{"bytesValue":"AP8="}',
    '"d":{"doubleValue":1.0}',
    '"g":{"geoPointValue":{"latitude":-0.0,"longitude":180.0}}',
    '"i":{"integerValue":"-9223372036854775808"}',
    '"n":{"doubleValue":"NaN"}',
    '"t":{"timestampValue":"2024-05-01T12:00:00.123456789Z"}',
    '"z":{"doubleValue":-0.0}',
  ].join(',') + '},"createTime":"2024-05-01T12:00:00Z","updateTime":"2024-05-01T12:00:00.500Z"}'
  assert.equal(encodeDocument(decodeDocument(canonical)), canonical)
  assert.equal(encodeDocument(decodeDocument(Buffer.from(canonical))), canonical)
  // An offset and URL-safe, unpadded base64 are accepted and come back canonical.
  const loose = `{"name":"${NAME}","fields":{"t":{"timestampValue":"2024-05-01T14:00:00.5+02:00"},"b":{"bytesValue":"_-8"}}}`
  const d = decodeDocument(loose)
  assert.equal(d.fields.t.toRFC3339(), '2024-05-01T12:00:00.500Z')
  assert.deepEqual([...d.fields.b], [0xff, 0xef])
})

test('values from other sources encode: Date, Uint8Array, ArrayBuffer, Google-style Timestamp and GeoPoint', () => {
  class Timestamp { constructor() { this.seconds = 10; this.nanoseconds = 20 } toDate() { return new Date(10000) } }
  class GeoPoint { constructor() { this.latitude = 1; this.longitude = 2 } }
  const json = encodeDocument({
    name: NAME,
    fields: { date: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678)), u8: new Uint8Array([1, 2, 3]), ab: new Uint8Array([4]).buffer, gts: new Timestamp(), ggp: new GeoPoint() },
    updateTime: new Date(0),
  })
  const f = decodeDocument(json).fields
  assert.equal(f.date.toRFC3339(), '2024-01-02T03:04:05.678Z')
  assert.deepEqual([...f.u8], [1, 2, 3])
  assert.deepEqual([...f.ab], [4])
  assert.equal(f.gts.seconds, 10)
  assert.equal(f.gts.nanoseconds, 20)
  assert.ok(f.ggp.isEqual(new (decodeDocument(json).fields.ggp.constructor)(1, 2)))
})

test('what is not a Firestore value is refused with TypeError or RangeError', () => {
  const enc = (fields) => () => encodeDocument({ name: NAME, fields })
  assert.throws(enc({ u: undefined }), { name: 'TypeError', message: /field u is undefined/ })
  assert.throws(enc({ a: [1, undefined] }), { name: 'TypeError', message: /field a\.1/ })
  assert.throws(enc({ f: () => 1 }), TypeError)
  assert.throws(enc({ s: Symbol('x') }), TypeError)
  assert.throws(enc({ m: new Map() }), { name: 'TypeError', message: /a Map is not a Firestore value/ })
  assert.throws(enc({ big: 2n ** 63n }), RangeError)
  assert.throws(enc({ small: -(2n ** 63n) - 1n }), RangeError)
  assert.throws(enc({ d: new Date(NaN) }), RangeError)
  assert.throws(enc({ deep: nested(21, 1) }), { name: 'RangeError', message: /nest at most 20/ })
  const cyclic = {}
  cyclic.self = cyclic
  assert.throws(enc({ cyclic }), RangeError)
  assert.throws(() => encodeDocument({ fields: {} }), TypeError)
  assert.throws(() => encodeDocument(null), TypeError)
  assert.throws(() => encodeDocument({ name: NAME, fields: {}, createTime: 'yesterday' }), TypeError)
  assert.throws(() => decodeDocument(42), TypeError)
  // A malformed name or document is the core's ERR_INVALID_INPUT.
  assert.throws(() => encodeDocument({ name: 'users/alice', fields: {} }), InvalidInputError)
  assert.throws(() => decodeDocument('{"name":"' + NAME + '","fields":{"a":{"wat":1}}}'), { code: 'ERR_INVALID_INPUT' })
  assert.throws(() => decodeDocument('not json'), { code: 'ERR_INVALID_INPUT' })
})

test('Timestamp: range, precision, conversions and ordering', () => {
  assert.throws(() => new Timestamp(-62135596801, 0), RangeError)
  assert.throws(() => new Timestamp(253402300800, 0), RangeError)
  assert.throws(() => new Timestamp(0, 1e9), RangeError)
  assert.throws(() => new Timestamp(0.5, 0), RangeError)
  assert.throws(() => new Timestamp('0', 0), TypeError)
  const t = Timestamp.parse('2024-05-01T12:00:00.123456789Z')
  assert.equal(t.seconds, 1714564800)
  assert.equal(t.nanoseconds, 123456789)
  assert.equal(t.toDate().toISOString(), '2024-05-01T12:00:00.123Z')
  assert.equal(t.toMillis(), 1714564800123)
  assert.ok(Timestamp.fromDate(t.toDate()).isEqual(new Timestamp(1714564800, 123000000)))
  assert.ok(Timestamp.fromMillis(-1.5).isEqual(new Timestamp(-1, 998500000)))
  assert.ok(Timestamp.parse('2024-05-01T14:00:00+02:00').isEqual(new Timestamp(1714564800, 0)))
  assert.ok(Timestamp.parse('0001-01-01T00:00:00Z').isEqual(new Timestamp(-62135596800, 0)))
  assert.throws(() => Timestamp.parse('yesterday'), RangeError)
  assert.equal(JSON.stringify({ t }), '{"t":"2024-05-01T12:00:00.123456789Z"}')
  const earlier = new Timestamp(1714564800, 123456788)
  assert.ok(earlier < t && t > earlier && !(t < t))
  assert.ok(new Timestamp(-62135596800, 0) < new Timestamp(-1, 0))
  assert.ok(Math.abs(Timestamp.now().toMillis() - Date.now()) < 1000)
  assert.ok(Object.isFrozen(t))
})

test('GeoPoint, DocumentReference and Double check their arguments', () => {
  assert.throws(() => new GeoPoint(91, 0), RangeError)
  assert.throws(() => new GeoPoint(0, -180.5), RangeError)
  assert.throws(() => new GeoPoint(NaN, 0), RangeError)
  assert.throws(() => new GeoPoint('1', 0), TypeError)
  assert.throws(() => new DocumentReference(5), TypeError)
  assert.throws(() => new Double('1'), TypeError)
  assert.ok(!new GeoPoint(0, 0).isEqual(new GeoPoint(-0, 0)), 'bit-exact, like the core')
  assert.equal(String(new Double(2)), '2')
  assert.equal(JSON.stringify({ d: new Double(2), r: new DocumentReference(REF) }), `{"d":2,"r":"${REF}"}`)
})
