// A typed usage of the whole public API, checked by `npm run typecheck` (tsc --noEmit).
// It imports the package by its name, as users do, so the `exports` map and lib/index.d.ts
// are what is checked. Not run: the node:test files run the same calls.
import { pipeline } from 'node:stream/promises'
import { Readable, Transform, Writable } from 'node:stream'
import firekeep, {
  AlreadyExistsError, AuditError, AuthorizationDeniedError, CancelledError, Client, Decision,
  Document, DocumentReference, Double, FirekeepError, Firestore, FirestoreError, FirestoreValue,
  GeoPoint, IntegrityError, InvalidConfigError, InvalidInputError, IoError, Key, KeyMismatchError,
  KeyProviderError, NotFoundError, Progress, StorageError, StoragePermissionError, Timestamp,
  auditVerify, createDecryptStream, createEncryptStream, decodeDocument,
  decrypt, decryptedLength, decryptInto, encodeDocument, encrypt, encryptedLength, encryptInto,
  generateDataKey, objectHeader, version,
  Authenticator, Identity, UnauthenticatedError, accessReview, apiKeyCreate, apiKeyList, apiKeyRevoke,
  apiKeyRotate, identityInfo,
} from 'firekeep'
import type {
  Alert, ApiKeyInfo, AuditEvent, BackupErasure, BackupList, BackupReport, BackupSummary, DiffReport, EraseOptions,
  EraseReport, ErrorCode, ExportReport, LegalHold, PruneResult, RestoreReport, RotateReport, UnreadableBackup,
  VerifyReport,
} from 'firekeep'

const v: string = version
const same: typeof Client = firekeep.Client

// Values ---------------------------------------------------------------------------------
const ts = new Timestamp(1_700_000_000, 123_456_789)
const ts2: Timestamp = Timestamp.fromDate(new Date())
const ts3: Timestamp = Timestamp.fromMillis(1.5)
const ts4: Timestamp = Timestamp.parse('2024-05-01T12:00:00.123456789Z')
const nowTs: Timestamp = Timestamp.now()
const date: Date = ts.toDate()
const millis: number = ts.toMillis() + ts.seconds + ts.nanoseconds
const text: string = ts.toRFC3339() + ts.toISOString() + ts.toJSON() + String(ts)
const eq: boolean = ts.isEqual(ts2) && ts3 < ts4 && nowTs > ts
const geo = new GeoPoint(48.85, 2.35)
const geoJson: { latitude: number; longitude: number } = geo.toJSON()
const ref = new DocumentReference('projects/p/databases/(default)/documents/users/alice')
const refParts: string = ref.name + ref.path + ref.id + (ref.projectId ?? '') + (ref.databaseId ?? '')
const dbl = new Double(1)
const dblNum: number = dbl.value + dbl.valueOf() + dbl.toJSON()
const fields: Record<string, FirestoreValue> = {
  nothing: null, yes: true, small: 42, big: 2n ** 62n, ratio: 0.5, one: dbl, nan: NaN, negZero: -0,
  when: ts, whenDate: new Date(), text: 'é\u0000', bytes: Buffer.from([1, 2]), raw: new Uint8Array(2),
  place: geo, link: ref, list: [1, 'two', [], { deep: [null] }], map: { nested: { ok: true } },
}
const doc = new Document('projects/p/databases/(default)/documents/c/d', fields, { updateTime: ts })
const line: string = encodeDocument(doc)
const line2: string = encodeDocument({ name: doc.name, fields: { a: 1 }, createTime: new Date() })
const back: Document = decodeDocument(line)
const back2: Document = decodeDocument(Buffer.from(line2))
const backPath: string = back.path + back.id + back2.name
const created: Timestamp | undefined = back.createTime
// @ts-expect-error undefined is not a Firestore value
const badFields: Record<string, FirestoreValue> = { a: undefined }
// @ts-expect-error a Symbol is not a Firestore value
encodeDocument({ name: 'x', fields: { s: Symbol('s') } })

