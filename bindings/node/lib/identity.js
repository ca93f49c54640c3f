'use strict'
// Who is calling: verify `Authorization` headers (Google/Firebase/OIDC ID tokens, HS256
// JWTs, API keys) against a policy, manage API keys, review access. The checks are the Rust
// core's; this only maps arguments (docs/identity.md).

const native = require('../native.js')
const { call, typeError } = require('./errors.js')
const { str, optStrings, optBool, optCount } = require('./args.js')

const kNative = Symbol('firekeep.authenticator')

function optStr(name, v) {
  return v === undefined || v === null ? undefined : str(name, v)
}

/**
 * Turns an `Authorization: Bearer …` header value into an `Identity` (a member of the
 * policy's organization, or one of its API keys), or rejects with `UnauthenticatedError`.
 * Pass the identity to `new Client({ …, identity })` to act as the caller.
 */
class Authenticator {
  constructor(options) {
    if (options === null || typeof options !== 'object') throw typeError('options must be an object')
    const o = options
    let oidc
    if (o.oidc !== undefined && o.oidc !== null) {
      oidc = { issuer: str('oidc.issuer', o.oidc.issuer), audience: str('oidc.audience', o.oidc.audience), jwksUrl: str('oidc.jwksUrl', o.oidc.jwksUrl) }
    }
    let hs256
    if (o.hs256 !== undefined && o.hs256 !== null) {
      const s = o.hs256.secret
      if (!(s instanceof Uint8Array) && typeof s !== 'string') throw typeError('hs256.secret must be a Buffer or a string')
      hs256 = { issuer: str('hs256.issuer', o.hs256.issuer), audience: str('hs256.audience', o.hs256.audience), secret: Buffer.from(s) }
    }
    Object.defineProperty(this, kNative, {
      value: call(() => new native.Authenticator({
        policy: str('policy', o.policy),
        organization: optStr('organization', o.organization),
        apiKeys: optBool('apiKeys', o.apiKeys),
        googleClientId: optStr('googleClientId', o.googleClientId),
        firebaseProject: optStr('firebaseProject', o.firebaseProject),
        oidc,
        hs256,
      })),
    })
  }

  /** Verifies the header value (`undefined`/empty: no credential). */
  authenticate(authorization) {
    const header = authorization === undefined || authorization === null ? '' : str('authorization', authorization)
    return call(() => this[kNative].authenticate(header))
  }
}

/** The identity's fields: principal, kind, id, email, organization, mfa, method, expires_at. */
function identityInfo(identity) {
  if (!(identity instanceof native.Identity)) throw typeError('identity must be a firekeep Identity')
  return JSON.parse(identity.toJsonString())
}

function admin(o) {
  if (o === null || typeof o !== 'object') throw typeError('options must be an object')
  return {
    policy: str('options.policy', o.policy),
    principal: str('options.principal', o.principal),
    organization: optStr('options.organization', o.organization),
    audit: optStr('options.audit', o.audit),
  }
}

/** Creates an API key as `options.principal`; resolves with its secret, shown only now. */
function apiKeyCreate(options, keyId, { actions, projects, expiresInDays } = {}) {
  if (!Array.isArray(actions)) throw typeError('actions must be an array of action names')
  return call(() => native.apiKeyCreate(admin(options), str('keyId', keyId), optStrings('actions', actions), optStrings('projects', projects), optCount('expiresInDays', expiresInDays, 1)))
}

/** Gives a key a new secret (resolved); the old one works for `graceHours` (default 24). */
function apiKeyRotate(options, keyId, { graceHours, expiresInDays } = {}) {
  return call(() => native.apiKeyRotate(admin(options), str('keyId', keyId), optCount('graceHours', graceHours), optCount('expiresInDays', expiresInDays, 1)))
}

/** Revokes a key. */
function apiKeyRevoke(options, keyId) {
  return call(() => native.apiKeyRevoke(admin(options), str('keyId', keyId)))
}

/** The organization's keys (never secrets). */
function apiKeyList(policy, { organization } = {}) {
  return JSON.parse(call(() => native.apiKeyList(str('policy', policy), optStr('organization', organization))))
}

/** The access review (members, keys, findings); `applyInactive` disables inactive members. */
async function accessReview(options, { inactiveDays, rotationDays, applyInactive } = {}) {
  return JSON.parse(await call(() => native.accessReview(admin(options), optCount('inactiveDays', inactiveDays, 1), optCount('rotationDays', rotationDays, 1), optBool('applyInactive', applyInactive))))
}

module.exports = {
  Authenticator,
  Identity: native.Identity,
  identityInfo,
  apiKeyCreate,
  apiKeyRotate,
  apiKeyRevoke,
  apiKeyList,
  accessReview,
}
