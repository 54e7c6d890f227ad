import type { FastifyRequest } from 'fastify'
import { FST_SESSION_INVALID_OPTION } from './errors.js'
import { boolean, checkCodecOptions, checkKnown, CODEC_OPTION_NAMES, DAY, type Format, type SessionCodecOptions } from './codec-options.js'
import type { Codec, InvalidReason } from './codecs/codec.js'
import { COOKIE_ATTRIBUTES, DEFAULT_COOKIE_OPTIONS, resolveCookieOptions, type CookieOptions, type ResolvedCookieOptions, type SerializeCookie } from './cookie-attributes.js'
import { createEncryptedCodec } from './codecs/encrypted.js'
import { createFlaskCodec, flaskKeyWarnings } from './codecs/flask.js'
import { createSignedCodec } from './codecs/signed.js'
import { withVerifiedCache } from './codecs/verified-cache.js'
import type { SessionInfo } from './session-codec.js'

// Option types, defaults and validation. Every mistake is reported at register, with a message
// that says what to change, so a bad configuration never reaches a request. The options that
// decide what a cookie value holds (the codec's) are resolved on their own, for the standalone
// codec; the plugin adds those about cookies and requests.

export type { CookieOptions, SameSite, Priority } from './cookie-attributes.js'
export type { Format, Secret, SessionCodecOptions } from './codec-options.js'

/** The plugin's options: the codec's (`secret`, `format`, lifetimes…) plus the cookie's and the request's. Checked at register. */
export interface CookieSessionOptions extends SessionCodecOptions {
  /** Whether new sessions are permanent (cookie with Expires/Max-Age). Default false. */
  permanent?: boolean
  /**
   * Re-issue unchanged permanent sessions: true = on every request, false = only when changed,
   * n = once the cookie is n seconds old. Default: once it is a day old, or half of `maxAge` when
   * that is shorter (true for format 'flask', as Flask does).
   */
  refresh?: boolean | number
  /** Attributes of the session cookie (validated by @fastify/cookie's serializer at register). */
  cookie?: CookieOptions
  /**
   * Called for every rejected cookie, e.g. to count them. May be async; the request never waits
   * for it, and a throw or rejection is logged, never a crash.
   */
  onInvalidCookie?: (reason: InvalidReason, request: FastifyRequest) => void | Promise<void>
  /**
   * Revocation: called with every valid cookie's session before any handler runs (in an
   * onRequest hook that exists only when this option is set). Anything but `true` makes it an
   * empty new session and deletes the cookie on the response; a throw or rejection is logged and
   * the request gets an empty session (fail closed), the cookie left as it is. Typically one
   * look-up in a store per request: a deny-list of session ids, or a per-user "valid after" time
   * compared with `createdAt`.
   */
  validate?: (session: SessionInfo, request: FastifyRequest) => boolean | Promise<boolean>
}

export interface ResolvedCodecOptions {
  format: Format
  codec: Codec
  cookieName: string
  maxAge: number
  absoluteMaxAge: number
  maxCookies: number
  /** The longest value the cookies may carry: maxCookies × 4096 (names included, so an upper bound). */
  maxValueBytes: number
  /** Advice logged at register (e.g. a short Flask key). */
  warnings: readonly string[]
}

export interface ResolvedOptions extends ResolvedCodecOptions {
  permanent: boolean
  /** Age in seconds from which a permanent cookie is re-issued (0 = always, Infinity = never). */
  refreshAfter: number
  cookie: ResolvedCookieOptions
  /** @fastify/cookie's serializer, for `session.options()`. */
  serializeCookie: SerializeCookie
  onInvalidCookie: ((reason: InvalidReason, request: FastifyRequest) => void | Promise<void>) | undefined
  validate: ((session: SessionInfo, request: FastifyRequest) => boolean | Promise<boolean>) | undefined
  /** Runs `log` the first time `key` is seen by this registration: warnings about a route, not about each request. */
  warnOnce: (key: string, log: () => void) => void
}