// Format ---------------------------------------------------------------------------------
async function format(): Promise<void> {
  const dek: Buffer = generateDataKey()
  const header: Buffer = objectHeader(dek, { backupId: 'b', objectName: 'o', segmentSize: 4096 })
  const ct: Buffer = await encrypt(dek, Buffer.from('hello'), { segmentSize: 1 << 20 })
  const pt: Buffer = await decrypt(dek, new Uint8Array(ct))
  const into: Buffer = Buffer.allocUnsafe(encryptedLength(dek, pt.length, { objectName: 'o' }))
  const written: number = await encryptInto(dek, pt, into, { objectName: 'o' })
  const back = new Uint8Array(decryptedLength(into.subarray(0, written)))
  const opened: number = await decryptInto(dek, into.subarray(0, written), back)
  // @ts-expect-error encryptInto resolves to a length, not a Buffer
  const notBuffer: Buffer = await encryptInto(dek, pt, into)
  void [opened, notBuffer]
  const enc: Transform = createEncryptStream(dek, { objectName: 'stream' })
  const dec: Transform = createDecryptStream(dek)
  await pipeline(Readable.from([pt, header]), enc, dec, new Writable({ write(_c, _e, cb) { cb() } }))
  // @ts-expect-error the key is bytes, not text
  await encrypt('key', pt)
}

// Keys, sources, clients -----------------------------------------------------------------
async function client(): Promise<void> {
  const pass: Key = Key.passphrase('correct horse battery staple', 100_000)
  const raw: Key = Key.raw(generateDataKey())
  const raw64: Key = Key.raw('q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=')
  const { key: generated, base64 }: { key: Key; base64: string } = Key.generateRaw()
  const kms: Key = await Key.awsKms('alias/firekeep', { region: 'us-east-1', endpoint: 'http://127.0.0.1:5000', accessKeyId: 'a', secretAccessKey: 'b', sessionToken: 'c', profile: 'p' })
  const keyInfo: string = pass.kind + pass.keyId + raw64.keyId + base64 + kms.kind + generated.keyId
  // @ts-expect-error Keys come from the factories
  new Key()

  const source = new Firestore('prod', { database: '(default)', emulatorHost: '127.0.0.1:8080', credentials: '/sa.json' })
  const project: string = source.project + source.database
  const events: AuditEvent[] = []
  const c = new Client({
    repository: 's3://bucket/prefix',
    key: raw,
    storageOptions: { region: 'us-east-1', endpoint: 'http://127.0.0.1:9000', allow_http: true },
    organization: 'acme',
    principal: 'user:alice@example.com',
    policy: '/etc/firekeep/policy.toml',
    audit: (batch: AuditEvent[]) => { events.push(...batch) },
    create: false,
    context: { ip: '203.0.113.7', userAgent: 'my-app/1.0', location: 'eu', mfa: true },
  })
  new Client({ repository: '/backups', key: pass, audit: '/var/log/firekeep.jsonl' })
  new Client({ repository: '/backups', key: pass, audit: 'memory' })
  const info: string = c.principal + c.organization + c.repository + c.keyId + project + keyInfo

  c.once('progress', (p) => { const op: string = p.operation; void op }).off('progress', () => {})
  c.on('progress', (p: Progress) => { const n: number = p.documents + (p.eta ?? 0) + p.elapsed; void n; void p.operation; void p.phase })
  const ac = new AbortController()
  const report: BackupReport = await c.backup(source, {
    collections: ['users'], subcollections: true, exclude: ['tmp'], readTime: new Date(Date.now() - 60_000),
    labels: { caller: 'alice' }, parallelism: 4, signal: ac.signal,
    progress: (p) => { const d: number = p.docsPerSec + p.bytesPerSec + p.bytes + p.parts; void d; void p.totalDocuments; void p.totalParts },
  })
  const rt: Timestamp = report.readTime
  const list: BackupSummary[] = await c.list({ signal: ac.signal })
  const listed: BackupList = await c.list()
  const unreadable: UnreadableBackup[] = listed.unreadable
  const why: ErrorCode = unreadable[0].code
  const when: Timestamp | null = unreadable[0].createdAt
  void [why, when]
  const ver: VerifyReport = await c.verify(report.backupId, { throwOnError: false, progress: () => {}, signal: ac.signal })
  const res: RestoreReport = await c.restore(list[0].id, new Firestore('staging'), {
    collections: ['users'], subcollections: false, conflict: 'skip', dryRun: true, verifyFirst: true, signal: ac.signal,
  })
  const diff1: DiffReport = await c.diff(report.backupId, list[0].id, { maxNames: 10 })
  const diff2: DiffReport = await c.diff(report.backupId, source, { signal: ac.signal })
  const pruned: PruneResult = await c.prune({ keepLast: 3, keepDaily: 7, keepWeekly: 4, keepMonthly: 12, keepYearly: 2, keepHourly: 24, keepWithin: '2d', orphanGrace: 3600, dryRun: true })
  const rot: RotateReport = await c.rotateKey(kms, { signal: ac.signal })
  const decision: Decision = c.check('restore_backup', { project: 'prod', database: '(default)', collections: ['users'] })
  const allowed: boolean = decision.allowed && c.check('create_backup').allowed && (await c.authorize('restore_backup', { project: 'prod' })).allowed
  const reason: string = (await c.authorize('verify_backup')).reason + decision.reason
  const audit: AuditEvent[] = await c.auditEvents()
  const csv: string = await c.auditExport('csv', { since: new Date(0), until: Timestamp.now(), actions: ['backup.*'] })
  const json: string = await c.auditExport()
  const head: { events: number; hash: string } = await c.auditVerify()
  const sel: EraseOptions = { paths: ['users/alice'], subcollections: true, collectionGroup: 'orders', field: 'userId', equals: 'alice' }
  const erased: EraseReport = await c.erase({ ...sel, dryRun: true, backups: [report.backupId], signal: ac.signal })
  const first: BackupErasure | undefined = erased.backups[0]
  const exported: ExportReport = await c.export(report.backupId, '/tmp/out', { format: 'csv', collections: ['users'], signal: ac.signal })
  const held: LegalHold = await c.hold(report.backupId, 'case 1')
  const released: LegalHold | null = await c.releaseHold(report.backupId)
  const heldAt: Timestamp = held.heldAt
  // @ts-expect-error export formats are ndjson, json and csv
  await c.export('bk', '/tmp/out', { format: 'xml' })
  // @ts-expect-error conflict is one of three words
  await c.restore('bk', source, { conflict: 'merge' })
  // @ts-expect-error not a policy action
  c.check('drop_everything')
  void [rt, ver.ok, res.written, diff1.added, diff2.changedNames, pruned.report?.removed, pruned.plan.keep, rot.rotated, allowed, reason, audit, info, csv, json, head.hash, first?.partsUnchanged, exported.files, released?.reason, heldAt]
}

