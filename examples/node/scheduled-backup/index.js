'use strict'
// A Cloud Functions for Firebase (2nd gen) scheduled function: every night it backs up the
// project's Firestore into S3, encrypted under an AWS KMS key, verifies it and prunes old
// backups. Deploy with `firebase deploy --only functions` from a functions folder holding
// this file, backup-job.js and a package.json depending on firekeep and firebase-functions.
//
// Configuration (firebase functions:secrets:set / .env.<project>):
//   FIREKEEP_REPO        s3://bucket/prefix
//   FIREKEEP_KMS_KEY     arn:aws:kms:REGION:ACCOUNT:alias/NAME (or a key id)
//   AWS_REGION           the bucket's and the key's region
//   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: secrets, for an IAM user allowed
//     kms:GenerateDataKey + kms:Decrypt on the key and s3:GetObject/PutObject/ListBucket/
//     DeleteObject on the prefix (or use web identity federation instead of keys).
// Firestore is read with the function's own service account (roles/datastore.viewer).
const { onSchedule } = require('firebase-functions/v2/scheduler')
const { defineSecret, defineString } = require('firebase-functions/params')
const logger = require('firebase-functions/logger')
const { Client, Firestore, Key } = require('firekeep')
const { backupAndPrune } = require('./backup-job.js')

const REPO = defineString('FIREKEEP_REPO')
const KMS_KEY = defineString('FIREKEEP_KMS_KEY')
const AWS_REGION = defineString('AWS_REGION', { default: 'us-east-1' })
const AWS_ACCESS_KEY_ID = defineSecret('AWS_ACCESS_KEY_ID')
const AWS_SECRET_ACCESS_KEY = defineSecret('AWS_SECRET_ACCESS_KEY')

exports.nightlyFirestoreBackup = onSchedule(
  {
    schedule: 'every day 03:00',
    timeZone: 'Etc/UTC',
    // A large database takes a while; 2nd gen scheduled functions may run up to 30 min
    // (use a Cloud Run job with the firekeep CLI beyond that).
    timeoutSeconds: 1800,
    memory: '1GiB',
    retryCount: 1,
    secrets: [AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY],
  },
  async (event) => {
    const aws = {
      region: AWS_REGION.value(),
      accessKeyId: AWS_ACCESS_KEY_ID.value(),
      secretAccessKey: AWS_SECRET_ACCESS_KEY.value(),
    }
    const key = await Key.awsKms(KMS_KEY.value(), aws)
    const client = new Client({
      repository: REPO.value(),
      key,
      storageOptions: { region: aws.region, access_key_id: aws.accessKeyId, secret_access_key: aws.secretAccessKey },
      // The function acts as its own principal; without a policy it owns the repository.
      principal: 'user:scheduled-backup',
      audit: (events) => { for (const e of events) logger.info('audit', e) },
      context: { userAgent: 'firekeep-scheduled-function' },
    })
    const project = process.env.GCLOUD_PROJECT || process.env.GCP_PROJECT
    // Stop cleanly (no manifest left behind) a minute before the platform would kill us.
    const signal = AbortSignal.timeout(1740 * 1000)
    const result = await backupAndPrune({
      client,
      source: new Firestore(project),
      retention: { keepDaily: 7, keepWeekly: 5, keepMonthly: 12 },
      labels: { trigger: 'schedule', scheduled: event.scheduleTime || '' },
      signal,
      log: logger,
    })
    logger.info('firekeep backup done', result)
  },
)
