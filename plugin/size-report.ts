import { MAX_COOKIE_BYTES } from './codecs/codec.js'
import { FST_SESSION_TOO_LARGE } from './errors.js'
import type { ResolvedCodecOptions } from './options.js'
import { serialize, type SessionRecord } from './values.js'

// What takes the room in a session too large (or nearly) for its cookies: the top-level keys by
// the size of their JSON, largest first, so the message says what to move out of the session.
// Only computed on those rare paths, never for an ordinary write.

/** How many keys a report names. */
const LISTED_KEYS = 5

export interface SizeReport {
  /** Bytes of `name=value` the session needs (several cookies' names counted once). */
  bytes: number
  /** Bytes it may use: maxCookies × 4096. */
  limit: number
  /** The largest top-level keys and the bytes of their JSON (`"key":value`), before any compression. */
  largestKeys: Array<{ key: string, bytes: number }>
}

export function sizeReport (options: ResolvedCodecOptions, data: SessionRecord, value: string): SizeReport {
  const largestKeys = Object.keys(data)
    .map((key) => ({ key, bytes: JSON.stringify(key).length + 1 + serialize(data[key]).length }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, LISTED_KEYS)
  return { bytes: options.cookieName.length + 1 + value.length, limit: options.maxValueBytes, largestKeys }
}

/** The error for a session that needs more than its cookies hold. */
export function tooLarge (options: ResolvedCodecOptions, data: SessionRecord, value: string): InstanceType<typeof FST_SESSION_TOO_LARGE> {
  const { bytes, limit, largestKeys } = sizeReport(options, data, value)
  const keys = largestKeys.map(({ key, bytes }) => `${JSON.stringify(key)} (${bytes} bytes)`).join(', ')
  const room = options.maxCookies === 1
    ? `one cookie's ${MAX_COOKIE_BYTES}-byte browser limit`
    : `the ${limit} bytes of its ${options.maxCookies} cookies (maxCookies)`
  return new FST_SESSION_TOO_LARGE(`cookie "${options.cookieName}" would be ${bytes} bytes, over ${room}. ` +
    `Store less in the session; its largest keys (bytes of JSON, before compression): ${keys}`)
}
