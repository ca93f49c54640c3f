'use strict'
// An Express app with one restore route guarded by firekeep's policy:
//   POST /backups/:backupId/restore  {"project": "p", "database": "(default)", "dryRun": true}
// Run behind Identity-Aware Proxy (it sets the caller's verified e-mail header).
//
// Environment: FIREKEEP_REPO (path or s3://, gs://, az:// URL), FIREKEEP_KEY (base64 raw
// key, e.g. from Secret Manager) or FIREKEEP_KMS_KEY, FIREKEEP_POLICY (policy file: who has
// which role), FIREKEEP_ORG, FIREKEEP_AUDIT_LOG (JSONL path), PORT.
const express = require('express')
const { Client, Firestore, Key } = require('firekeep')
const { createRestoreHandler } = require('./restore-route.js')

async function main() {
  const key = process.env.FIREKEEP_KMS_KEY
    ? await Key.awsKms(process.env.FIREKEEP_KMS_KEY)
    : Key.raw(process.env.FIREKEEP_KEY)
  const app = express()
  app.use(express.json({ limit: '16kb' }))
  app.set('trust proxy', true) // req.ip from the load balancer's X-Forwarded-For
  app.post('/backups/:backupId/restore', createRestoreHandler({
    clientFor: (principal, context) => new Client({
      repository: process.env.FIREKEEP_REPO,
      key,
      organization: process.env.FIREKEEP_ORG || 'default',
      policy: process.env.FIREKEEP_POLICY,
      principal,
      audit: process.env.FIREKEEP_AUDIT_LOG || 'memory',
      create: false,
      context,
    }),
    firestore: (project, database) => new Firestore(project, { database }),
  }))
  const port = Number(process.env.PORT || 8080)
  app.listen(port, () => console.log(`listening on :${port}`))
}

main().catch((e) => { console.error(e); process.exit(1) })