// Audit ----------------------------------------------------------------------------------
function audit(evs: AuditEvent[]): void {
  const head: { events: number; hash: string } = auditVerify(evs)
  void [head.events, head.hash, evs[0]?.actor.id, evs[0]?.context.userAgent]
}

// Who is calling --------------------------------------------------------------------------
async function identity(header: string | undefined): Promise<string> {
  const auth = new Authenticator({
    policy: 'policy.toml', organization: 'acme', apiKeys: true, firebaseProject: 'p', googleClientId: 'c',
    oidc: { issuer: 'https://i', audience: 'a', jwksUrl: 'https://i/jwks' },
    hs256: { issuer: 'i', audience: 'a', secret: Buffer.alloc(32) },
  })
  const who: Identity = await auth.authenticate(header)
  const info = identityInfo(who)
  const mfa: boolean = info.mfa
  const alerts: Alert[] = []
  const c = new Client({ repository: '/tmp/r', key: Key.raw(generateDataKey()), identity: who, onAlert: (a) => alerts.push(a) })
  const admin = { policy: 'policy.toml', principal: 'user:alice', organization: 'acme', audit: 'audit.jsonl' }
  const secret: string = await apiKeyCreate(admin, 'ci', { actions: ['create_backup'], projects: ['prod'], expiresInDays: 30 })
  const next: string = await apiKeyRotate(admin, 'ci', { graceHours: 1 })
  await apiKeyRevoke(admin, 'ci')
  const keys: ApiKeyInfo[] = apiKeyList('policy.toml', { organization: 'acme' })
  const review = await accessReview(admin, { inactiveDays: 90, rotationDays: 90, applyInactive: false })
  return [who.principal, info.kind, mfa, c.principal, secret, next, keys[0]?.state, review.findings[0]?.kind, alerts[0]?.rule].join()
}

// Errors ---------------------------------------------------------------------------------
function errors(e: unknown): string {
  if (e instanceof KeyMismatchError) { const c: 'ERR_KEY_MISMATCH' = e.code; return c }
  if (e instanceof CancelledError) return String(e.cause)
  if (e instanceof UnauthenticatedError) { const c: 'ERR_UNAUTHENTICATED' = e.code; return c }
  const classes = [InvalidInputError, InvalidConfigError, IntegrityError, NotFoundError, AlreadyExistsError,
    StoragePermissionError, StorageError, FirestoreError, KeyProviderError, AuthorizationDeniedError, AuditError, IoError]
  for (const C of classes) if (e instanceof C) return e.code
  if (e instanceof FirekeepError) { const code: ErrorCode | string = e.code; return code + e.message }
  return 'other'
}

void [v, same, date, millis, text, eq, geoJson, refParts, dblNum, back2, backPath, created, badFields, format, client, audit, identity, errors, new FirekeepError('m', 'ERR_IO')]
