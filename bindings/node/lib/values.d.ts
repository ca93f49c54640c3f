/// <reference types="node" />
// Types of the `firekeep` package: Firestore values as JS values, and documents.
// Part of the API lib/index.d.ts re-exports.

import type { Firestore } from './index'

// ---------------------------------------------------------------------------------------
// Firestore values

/** A Firestore timestamp, to the nanosecond, 0001-01-01 ..= 9999-12-31 (UTC). */
export declare class Timestamp {
  /** @param seconds whole seconds since the Unix epoch; @param nanoseconds 0 ..= 999999999 */
  constructor(seconds: number, nanoseconds?: number)
  readonly seconds: number
  readonly nanoseconds: number
  /** Now (millisecond precision). */
  static now(): Timestamp
  static fromDate(date: Date): Timestamp
  /** From milliseconds since the epoch; fractional milliseconds are kept. */
  static fromMillis(milliseconds: number): Timestamp
  /** RFC 3339 text with any offset, up to 9 fractional digits. */
  static parse(rfc3339: string): Timestamp
  /** A Date (drops what is below the millisecond). */
  toDate(): Date
  toMillis(): number
  /** RFC 3339 UTC with 0, 3, 6 or 9 fractional digits. */
  toRFC3339(): string
  toISOString(): string
  isEqual(other: unknown): boolean
  /** A string that sorts like the instant (so `<` and `>` compare timestamps). */
  valueOf(): string
  toString(): string
  toJSON(): string
}

/** A Firestore geopoint, in degrees. */
export declare class GeoPoint {
  constructor(latitude: number, longitude: number)
  readonly latitude: number
  readonly longitude: number
  isEqual(other: unknown): boolean
  toJSON(): { latitude: number; longitude: number }
}

/** A Firestore reference value: the referenced document's full resource name. */
export declare class DocumentReference {
  /** @param name `projects/P/databases/D/documents/col/doc` */
  constructor(name: string)
  readonly name: string
  /** `col/doc` */
  readonly path: string
  /** The document id (last path segment). */
  readonly id: string
  readonly projectId: string | undefined
  readonly databaseId: string | undefined
  isEqual(other: unknown): boolean
  toJSON(): string
  toString(): string
}

/**
 * A double whose value is a safe integer (`1.0`): decoded so, it encodes as a double again.
 * Other doubles (1.5, NaN, -0, ±Infinity, 1e300) are plain numbers. Wrap a number to store
 * it as a double. Arithmetic works through `valueOf()`.
 */
export declare class Double {
  constructor(value: number)
  readonly value: number
  valueOf(): number
  toString(): string
  toJSON(): number
  isEqual(other: unknown): boolean
}

/**
 * A Firestore value as JS. Decoding yields: null, boolean, number (integers within ±(2^53-1)
 * and doubles), bigint (integers beyond), Double, string, Buffer, Timestamp, GeoPoint,
 * DocumentReference, arrays and plain objects (maps). Encoding also takes Date, Uint8Array,
 * ArrayBuffer and Google's Timestamp/GeoPoint classes.
 */
export type FirestoreValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Double
  | Timestamp
  | Date
  | Buffer
  | Uint8Array
  | ArrayBuffer
  | GeoPoint
  | DocumentReference
  | FirestoreValue[]
  | { [field: string]: FirestoreValue }

/** A document's fields. */
export interface DocumentFields {
  [field: string]: FirestoreValue
}

/** What `decodeDocument` returns and `encodeDocument` takes. */
export interface DocumentData {
  /** `projects/P/databases/D/documents/col/doc` */
  name: string
  fields?: DocumentFields
  createTime?: Timestamp | Date
  updateTime?: Timestamp | Date
}

/** One Firestore document with typed fields. */
export declare class Document implements DocumentData {
  constructor(name: string, fields?: DocumentFields, times?: { createTime?: Timestamp; updateTime?: Timestamp })
  name: string
  fields: DocumentFields
  createTime?: Timestamp
  updateTime?: Timestamp
  /** `col/doc` */
  readonly path: string
  /** The document id. */
  readonly id: string
}

/** A document from one line of Firestore REST JSON (as in a decrypted backup part). */
export declare function decodeDocument(json: string | Buffer | Uint8Array): Document
/** One line of Firestore REST JSON for a document, exactly as backups store it. */
export declare function encodeDocument(document: DocumentData): string
