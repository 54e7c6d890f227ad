import type { FastifyRequest } from 'fastify'
import { FST_SESSION_INVALID_OPTION } from './errors.js'
import { secretsFrom, MIN_SECRET_BYTES, type Secret } from './keys.js'
import type { Codec, InvalidReason } from './codecs/codec.js'
import { createEncryptedCodec } from './codecs/encrypted.js'
import { createFlaskCodec, flaskKeyWarnings } from './codecs/flask.js'
import { createSignedCodec } from './codecs/signed.js'
import { withVerifiedCache } from './codecs/verified-cache.js'

// Option types, defaults and validation. Every mistake is reported at register, with a message
// that says what to change, so a bad configuration never reaches a request.

export type SameSite = 'lax' | 'strict' | 'none'

export interface CookieOptions {
  /** Default '/'. */
  path?: string
  /** Default: none (host-only cookie). */
  domain?: string
  /** Default true: scripts cannot read the session cookie. */
  httpOnly?: boolean
  /** Default 'auto': Secure on https requests (request.protocol, so trustProxy is honoured). */
  secure?: boolean | 'auto'
  /** Default 'lax'. `false` sends no SameSite attribute. */
  sameSite?: SameSite | false
  /** Default false. CHIPS partitioned cookie; needs `secure: true`. */
  partitioned?: boolean
}

export type Format = keyof typeof FORMATS

export interface CookieSessionOptions {
  /** Required. >= 32 bytes, or [current, ...fallbacks] to rotate keys. */
  secret: Secret | Secret[]
  /** Cookie format, default 'signed'. */
  format?: Format
  /** Default 'session' (Flask's). */
  cookieName?: string
  /** Seconds. Server-side age limit of every cookie and Expires/Max-Age of permanent ones. Default 31 days. */
  maxAge?: number
  /** Seconds since the session was created after which it ends, however active. Default: none. */
  absoluteMaxAge?: number
  /** Whether new sessions are permanent (cookie with Expires/Max-Age). Default false. */
  permanent?: boolean
  /** Re-issue permanent sessions: true = every request, false = only when changed, n = once n s old. Default true. */
  refresh?: boolean | number
  cookie?: CookieOptions
  /** Called for every rejected cookie, e.g. to count them. Must not throw. */
  onInvalidCookie?: (reason: InvalidReason, request: FastifyRequest) => void
}

export interface ResolvedCookieOptions {
  path: string
  domain: string | undefined
  httpOnly: boolean
  secure: boolean | 'auto'
  sameSite: SameSite | false
  partitioned: boolean
}

export interface ResolvedOptions {
  codec: Codec
  cookieName: string
  maxAge: number
  absoluteMaxAge: number
  permanent: boolean
  /** Age in seconds from which a permanent cookie is re-issued (0 = always, Infinity = never). */
  refreshAfter: number
  cookie: ResolvedCookieOptions
  onInvalidCookie: ((reason: InvalidReason, request: FastifyRequest) => void) | undefined
  /** Advice logged at register (e.g. a short Flask key). */
  warnings: readonly string[]
}

const FORMATS = {
  signed: { minSecretBytes: MIN_SECRET_BYTES, create: createSignedCodec },
  encrypted: { minSecretBytes: MIN_SECRET_BYTES, create: createEncryptedCodec },
  flask: { minSecretBytes: 1, create: createFlaskCodec, warnings: flaskKeyWarnings }
}

const DAY = 24 * 3600
/** Browsers cap cookie lifetimes at 400 days; a larger maxAge is almost surely milliseconds. */
const MAX_LIFETIME = 400 * DAY
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const DOMAIN = /^\.?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/
// eslint-disable-next-line no-control-regex
const PATH = /^\/[^\u0000-\u001f\u007f;]*$/

const OPTION_NAMES = ['secret', 'format', 'cookieName', 'maxAge', 'absoluteMaxAge', 'permanent', 'refresh', 'cookie', 'onInvalidCookie']
const COOKIE_NAMES = ['path', 'domain', 'httpOnly', 'secure', 'sameSite', 'partitioned']

function invalid (message: string): never {
  throw new FST_SESSION_INVALID_OPTION(message)
}

