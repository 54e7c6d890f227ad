import type { FastifyRequest } from 'fastify'
import { FST_SESSION_INVALID_OPTION } from './errors.js'
import { secretsFrom, MIN_SECRET_BYTES, type Secret } from './keys.js'
import { MAX_COOKIES, NODE_HEADER_LIMIT } from './chunks.js'
import { MAX_COOKIE_BYTES, type Codec, type InvalidReason } from './codecs/codec.js'
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
/**
 * The cookie format: 'signed' (the default: readable by the client, HMAC-SHA256), 'encrypted'
 * (AES-256-GCM: the client cannot read it) or 'flask' (Flask's own session cookie, to share
 * sessions with a Flask app). See docs/formats.md.
 */
export type Format = keyof typeof FORMATS

/** What decides how a session is written into a cookie value and read back. */
export interface SessionCodecOptions {
  /**
   * Required. At least 32 bytes (`openssl rand -base64 32`; format 'flask' takes Flask's
   * SECRET_KEY as it is and warns under 32), or `[current, ...fallbacks]` to rotate keys: the
   * first signs, all verify, and a cookie verified by a fallback is re-issued under the first.
   */
  secret: Secret | Secret[]
  /** Cookie format: 'signed' (default), 'encrypted' or 'flask'. */
  format?: Format
  /** Default 'session' (Flask's). Bound into the MAC (signed) or the AAD (encrypted). */
  cookieName?: string
  /**
   * Seconds, not milliseconds. Server-side age limit of every cookie (permanent or not) and
   * Expires/Max-Age of permanent ones. Default 31 days (Flask's); at most 400 days.
   */
  maxAge?: number
  /** Seconds since the session was created after which it ends, however active. Default: none. Not with 'flask'. */
  absoluteMaxAge?: number
  /**
   * Deflate the payload when that makes the cookie shorter. Default true for 'signed' and 'flask'
   * (as Flask does); false for 'encrypted', where compressing secrets beside data an attacker
   * influences would leak them through the cookie's length (CRIME, BREACH).
   */
  compress?: boolean
  /**
   * How many cookies a session may be split across (`name`, `name.1`, `name.2`), from 1 (the
   * default) to 3. Not with 'flask': Flask reads one cookie.
   */
  maxCookies?: number
}

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

const FORMATS = {
  signed: { minSecretBytes: MIN_SECRET_BYTES, compress: true, create: createSignedCodec },
  encrypted: { minSecretBytes: MIN_SECRET_BYTES, compress: false, create: createEncryptedCodec },
  flask: { minSecretBytes: 1, compress: true, create: createFlaskCodec, warnings: flaskKeyWarnings }
}

const DAY = 24 * 3600
/** Browsers cap cookie lifetimes at 400 days; a larger maxAge is almost surely milliseconds. */
const MAX_LIFETIME = 400 * DAY
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

const CODEC_OPTION_NAMES = ['secret', 'format', 'cookieName', 'maxAge', 'absoluteMaxAge', 'compress', 'maxCookies']
const OPTION_NAMES = [...CODEC_OPTION_NAMES, 'permanent', 'refresh', 'cookie', 'onInvalidCookie', 'validate']

function invalid (message: string): never {
  throw new FST_SESSION_INVALID_OPTION(message)
}

function checkKnown (object: object, known: readonly string[], where: string): void {
  for (const key of Object.keys(object)) {
    if (known.includes(key)) continue
    const hint = where === 'cookie.' && (key === 'maxAge' || key === 'expires')
      ? ' (the cookie\'s lifetime is the top-level "maxAge" option, in seconds)'
      : ''
    invalid(`unknown option "${where}${key}"${hint}; valid options are ${known.join(', ')}`)
  }
}

function seconds (name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    invalid(`"${name}" must be a positive whole number of seconds, got ${String(value)}`)
  }
  if (value > MAX_LIFETIME) {
    invalid(`"${name}" is ${value} seconds, over the 400 days browsers allow; it is in seconds, not milliseconds`)
  }
  return value
}