/** The Node codec of each format, and the advice some give at register. */
const CODECS: Record<Format, { create: typeof createSignedCodec, warnings?: (secrets: Buffer[]) => string[] }> = {
  signed: { create: createSignedCodec },
  encrypted: { create: createEncryptedCodec },
  flask: { create: createFlaskCodec, warnings: flaskKeyWarnings }
}

const OPTION_NAMES = [...CODEC_OPTION_NAMES, 'permanent', 'refresh', 'cookie', 'onInvalidCookie', 'validate']

function invalid (message: string): never {
  throw new FST_SESSION_INVALID_OPTION(message)
}

/** The codec's options (also those of `createSessionCodec`); `known` lists every option name the caller accepts. */
export function resolveCodecOptions (options: SessionCodecOptions, known: readonly string[] = CODEC_OPTION_NAMES): ResolvedCodecOptions {
  const { format, cookieName, maxAge, absoluteMaxAge, compress, maxCookies, maxValueBytes, secrets: bytes } = checkCodecOptions(options, known, invalid)
  const secrets = bytes.map((secret) => Buffer.from(secret.buffer, secret.byteOffset, secret.byteLength))
  const { create, warnings } = CODECS[format]
  return {
    format,
    codec: withVerifiedCache(create(secrets, cookieName, { compress, maxValueBytes }), maxValueBytes),
    cookieName,
    maxAge,
    absoluteMaxAge,
    maxCookies,
    maxValueBytes,
    warnings: warnings === undefined ? [] : warnings(secrets)
  }
}

/**
 * Fastify always hands a plugin an options object ({} when none was given). `serializeCookie` is
 * @fastify/cookie's: the cookie attributes are checked by the very code that will write them.
 */
export function resolveOptions (options: CookieSessionOptions, serializeCookie: SerializeCookie): ResolvedOptions {
  checkKnown(options, OPTION_NAMES, '', invalid)
  const codecOptions = resolveCodecOptions(options, OPTION_NAMES)

  // Re-issuing a permanent session on every request races with writes: a read-only request that
  // answers after a concurrent write (a page and its XHR, two tabs) re-sends the data it loaded
  // and the write is lost. So by default a cookie is re-issued only once it is a day old (or half
  // of maxAge, when that is shorter): a read right after a write sends no cookie, and an active
  // user's cookie still never gets within a day of expiring. Flask re-issues on every request
  // (SESSION_REFRESH_EACH_REQUEST), so format 'flask' keeps that unless told otherwise.
  const refresh = options.refresh ?? (codecOptions.format === 'flask' ? true : Math.min(DAY, Math.ceil(codecOptions.maxAge / 2)))
  let refreshAfter: number
  if (refresh === true) refreshAfter = 0
  else if (refresh === false) refreshAfter = Infinity
  else if (typeof refresh === 'number' && Number.isInteger(refresh) && refresh >= 0) refreshAfter = refresh
  else invalid(`"refresh" must be true, false or a whole number of seconds >= 0, got ${String(refresh)}`)

  if (options.onInvalidCookie !== undefined && typeof options.onInvalidCookie !== 'function') {
    invalid('"onInvalidCookie" must be a function (reason, request) => void')
  }
  if (options.validate !== undefined && typeof options.validate !== 'function') {
    invalid('"validate" must be a function (session, request) => boolean | Promise<boolean>')
  }

  const cookieOptions = options.cookie ?? {}
  if (cookieOptions === null || typeof cookieOptions !== 'object') invalid('"cookie" must be an object of cookie attributes')
  checkKnown(cookieOptions, COOKIE_ATTRIBUTES, 'cookie.', invalid)

  return Object.freeze({
    ...codecOptions,
    permanent: boolean('permanent', options.permanent, false, invalid),
    refreshAfter,
    cookie: resolveCookieOptions(cookieOptions, codecOptions.cookieName, DEFAULT_COOKIE_OPTIONS, serializeCookie),
    serializeCookie,
    onInvalidCookie: options.onInvalidCookie,
    validate: options.validate,
    warnOnce: onceEach()
  })
}

function onceEach (): (key: string, log: () => void) => void {
  const seen = new Set<string>()
  return (key, log) => {
    if (seen.has(key)) return
    seen.add(key)
    log()
  }
}
