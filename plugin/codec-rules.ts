import type { CheckedCodecOptions } from './codec-options.js'
import { MAX_COOKIE_BYTES, type InvalidReason } from './codecs/codec.js'
import type { SessionRecord } from './codecs/values-format.js'

// The rules a session codec applies around its format, for both entry points (session-codec.ts
// on node:crypto, web/index.ts on Web Crypto): the clocks, what `encode` accepts, and what a
// session too large for its cookies is told. Platform-neutral: each entry point passes its own
// serialize/assertStorable and throws its own error types.

/** Clock difference tolerated between servers before a cookie counts as issued in the future (seconds). */
export const CLOCK_SKEW = 60

/** What `encode` may be told besides the data. Omitted: a new session id, created now, not permanent. */
export interface EncodeOptions {
  /** Whether the session outlives the browser session (the plugin sets Expires/Max-Age when it re-issues it). Default false. */
  permanent?: boolean
  /** 22 base64url characters, as `session.sessionId` gives it. */
  sessionId?: string
  /** Seconds since the epoch; must not be later than now. */
  createdAt?: number
}

type Limits = Pick<CheckedCodecOptions, 'maxAge' | 'absoluteMaxAge'>
type Room = Pick<CheckedCodecOptions, 'cookieName' | 'maxCookies' | 'maxValueBytes'>

const SESSION_ID = /^[A-Za-z0-9_-]{22}$/
/** How many keys a size report names. */
const LISTED_KEYS = 5

/** Why a verified cookie's times make it invalid, or undefined when they are fine. */
export function timeReason ({ maxAge, absoluteMaxAge }: Limits, issuedAt: number, createdAt: number, now: number): InvalidReason | undefined {
  if (issuedAt > now + CLOCK_SKEW) return 'future'
  if (createdAt > issuedAt) return 'bad-payload'
  // As in itsdangerous, an age equal to the limit is still valid.
  if (now - issuedAt > maxAge || now - createdAt > absoluteMaxAge) return 'expired'
  return undefined
}

/** Throws a TypeError for a `sessionId` or `createdAt` the plugin could never have written. */
export function checkEncodeOptions ({ sessionId, createdAt }: EncodeOptions, now: number): void {
  if (sessionId !== undefined && !SESSION_ID.test(sessionId)) throw new TypeError('sessionId must be 22 base64url characters, as session.sessionId gives it')
  if (createdAt !== undefined && (!Number.isInteger(createdAt) || createdAt < 0 || createdAt > now)) {
    throw new TypeError('createdAt must be whole seconds since the epoch, not later than now')
  }
}

/** A copy of `data` without its undefined keys, every value checked by `assertStorable` (which throws). */
export function storableRecord (data: Record<string, unknown>, assertStorable: (value: unknown, path: string) => void): SessionRecord {
  const record = { ...data }
  for (const key of Object.keys(record)) {
    if (record[key] === undefined) delete record[key]
    else assertStorable(record[key], `session.${key}`)
  }
  return record
}

/** What takes the room in a session too large (or nearly) for its cookies. */
export interface SizeReport {
  /** Bytes of `name=value` the session needs (several cookies' names counted once). */
  bytes: number
  /** Bytes it may use: maxCookies × 4096. */
  limit: number
  /** The largest top-level keys and the bytes of their JSON (`"key":value`), before any compression. */
  largestKeys: Array<{ key: string, bytes: number }>
}

/** The top-level keys by the size of their JSON, largest first: what to move out of the session. */
export function sizeReport (room: Room, data: SessionRecord, value: string, serialize: (value: unknown) => string): SizeReport {
  const largestKeys = Object.keys(data)
    .map((key) => ({ key, bytes: JSON.stringify(key).length + 1 + serialize(data[key]).length }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, LISTED_KEYS)
  return { bytes: room.cookieName.length + 1 + value.length, limit: room.maxValueBytes, largestKeys }
}

/** The message of FST_SESSION_TOO_LARGE: how big, over what, and the largest keys. */
export function tooLargeMessage (room: Room, data: SessionRecord, value: string, serialize: (value: unknown) => string): string {
  const { bytes, limit, largestKeys } = sizeReport(room, data, value, serialize)
  const keys = largestKeys.map(({ key, bytes }) => `${JSON.stringify(key)} (${bytes} bytes)`).join(', ')
  const where = room.maxCookies === 1
    ? `one cookie's ${MAX_COOKIE_BYTES}-byte browser limit`
    : `the ${limit} bytes of its ${room.maxCookies} cookies (maxCookies)`
  return `cookie "${room.cookieName}" would be ${bytes} bytes, over ${where}. ` +
    `Store less in the session; its largest keys (bytes of JSON, before compression): ${keys}`
}
