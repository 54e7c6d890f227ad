import { MAX_COOKIES, NODE_HEADER_LIMIT } from './chunks.js'
import { MAX_COOKIE_BYTES } from './codecs/codec.js'

// The options that decide what a cookie value holds, checked for both entry points: the plugin
// and its standalone codec (options.ts, on node:crypto) and the Web codec (web/options.ts). One
// set of names, defaults, limits and messages, so one options object configures both alike.
// Platform-neutral: no Buffer, no node: import; each entry point throws its own error type.

/** A secret: a string (its UTF-8 bytes are used) or bytes (a Node Buffer is a Uint8Array too). */
export type Secret = string | Uint8Array

/**
 * The cookie format: 'signed' (the default: readable by the client, a SHA-384 MAC), 'encrypted'
 * (AES-256-GCM: the client cannot read it) or 'flask' (Flask's own session cookie, to share
 * sessions with a Flask app). See docs/formats.md.
 */
export type Format = 'signed' | 'encrypted' | 'flask'

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
   * influences would leak them through the cookie's length (CRIME, BREACH). The Web codec needs
   * CompressionStream for it; where there is none it writes values uncompressed.
   */
  compress?: boolean
  /**
   * How many cookies a session may be split across (`name`, `name.1`, `name.2`), from 1 (the
   * default) to 3. Not with 'flask': Flask reads one cookie.
   */
  maxCookies?: number
}

/** The codec options checked and completed with their defaults; secrets as bytes, current first. */
export interface CheckedCodecOptions {
  format: Format
  secrets: Uint8Array[]
  cookieName: string
  maxAge: number
  absoluteMaxAge: number
  compress: boolean
  maxCookies: number
  /** The longest value the cookies may carry: maxCookies × 4096 (names included, so an upper bound). */
  maxValueBytes: number
}

/** Throws the entry point's own FST_SESSION_INVALID_OPTION error with this message. */
export type Invalid = (message: string) => never

export const CODEC_OPTION_NAMES: readonly string[] = ['secret', 'format', 'cookieName', 'maxAge', 'absoluteMaxAge', 'compress', 'maxCookies']

/** The smallest secret accepted by our own formats: 256 bits, as the MAC and AES-256 want. */
export const MIN_SECRET_BYTES = 32

/** Per format: the shortest secret (Flask's keys are taken as they are) and whether it compresses by default. */
const FORMAT_RULES: Record<Format, { minSecretBytes: number, compress: boolean }> = {
  signed: { minSecretBytes: MIN_SECRET_BYTES, compress: true },
  encrypted: { minSecretBytes: MIN_SECRET_BYTES, compress: false },
  flask: { minSecretBytes: 1, compress: true }
}

export const DAY = 24 * 3600
/** Browsers cap cookie lifetimes at 400 days; a larger maxAge is almost surely milliseconds. */
const MAX_LIFETIME = 400 * DAY
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const utf8 = new TextEncoder()

/** Refuses any key of `object` not in `known` (`where` prefixes nested names, e.g. 'cookie.'). */
export function checkKnown (object: object, known: readonly string[], where: string, invalid: Invalid): void {
  for (const key of Object.keys(object)) {
    if (known.includes(key)) continue
    const hint = where === 'cookie.' && (key === 'maxAge' || key === 'expires')
      ? ' (the cookie\'s lifetime is the top-level "maxAge" option, in seconds)'
      : ''
    invalid(`unknown option "${where}${key}"${hint}; valid options are ${known.join(', ')}`)
  }
}

/** A lifetime option in whole seconds, at most the 400 days browsers allow. */
export function seconds (name: string, value: unknown, invalid: Invalid): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    invalid(`"${name}" must be a positive whole number of seconds, got ${String(value)}`)
  }
  if (value > MAX_LIFETIME) {
    invalid(`"${name}" is ${value} seconds, over the 400 days browsers allow; it is in seconds, not milliseconds`)
  }
  return value
}

/** A boolean option, or its default when absent. */
export function boolean (name: string, value: unknown, fallback: boolean, invalid: Invalid): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') invalid(`"${name}" must be true or false, got ${String(value)}`)
  return value
}

function cookieCount (value: unknown, format: Format, invalid: Invalid): number {
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

/** The `secret` option as bytes, current first then fallbacks (rotation order). */
function secretsFrom (secret: unknown, minBytes: number, invalid: Invalid): Uint8Array[] {
  if (secret === undefined || secret === null) {
    invalid('the "secret" option is required: pass a random string of at least 32 characters ' +
      '(e.g. from `openssl rand -base64 32`), or an array [current, ...fallbacks] to rotate keys')
  }
  const list = Array.isArray(secret) ? secret : [secret]
  if (list.length === 0) invalid('the "secret" array is empty: put the current secret first')
  return list.map((item: unknown, index) => {
    const where = Array.isArray(secret) ? `secret[${index}]` : 'secret'
    let bytes: Uint8Array
    if (typeof item === 'string') bytes = utf8.encode(item)
    else if (item instanceof Uint8Array) bytes = new Uint8Array(item) // a copy: later changes to the caller's bytes do not reach the keys
    else invalid(`"${where}" must be a string or a Buffer, got ${typeof item}`)
    if (bytes.length < minBytes) {
      invalid(`"${where}" is ${bytes.length} bytes; it must be at least ${minBytes} bytes of random data ` +
        '(e.g. `openssl rand -base64 32`)')
    }
    return bytes
  })
}

/** The codec options checked and completed; `known` lists every option name the caller accepts. */
export function checkCodecOptions (options: SessionCodecOptions, known: readonly string[], invalid: Invalid): CheckedCodecOptions {
  if (options === null || typeof options !== 'object') invalid('options must be an object with at least "secret"')
  checkKnown(options, known, '', invalid)

  const format = options.format ?? 'signed'
  if (!Object.hasOwn(FORMAT_RULES, format)) {
    invalid(`"format" must be one of ${Object.keys(FORMAT_RULES).map((f) => `'${f}'`).join(', ')}, got ${String(format)}`)
  }
  const rules = FORMAT_RULES[format]

  const cookieName = options.cookieName ?? 'session'
  if (typeof cookieName !== 'string' || !TOKEN.test(cookieName)) {
    invalid(`"cookieName" must be a non-empty cookie token (letters, digits, !#$%&'*+-.^_\`|~), got ${JSON.stringify(cookieName)}`)
  }

  const maxAge = seconds('maxAge', options.maxAge ?? 31 * DAY, invalid)
  const absoluteMaxAge = options.absoluteMaxAge === undefined ? Infinity : seconds('absoluteMaxAge', options.absoluteMaxAge, invalid)
  if (format === 'flask' && absoluteMaxAge !== Infinity) {
    invalid('"absoluteMaxAge" cannot be used with format \'flask\': Flask cookies carry no creation time; use "maxAge"')
  }
  const compress = boolean('compress', options.compress, rules.compress, invalid)
  const maxCookies = cookieCount(options.maxCookies, format, invalid)
  return {
    format,
    secrets: secretsFrom(options.secret, rules.minSecretBytes, invalid),
    cookieName,
    maxAge,
    absoluteMaxAge,
    compress,
    maxCookies,
    maxValueBytes: maxCookies * MAX_COOKIE_BYTES
  }
}