function boolean (name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') invalid(`"${name}" must be true or false, got ${String(value)}`)
  return value
}

function cookieCount (value: unknown, formatName: Format): number {
  if (value === undefined) return 1
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    invalid(`"maxCookies" must be a whole number from 1 to ${MAX_COOKIES}, got ${String(value)}`)
  }
  if (value > MAX_COOKIES) {
    invalid(`"maxCookies" is ${value}: ${value} cookies of up to ${MAX_COOKIE_BYTES} bytes could make the Cookie header alone ` +
      `${value * MAX_COOKIE_BYTES} bytes, and Node refuses requests whose headers pass ${NODE_HEADER_LIMIT} bytes (431). ` +
      `At most ${MAX_COOKIES} (${MAX_COOKIES * MAX_COOKIE_BYTES} bytes) leaves ${NODE_HEADER_LIMIT - MAX_COOKIES * MAX_COOKIE_BYTES} ` +
      'for the request line, the other headers and the site\'s other cookies; store less in the session instead')
  }
  if (value > 1 && formatName === 'flask') {
    invalid('"maxCookies" above 1 cannot be used with format \'flask\': Flask reads its session from one cookie and would ' +
      'never see the others; store less in the session, or let compression (on by default) shrink it')
  }
  return value
}

/** The codec's options (also those of `createSessionCodec`); `known` lists every option name the caller accepts. */
export function resolveCodecOptions (options: SessionCodecOptions, known: readonly string[] = CODEC_OPTION_NAMES): ResolvedCodecOptions {
  if (options === null || typeof options !== 'object') invalid('options must be an object with at least "secret"')
  checkKnown(options, known, '')

  const format = options.format ?? 'signed'
  if (!Object.hasOwn(FORMATS, format)) {
    invalid(`"format" must be one of ${Object.keys(FORMATS).map((f) => `'${f}'`).join(', ')}, got ${String(format)}`)
  }
  const spec = FORMATS[format]

  const cookieName = options.cookieName ?? 'session'
  if (typeof cookieName !== 'string' || !TOKEN.test(cookieName)) {
    invalid(`"cookieName" must be a non-empty cookie token (letters, digits, !#$%&'*+-.^_\`|~), got ${JSON.stringify(cookieName)}`)
  }

  const maxAge = seconds('maxAge', options.maxAge ?? 31 * DAY)
  const absoluteMaxAge = options.absoluteMaxAge === undefined ? Infinity : seconds('absoluteMaxAge', options.absoluteMaxAge)
  if (format === 'flask' && absoluteMaxAge !== Infinity) {
    invalid('"absoluteMaxAge" cannot be used with format \'flask\': Flask cookies carry no creation time; use "maxAge"')
  }
  const compress = boolean('compress', options.compress, spec.compress)
  const maxCookies = cookieCount(options.maxCookies, format)
  const maxValueBytes = maxCookies * MAX_COOKIE_BYTES

  const secrets = secretsFrom(options.secret, spec.minSecretBytes)
  return {
    format,
    codec: withVerifiedCache(spec.create(secrets, cookieName, { compress, maxValueBytes }), maxValueBytes),
    cookieName,
    maxAge,
    absoluteMaxAge,
    maxCookies,
    maxValueBytes,
    warnings: 'warnings' in spec ? spec.warnings(secrets) : []
  }
}

/**
 * Fastify always hands a plugin an options object ({} when none was given). `serializeCookie` is
 * @fastify/cookie's: the cookie attributes are checked by the very code that will write them.
 */
export function resolveOptions (options: CookieSessionOptions, serializeCookie: SerializeCookie): ResolvedOptions {
  checkKnown(options, OPTION_NAMES, '')
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
  checkKnown(cookieOptions, COOKIE_ATTRIBUTES, 'cookie.')

  return Object.freeze({
    ...codecOptions,
    permanent: boolean('permanent', options.permanent, false),
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
