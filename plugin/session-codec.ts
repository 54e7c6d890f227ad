import { chunkName, joinChunks, splitValue } from './chunks.js'
import type { Decoded, InvalidReason } from './codecs/codec.js'
import { resolveCodecOptions, type ResolvedCodecOptions, type SessionCodecOptions } from './options.js'
import { newSessionId, nowSeconds, type SessionContents } from './session.js'
import { checkEncodeOptions, storableRecord, timeReason, type EncodeOptions } from './codec-rules.js'
import { tooLarge } from './size-report.js'
import { assertStorable, serialize } from './values.js'

// From a cookie value to a valid session and back, without Fastify: the path the plugin itself
// takes (same keys, formats, size limits and clocks), for places with no Fastify request: a
// WebSocket server, a queue worker, a magic link, a plain node:http handler.

export { CLOCK_SKEW, type EncodeOptions } from './codec-rules.js'

/** The verified, unexpired session in `value` (the cookies' pieces joined), or why it is not one. */
export function decodeValue (options: ResolvedCodecOptions, value: string, now: number): Decoded | InvalidReason {
  // Checked before any crypto work: browsers never send more, so this is not our cookie.
  if (value.length > options.maxValueBytes) return 'too-large'
  const decoded = options.codec.decode(value)
  if (typeof decoded === 'string') return decoded
  return timeReason(options, decoded.issuedAt, decoded.createdAt, now) ?? decoded
}

/** A valid session as the codec (and the plugin's `validate` option) sees it. Times are seconds since the epoch. */
export interface SessionInfo {
  /** The session's data: a fresh copy for each decode. */
  data: SessionContents
  /** The random id kept in the cookie (format 'flask' keeps none: a new random id each time). */
  sessionId: string
  /** When the session began (login, or `regenerate()`); for 'flask', equal to issuedAt. */
  createdAt: number
  /** When this cookie was written. */
  issuedAt: number
  /** Whether the cookie outlives the browser session (Expires/Max-Age). */
  permanent: boolean
}

/** The plugin's cookie format, without Fastify. Create one with `createSessionCodec`, or use `fastify.sessionCodec`. */
export interface SessionCodec {
  /** The cookie name the values are bound to (and the first piece's name). */
  readonly cookieName: string
  /** How many cookies a value may be split across (`maxCookies`). */
  readonly maxCookies: number
  /** The session in a cookie value (pieces already joined), or null when it is not a valid one. */
  decode (value: string): SessionInfo | null
  /** Like decode, but says why a value is not a valid session (the reasons `onInvalidCookie` gets). */
  inspect (value: string): { session: SessionInfo } | { reason: InvalidReason }
  /** The session in parsed cookies (`request.cookies`, or any name → value record), pieces joined; null when none is valid. */
  decodeCookies (cookies: Record<string, string | undefined>): SessionInfo | null
  /**
   * A cookie value holding `data`. Throws FST_SESSION_UNSTORABLE_VALUE for what cannot be stored,
   * FST_SESSION_TOO_LARGE when it needs more than `maxCookies` cookies.
   */
  encode (data: SessionContents, options?: EncodeOptions): string
  /** The `[name, value]` cookies to set for an encoded value: one, or up to `maxCookies` pieces. */
  split (value: string): Array<[name: string, value: string]>
}

/** A codec over already resolved options: the plugin's own (`fastify.sessionCodec`), or createSessionCodec's. */
export function codecFor (options: ResolvedCodecOptions): SessionCodec {
  const { cookieName, maxCookies } = options

  function inspect (value: string): { session: SessionInfo } | { reason: InvalidReason } {
    const decoded = decodeValue(options, value, nowSeconds())
    if (typeof decoded === 'string') return { reason: decoded }
    const { data, issuedAt, createdAt, id, permanent } = decoded
    return { session: { data: data as SessionContents, sessionId: id ?? newSessionId(), createdAt, issuedAt, permanent } }
  }

  function decode (value: string): SessionInfo | null {
    const result = inspect(value)
    return 'session' in result ? result.session : null
  }

  return {
    cookieName,
    maxCookies,
    decode,
    inspect,
    decodeCookies (cookies) {
      const { value, problem } = joinChunks(cookies, cookieName, maxCookies)
      return value === undefined || problem !== undefined ? null : decode(value)
    },
    encode (data, { permanent = false, sessionId, createdAt } = {}) {
      const now = nowSeconds()
      checkEncodeOptions({ sessionId, createdAt }, now)
      const record = storableRecord(data, assertStorable)
      const value = options.codec.encode({
        data: record,
        json: serialize(record),
        issuedAt: now,
        createdAt: createdAt ?? now,
        id: sessionId ?? newSessionId(),
        permanent
      })
      if (splitValue(cookieName, value, maxCookies) === undefined) throw tooLarge(options, record, value)
      return value
    },
    split (value) {
      const pieces = splitValue(cookieName, value, maxCookies)
      if (pieces === undefined) throw tooLarge(options, {}, value)
      return pieces.map((piece, index) => [chunkName(cookieName, index), piece])
    }
  }
}

/**
 * The plugin's cookie format as a standalone codec: pass the same `secret`, `format`,
 * `cookieName`, `maxAge`, `absoluteMaxAge`, `compress` and `maxCookies` as to the plugin, and it
 * reads the plugin's cookies (and writes cookies the plugin reads) with the same checks.
 */
export function createSessionCodec (options: SessionCodecOptions): SessionCodec {
  return codecFor(resolveCodecOptions(options))
}
