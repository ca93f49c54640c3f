/// <reference types="node" />
// Types of the `firekeep` package: the audit trail, and who is calling (Authenticator, Identity, API keys, access review).
// Part of the API lib/index.d.ts re-exports.

import type { Action, AuditError, AuditEvent, Timestamp, UnauthenticatedError } from './index'

// ---------------------------------------------------------------------------------------
// Audit trail

export interface AuditExportOptions {
  since?: Date | Timestamp | string
  until?: Date | Timestamp | string
  /** Action names or prefixes (`backup.*`). */
  actions?: string[]
}

/**
 * Verifies the hash chain of events you hold (e.g. from an `audit` callback); a break
 * throws AuditError naming the first bad event. A client's own trail: `client.auditVerify()`.
 */
export declare function auditVerify(events: AuditEvent[]): { events: number; hash: string }

/** A caller verified by an `Authenticator`. */
export declare class Identity {
  private constructor()
  /** `user:ID` or `apikey:ID`. */
  readonly principal: string
  /** The fields as JSON (see `identityInfo`). */
  toJsonString(): string
}

/** What `identityInfo` returns. */
export interface IdentityInfo {
  principal: string
  kind: 'user' | 'api_key'
  id: string
  email: string | null
  organization: string
  mfa: boolean
  method: 'jwt' | 'api_key'
  expires_at: string | null
}

/** Which callers an `Authenticator` accepts. */
export interface AuthenticatorOptions {
  /** A policy file path, or its TOML or JSON text: callers must be its members or keys. */
  policy: string
  /** Default `default`. */
  organization?: string
  /** Accept the policy's API keys (`Bearer fk_…`; default true). */
  apiKeys?: boolean
  /** Accept Google ID tokens for this OAuth client id. */
  googleClientId?: string
  /** Accept Firebase Auth ID tokens of this project (a second factor sets `mfa`). */
  firebaseProject?: string
  /** Accept ID tokens of an OIDC issuer, keys from its JWKS URL. */
  oidc?: { issuer: string; audience: string; jwksUrl: string }
  /** Accept HS256 tokens signed with a shared secret (at least 32 bytes). */
  hs256?: { issuer: string; audience: string; secret: Buffer | Uint8Array | string }
}

/** Verifies `Authorization: Bearer …` header values (ID tokens, JWTs, API keys). */
export declare class Authenticator {
  constructor(options: AuthenticatorOptions)
  /** Resolves with the caller; rejects with UnauthenticatedError. */
  authenticate(authorization: string | undefined | null): Promise<Identity>
}

/** The identity's fields. */
export declare function identityInfo(identity: Identity): IdentityInfo

/** Who manages keys or reviews access. */
export interface AdminOptions {
  /** The policy file. */
  policy: string
  /** `user:ID` or `user:EMAIL` of a member with manage_api_keys / manage_team. */
  principal: string
  organization?: string
  /** The JSONL audit trail (default: memory). */
  audit?: string
}

/** One API key as listed (never its secret). */
export interface ApiKeyInfo {
  id: string
  organization: string
  created_by: string
  actions: string[]
  projects: string[] | null
  created_at: string | null
  rotated_at: string | null
  expires_at: string | null
  revoked_at: string | null
  state: 'active' | 'in_grace' | 'expired' | 'revoked' | 'no_secret'
}

/** Creates an API key; resolves with its secret, shown only now. */
export declare function apiKeyCreate(options: AdminOptions, keyId: string, key: { actions: Action[]; projects?: string[]; expiresInDays?: number }): Promise<string>
/** Rotates an API key; resolves with the new secret (the old one works for `graceHours`, default 24). */
export declare function apiKeyRotate(options: AdminOptions, keyId: string, rotation?: { graceHours?: number; expiresInDays?: number }): Promise<string>
/** Revokes an API key. */
export declare function apiKeyRevoke(options: AdminOptions, keyId: string): Promise<void>
/** The organization's keys. */
export declare function apiKeyList(policy: string, options?: { organization?: string }): ApiKeyInfo[]
/** The access review: members, API keys and findings (see docs/identity.md). */
export declare function accessReview(options: AdminOptions, review?: { inactiveDays?: number; rotationDays?: number; applyInactive?: boolean }): Promise<{ organization: string; members: object[]; api_keys: object[]; findings: { kind: string; subject: string; message: string }[] }>