function checkKnown (object: object, known: string[], where: string): void {
  for (const key of Object.keys(object)) {
    if (!known.includes(key)) invalid(`unknown option "${where}${key}"; valid options are ${known.join(', ')}`)
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

// Fastify always hands a plugin an options object ({} when none was given).
export function resolveOptions (options: CookieSessionOptions): ResolvedOptions {
  checkKnown(options, OPTION_NAMES, '')

  const formatName = options.format ?? 'signed'
  if (!Object.hasOwn(FORMATS, formatName)) {
    invalid(`"format" must be one of ${Object.keys(FORMATS).map((f) => `'${f}'`).join(', ')}, got ${String(formatName)}`)
  }
  const format = FORMATS[formatName]

  const cookieName = options.cookieName ?? 'session'
  if (typeof cookieName !== 'string' || !TOKEN.test(cookieName)) {
    invalid(`"cookieName" must be a non-empty cookie token (letters, digits, !#$%&'*+-.^_\`|~), got ${JSON.stringify(cookieName)}`)
  }

  const maxAge = seconds('maxAge', options.maxAge ?? 31 * DAY)
  const absoluteMaxAge = options.absoluteMaxAge === undefined ? Infinity : seconds('absoluteMaxAge', options.absoluteMaxAge)
  if (formatName === 'flask' && absoluteMaxAge !== Infinity) {
    invalid('"absoluteMaxAge" cannot be used with format \'flask\': Flask cookies carry no creation time; use "maxAge"')
  }

  const refresh = options.refresh ?? true
  let refreshAfter: number
  if (refresh === true) refreshAfter = 0
  else if (refresh === false) refreshAfter = Infinity
  else if (typeof refresh === 'number' && Number.isInteger(refresh) && refresh >= 0) refreshAfter = refresh
  else invalid(`"refresh" must be true, false or a whole number of seconds >= 0, got ${String(refresh)}`)

  if (options.onInvalidCookie !== undefined && typeof options.onInvalidCookie !== 'function') {
    invalid('"onInvalidCookie" must be a function (reason, request) => void')
  }

  const cookie = resolveCookieOptions(options.cookie ?? {}, cookieName, defaultCookieOptions)
  const secrets = secretsFrom(options.secret, format.minSecretBytes)

  return Object.freeze({
    codec: withVerifiedCache(format.create(secrets, cookieName)),
    cookieName,
    maxAge,
    absoluteMaxAge,
    permanent: boolean('permanent', options.permanent, false),
    refreshAfter,
    cookie,
    onInvalidCookie: options.onInvalidCookie,
    warnings: 'warnings' in format ? format.warnings(secrets) : []
  })
}

const defaultCookieOptions: ResolvedCookieOptions = Object.freeze({
  path: '/',
  domain: undefined,
  httpOnly: true,
  secure: 'auto',
  sameSite: 'lax',
  partitioned: false
})

/** Validates cookie attributes over `base`: used at register and by `session.options()`. */
export function resolveCookieOptions (given: CookieOptions, cookieName: string, base: ResolvedCookieOptions): ResolvedCookieOptions {
  if (given === null || typeof given !== 'object') invalid('"cookie" must be an object of cookie attributes')
  checkKnown(given, COOKIE_NAMES, 'cookie.')

  const path = given.path ?? base.path
  if (typeof path !== 'string' || !PATH.test(path)) {
    invalid(`"cookie.path" must start with "/" and contain no ";" or control characters, got ${JSON.stringify(path)}`)
  }
  const domain = Object.hasOwn(given, 'domain') ? given.domain : base.domain
  if (domain !== undefined && (typeof domain !== 'string' || !DOMAIN.test(domain))) {
    invalid(`"cookie.domain" must be a host name like "example.com", got ${JSON.stringify(domain)}`)
  }
  const secure = given.secure ?? base.secure
  if (secure !== true && secure !== false && secure !== 'auto') {
    invalid(`"cookie.secure" must be true, false or 'auto', got ${String(secure)}`)
  }
  let sameSite = given.sameSite ?? base.sameSite
  if (typeof sameSite === 'string') sameSite = sameSite.toLowerCase() as SameSite
  if (sameSite !== 'lax' && sameSite !== 'strict' && sameSite !== 'none' && sameSite !== false) {
    invalid(`"cookie.sameSite" must be 'lax', 'strict', 'none' or false, got ${String(sameSite)}`)
  }
  const resolved: ResolvedCookieOptions = {
    path,
    domain,
    httpOnly: boolean('cookie.httpOnly', given.httpOnly, base.httpOnly),
    secure,
    sameSite,
    partitioned: boolean('cookie.partitioned', given.partitioned, base.partitioned)
  }

  // Browsers silently drop these combinations; refuse them here instead.
  if (sameSite === 'none' && secure !== true) {
    invalid('"cookie.sameSite: \'none\'" needs "cookie.secure: true" (browsers reject SameSite=None without Secure)')
  }
  if (resolved.partitioned && secure !== true) {
    invalid('"cookie.partitioned: true" needs "cookie.secure: true" (browsers reject Partitioned without Secure)')
  }
  if (cookieName.startsWith('__Secure-') && secure !== true) {
    invalid(`cookie name "${cookieName}" needs "cookie.secure: true" (the __Secure- prefix requires Secure)`)
  }
  if (cookieName.startsWith('__Host-') && (secure !== true || domain !== undefined || path !== '/')) {
    invalid(`cookie name "${cookieName}" needs "cookie.secure: true", no "cookie.domain" and "cookie.path: '/'" (the __Host- prefix requires all three)`)
  }
  return Object.freeze(resolved)
}
