'use strict'
// An Express app with one restore route guarded by firekeep's Authenticator and policy:
//   POST /backups/:backupId/restore  {"project": "p", "database": "(default)", "dryRun": true}
//   Authorization: Bearer <Google/Firebase/OIDC ID token, or a firekeep API key>
//
// Environment: FIREKEEP_REPO (path or s3://, gs://, az:// URL), FIREKEEP_KEY (base64 raw
// key, e.g. from Secret Manager) or FIREKEEP_KMS_KEY, FIREKEEP_POLICY (policy file: who has
// which role, and the API keys), FIREKEEP_ORG, FIREKEEP_AUDIT_LOG (JSONL path), PORT, and
// which ID tokens to accept: FIREKEEP_GOOGLE_CLIENT_ID, FIREKEEP_FIREBASE_PROJECT, or
// FIREKEEP_OIDC_ISSUER + FIREKEEP_OIDC_AUDIENCE + FIREKEEP_OIDC_JWKS_URL.
const express = require('express')
const { Authenticator, Client, Firestore, Key } = require('firekeep')
const { createApp } = require('./app.js')

async function main() {
  const env = process.env
  const key = env.FIREKEEP_KMS_KEY ? await Key.awsKms(env.FIREKEEP_KMS_KEY) : Key.raw(env.FIREKEEP_KEY)
  const organization = env.FIREKEEP_ORG || 'default'
  const authenticator = new Authenticator({
    policy: env.FIREKEEP_POLICY,
    organization,
    googleClientId: env.FIREKEEP_GOOGLE_CLIENT_ID,
    firebaseProject: env.FIREKEEP_FIREBASE_PROJECT,
    oidc: env.FIREKEEP_OIDC_ISSUER
      ? { issuer: env.FIREKEEP_OIDC_ISSUER, audience: env.FIREKEEP_OIDC_AUDIENCE, jwksUrl: env.FIREKEEP_OIDC_JWKS_URL }
      : undefined,
  })
  const app = createApp({
    express,
    authenticator,
    clientFor: (who, context) => new Client({
      ...who, // the verified identity: principal, API-key secret, second factor
      repository: env.FIREKEEP_REPO,
      key,
      organization,
      policy: env.FIREKEEP_POLICY,
      audit: env.FIREKEEP_AUDIT_LOG || 'memory',
      create: false,
      context,
    }),
    firestore: (project, database) => new Firestore(project, { database }),
  })
  const port = Number(env.PORT || 8080)
  app.listen(port, () => console.log(`listening on :${port}`))
}

main().catch((e) => { console.error(e); process.exit(1) })
