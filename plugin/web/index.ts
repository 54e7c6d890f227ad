import { chunkName, joinChunks, splitValue } from '../chunks.js'
import { checkEncodeOptions, storableRecord, timeReason, tooLargeMessage, type EncodeOptions } from '../codec-rules.js'
import type { InvalidReason } from '../codecs/codec.js'
import { assertStorable, serialize, type SessionRecord } from '../codecs/values-format.js'
import { SessionCodecError } from './errors.js'
import { createFormat } from './formats.js'
import { resolveWebOptions, type ResolvedWebOptions, type SessionCodecOptions } from './options.js'
import { newSessionId, WEB_VALUES } from './platform.js'

// fastify-cookie-session/web: the plugin's cookie formats for Web-platform runtimes (Next.js
// middleware, Cloudflare Workers, Deno, Bun, browsers), on Web Crypto and CompressionStream alone:
// no node: import, no Buffer. It reads the cookies a Fastify app with the plugin writes and writes
// cookies that app reads, with the same keys, formats, size limits and time checks as the plugin's
// standalone codec (`createSessionCodec` of the main entry), asynchronously. See docs/edge.md.

export { SessionCodecError, type SessionCodecErrorCode } from './errors.js'
export type { Format, Secret, SessionCodecOptions } from './options.js'
export type { InvalidReason } from '../codecs/codec.js'

export { CLOCK_SKEW, type EncodeOptions } from '../codec-rules.js'

/** A valid session. Times are whole seconds since the epoch. */
export interface SessionInfo<Data extends Record<string, unknown> = Record<string, unknown>> {
  /** The session's data: a fresh copy for each decode. Bytes are Uint8Array, dates Date. */
  data: Data
  /** The random id kept in the cookie (format 'flask' keeps none: a new random id each time). */
  sessionId: string
  /** When the session began (login, or `regenerate()`); for 'flask', equal to issuedAt. */
  createdAt: number
  /** When this cookie was written. */
  issuedAt: number
  /** Whether the cookie outlives the browser session (Expires/Max-Age). */
  permanent: boolean
}

/** What `inspect` finds: the session, or why the value is not a valid one. */
export type Inspection<Data extends Record<string, unknown> = Record<string, unknown>> =
  | { session: SessionInfo<Data> }
  | { reason: InvalidReason }

/** The plugin's cookie format on the Web platform. Create one with `createSessionCodec`. */
export interface SessionCodec {
  /** The cookie name the values are bound to (and the first piece's name). */
  readonly cookieName: string
  /** How many cookies a value may be split across (`maxCookies`). */
  readonly maxCookies: number
  /**
   * The session in a cookie value (pieces already joined), or null when it is not a valid one
   * (or there is none: undefined, null and '' give null). Rejects only with
   * FST_SESSION_NO_DECOMPRESSION: a genuine compressed cookie in a runtime without DecompressionStream.
   */
  decode<Data extends Record<string, unknown> = Record<string, unknown>> (value: string | null | undefined): Promise<SessionInfo<Data> | null>
  /** Like decode, but says why a value is not a valid session (the reasons the plugin's `onInvalidCookie` gets). */
  inspect<Data extends Record<string, unknown> = Record<string, unknown>> (value: string | null | undefined): Promise<Inspection<Data>>
  /**
   * The session in the request's cookies, as a name → value record (e.g.
   * `Object.fromEntries(request.cookies.getAll().map((c) => [c.name, c.value]))` in Next.js),
   * its pieces (`session`, `session.1`, `session.2`) joined; null when none is valid.
   */
  decodeCookies<Data extends Record<string, unknown> = Record<string, unknown>> (cookies: Record<string, string | undefined>): Promise<SessionInfo<Data> | null>
  /**
   * A cookie value holding `data`, issued now. Rejects with FST_SESSION_UNSTORABLE_VALUE for what
   * cannot be stored, FST_SESSION_TOO_LARGE when it needs more than `maxCookies` cookies, and a
   * TypeError for a bad `sessionId` or `createdAt`.
   */
  encode (data: Record<string, unknown>, options?: EncodeOptions): Promise<string>
  /** The `[name, value]` cookies to set for an encoded value: one, or up to `maxCookies` pieces. */
  split (value: string): Array<[name: string, value: string]>
}

function nowSeconds (): number {
  return Math.floor(Date.now() / 1000)
}

/** The error for a session that needs more than its cookies hold, worded as the plugin's. */
function tooLarge (options: ResolvedWebOptions, data: SessionRecord, value: string): SessionCodecError {
  const message = tooLargeMessage(options, data, value, (item) => serialize(item, WEB_VALUES))
  return new SessionCodecError('FST_SESSION_TOO_LARGE', `Session too large for its cookie: ${message}`)
}

/**
 * The plugin's cookie format as a Web-platform codec: pass the same `secret`, `format`,
 * `cookieName`, `maxAge`, `absoluteMaxAge`, `compress` and `maxCookies` as to the Fastify plugin,
 * and it reads the plugin's cookies (and writes cookies the plugin reads) with the same checks.
 * Throws FST_SESSION_INVALID_OPTION (a SessionCodecError) for a wrong option. Keys are derived
 * (HKDF-SHA256, as the plugin) and imported once, on first use.
 */
export function createSessionCodec (options: SessionCodecOptions): SessionCodec {
  const resolved = resolveWebOptions(options)
  const { cookieName, maxCookies, maxValueBytes } = resolved
  const format = createFormat(resolved.format, resolved.secrets, cookieName, resolved.compress)

  async function inspect (value: string | null | undefined): Promise<Inspection<Record<string, unknown>>> {
    if (typeof value !== 'string' || value === '') return { reason: 'malformed' }
    // Checked before any crypto work: browsers never send more, so this is not our cookie.
    if (value.length > maxValueBytes) return { reason: 'too-large' }
    const now = nowSeconds()
    const decoded = await format.decode(value, (issuedAt, createdAt) => timeReason(resolved, issuedAt, createdAt, now))
    if (typeof decoded === 'string') return { reason: decoded }
    const { data, issuedAt, createdAt, id, permanent } = decoded
    return { session: { data, sessionId: id ?? newSessionId(), createdAt, issuedAt, permanent } }
  }

  async function decode (value: string | null | undefined): Promise<SessionInfo | null> {
    const result = await inspect(value)
    return 'session' in result ? result.session : null
  }

  return {
    cookieName,
    maxCookies,
    decode: decode as SessionCodec['decode'],
    inspect: inspect as SessionCodec['inspect'],
    decodeCookies: (async (cookies: Record<string, string | undefined>) => {
      const { value, problem } = joinChunks(cookies, cookieName, maxCookies)
      return value === undefined || problem !== undefined ? null : decode(value)
    }) as SessionCodec['decodeCookies'],
    async encode (data, { permanent = false, sessionId, createdAt } = {}) {
      const now = nowSeconds()
      checkEncodeOptions({ sessionId, createdAt }, now)
      const record = storableRecord(data, (value, path) => assertStorable(value, path, WEB_VALUES))
      const value = await format.encode({
        data: record,
        json: serialize(record, WEB_VALUES),
        issuedAt: now,
        createdAt: createdAt ?? now,
        id: sessionId ?? newSessionId(),
        permanent
      })
      if (splitValue(cookieName, value, maxCookies) === undefined) throw tooLarge(resolved, record, value)
      return value
    },
    split (value) {
      const pieces = splitValue(cookieName, value, maxCookies)
      if (pieces === undefined) throw tooLarge(resolved, {}, value)
      return pieces.map((piece, index) => [chunkName(cookieName, index), piece])
    }
  }
}
