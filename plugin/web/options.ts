import { MAX_COOKIES, NODE_HEADER_LIMIT } from '../chunks.js'
import { MAX_COOKIE_BYTES } from '../codecs/codec.js'
import { invalidOption } from './errors.js'
import { utf8 } from './platform.js'

// The standalone codec's options, checked as the plugin checks them (plugin/options.ts and
// keys.ts, which need node:crypto and so cannot be shared as they are): same names, defaults,
// limits and messages, so one options object configures both entry points alike.
// test/edge/web-codec.test.ts holds the two to the same answers for every mistake.

/** A secret: text (its UTF-8 bytes are used) or bytes (a Node Buffer is a Uint8Array too). */
export type Secret = string | Uint8Array

/** A cookie format: 'signed' (HMAC-SHA256), 'encrypted' (AES-256-GCM) or 'flask' (Flask's own). */
export type Format = 'signed' | 'encrypted' | 'flask'

/** What decides how a session is written into a cookie value and read back: the plugin's codec options. */
export interface SessionCodecOptions {
  /** Required. >= 32 bytes (any length for 'flask'), or [current, ...fallbacks] to rotate keys: the first signs, all verify. */
  secret: Secret | Secret[]
  /** Cookie format, default 'signed'. */
  format?: Format
  /** Default 'session' (Flask's). Bound into the MAC (signed) or the AAD (encrypted). */
  cookieName?: string
  /** Seconds. Age limit of every cookie, from when it was written. Default 31 days. */
  maxAge?: number
  /** Seconds since the session was created after which it ends, however active. Default: none. */
  absoluteMaxAge?: number
  /**
   * Deflate the payload when that makes the cookie shorter. Default true for 'signed' and
   * 'flask', false for 'encrypted' (CRIME, BREACH). Needs CompressionStream; without it values
   * are written uncompressed.
   */
  compress?: boolean
  /** How many cookies a session may be split across (`name`, `name.1`, `name.2`), 1 (default) to 3. Not with 'flask'. */
  maxCookies?: number
}

export interface ResolvedWebOptions {
  format: Format
  secrets: Uint8Array[]
  cookieName: string
  maxAge: number
  absoluteMaxAge: number
  compress: boolean
  maxCookies: number
  /** The longest value the cookies may carry: maxCookies × 4096. */
  maxValueBytes: number
}

const FORMATS: Record<Format, { minSecretBytes: number, compress: boolean }> = {
  signed: { minSecretBytes: 32, compress: true },
  encrypted: { minSecretBytes: 32, compress: false },
  flask: { minSecretBytes: 1, compress: true }
}

const DAY = 24 * 3600
/** Browsers cap cookie lifetimes at 400 days; a larger maxAge is almost surely milliseconds. */
const MAX_LIFETIME = 400 * DAY
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const OPTION_NAMES = ['secret', 'format', 'cookieName', 'maxAge', 'absoluteMaxAge', 'compress', 'maxCookies']

function invalid (message: string): never {
  throw invalidOption(message)
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

function cookieCount (value: unknown, format: Format): number {
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
  if (value > 1 && format === 'flask') {
    invalid('"maxCookies" above 1 cannot be used with format \'flask\': Flask reads its session from one cookie and would ' +
      'never see the others; store less in the session, or let compression (on by default) shrink it')
  }
  return value
}

/** The `secret` option as byte arrays, current first (as keys.ts's secretsFrom). */
function secretsFrom (secret: unknown, minBytes: number): Uint8Array[] {
  if (secret === undefined || secret === null) {
    invalid('the "secret" option is required: pass a random string of at least 32 characters ' +
      '(e.g. from `openssl rand -base64 32`), or an array [current, ...fallbacks] to rotate keys')
  }
  const list = Array.isArray(secret) ? secret : [secret]
  if (list.length === 0) invalid('the "secret" array is empty: put the current secret first')
  return list.map((item: unknown, index) => {
    const where = Array.isArray(secret) ? `secret[${index}]` : 'secret'
    let bytes: Uint8Array
    if (typeof item === 'string') bytes = utf8(item)
    else if (item instanceof Uint8Array) bytes = new Uint8Array(item)
    else invalid(`"${where}" must be a string or a Buffer, got ${typeof item}`)
    if (bytes.length < minBytes) {
      invalid(`"${where}" is ${bytes.length} bytes; it must be at least ${minBytes} bytes of random data ` +
        '(e.g. `openssl rand -base64 32`)')
    }
    return bytes
  })
}

/** The options checked and completed with their defaults; throws FST_SESSION_INVALID_OPTION saying what to change. */
export function resolveWebOptions (options: SessionCodecOptions): ResolvedWebOptions {
  if (options === null || typeof options !== 'object') invalid('options must be an object with at least "secret"')
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.includes(key)) invalid(`unknown option "${key}"; valid options are ${OPTION_NAMES.join(', ')}`)
  }

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
  const compress = options.compress ?? spec.compress
  if (typeof compress !== 'boolean') invalid(`"compress" must be true or false, got ${String(compress)}`)
  const maxCookies = cookieCount(options.maxCookies, format)

  return {
    format,
    secrets: secretsFrom(options.secret, spec.minSecretBytes),
    cookieName,
    maxAge,
    absoluteMaxAge,
    compress,
    maxCookies,
    maxValueBytes: maxCookies * MAX_COOKIE_BYTES
  }
}
