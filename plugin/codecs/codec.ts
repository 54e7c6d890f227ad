import type { SessionRecord } from '../values.js'

// The one interface every cookie format implements. A codec turns session contents into a cookie
// value and back; it knows nothing of Fastify, lifetimes or when to write (see persistence.ts).

/** Why a cookie was turned into an empty session (passed to `onInvalidCookie`, logged at debug). */
export type InvalidReason =
  | 'too-large' // over 4096 bytes: refused before any crypto work
  | 'malformed' // not the format's shape, or not canonical base64url
  | 'bad-signature' // no key verifies it (tampered, wrong or retired key, other cookie name)
  | 'bad-payload' // verified, but the contents are not a valid session
  | 'expired' // older than maxAge, or created longer ago than absoluteMaxAge
  | 'future' // issued more than the allowed clock skew in the future

/** What is stored besides the data itself. Times are whole seconds since the epoch. */
export interface SessionMeta {
  issuedAt: number
  createdAt: number
  id: string
  permanent: boolean
}

export interface EncodeInput extends SessionMeta {
  data: SessionRecord
  /** `values.serialize(data)`, already computed for change detection; codecs may reuse it. */
  json: string
}

export interface Decoded extends Omit<SessionMeta, 'id'> {
  /** Left out by formats that carry no id (flask): each request then draws a random one. */
  id?: string
  data: SessionRecord
  /** `values.serialize(data)`: the canonical text changes are detected against. */
  json: string
  /** The verified payload text `readData` rebuilds `data` from (for the verified-cookie cache). */
  text: string
  /**
   * The same data as `data`, parsed apart and never to be handed out or changed: set when the
   * cookie came from the verified-cookie memory, so change detection can compare with it.
   */
  pristine?: SessionRecord
  /** Index of the secret that verified it: 0 is current, more is a fallback (re-issued). */
  keyIndex: number
}

export interface Codec {
  encode (input: EncodeInput): string
  /** Never throws: returns the reason instead. Time limits are checked by the caller. */
  decode (value: string): Decoded | InvalidReason
  /** Fresh live data from a `text` this codec's decode verified and read once before. */
  readData (text: string): SessionRecord
  /**
   * Fresh live data copied from `readData`'s result (with whatever the format keeps beside the
   * objects, such as flask's tuple and UUID marks), cheaper than reading the text again.
   */
  copyData (pristine: SessionRecord): SessionRecord
  /**
   * The `text` decode would return for the cookie encode makes from `input`, for formats where
   * decoding their own cookie gives back exactly `input` (its json, times, id and flag): such
   * cookies are remembered as verified the moment they are issued. Left out by flask, whose
   * cookies carry no id nor creation time and keep Dates to the second.
   */
  textFor? (input: EncodeInput): string
}

/** Browsers keep at most 4096 bytes of name=value per cookie. */
export const MAX_COOKIE_BYTES = 4096

/**
 * Payloads are deflated (when that makes them shorter) only from this many bytes of JSON on: a
 * deflate costs about 20 µs per write, and below this it saves at most a few dozen bytes of a
 * 4096-byte cookie.
 */
export const COMPRESS_FROM_BYTES = 128

/**
 * Inflated payloads over this are refused, checked while inflating: a 4 KB cookie could
 * otherwise inflate to megabytes. Far above what fits a cookie uncompressed (3 × 4 KB).
 */
export const MAX_INFLATED_BYTES = 256 * 1024
