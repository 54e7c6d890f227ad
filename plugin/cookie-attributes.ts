import { FST_SESSION_INVALID_OPTION } from './errors.js'

// The session cookie's attributes (Path, Domain, HttpOnly, Secure, SameSite, Partitioned,
// Priority): validated by @fastify/cookie's own serializer, the one that writes them, so nothing
// accepted here can fail at send time; then serialised once, because they are the same on every
// response of a registration (or of one `session.options()` call).

/** The SameSite attribute's values (`cookie.sameSite` also takes them capitalised, or a boolean). */
export type SameSite = 'lax' | 'strict' | 'none'
/** Chromium's Priority attribute's values (`cookie.priority`). */
export type Priority = 'low' | 'medium' | 'high'

/** Attributes of the session cookie, for the `cookie` option and `session.options()`. */
export interface CookieOptions {
  /** Path attribute. Default '/'. */
  path?: string
  /** Domain attribute. Default: none (a host-only cookie). */
  domain?: string
  /** Default true: scripts cannot read the session cookie. */
  httpOnly?: boolean
  /** Default 'auto': Secure on https requests (request.protocol, so trustProxy is honoured). */
  secure?: boolean | 'auto'
  /** Default 'lax'. `false` sends no SameSite attribute; `true` means 'strict' (as @fastify/cookie). */
  sameSite?: SameSite | Capitalize<SameSite> | boolean
  /** Default false. CHIPS partitioned cookie; needs `secure: true`. */
  partitioned?: boolean
  /** Chromium's Priority attribute. Default: none. */
  priority?: Priority | Capitalize<Priority>
}

/**
 * What `session.options()` takes: the attributes above plus the lifetime of this response's
 * cookie, like `reply.setCookie`. (At run time keys that are not cookie attributes are ignored,
 * for plugins written for @fastify/secure-session that pass their whole options object.)
 */
export interface CookieOverrides extends CookieOptions {
  /** Seconds (as @fastify/cookie): Max-Age of this response's cookie, capped at what the server accepts. */
  maxAge?: number
  /** When this response's cookie expires: a Date, or milliseconds since the epoch as @fastify/cookie takes it. */
  expires?: Date | number
}

/** The serializer @fastify/cookie decorates Fastify with (`fastify.serializeCookie`). */
export type SerializeCookie = (name: string, value: string, options: Record<string, unknown>) => string

export interface ResolvedCookieOptions {
  path: string
  domain: string | undefined
  httpOnly: boolean
  secure: boolean | 'auto'
  sameSite: SameSite | false
  partitioned: boolean
  priority: Priority | undefined
  /** What follows `name=value` in Set-Cookie (`; Path=/; HttpOnly; SameSite=Lax`), with and without Secure. */
  text: { secure: string, plain: string }
}

export const COOKIE_ATTRIBUTES: readonly string[] = ['path', 'domain', 'httpOnly', 'secure', 'sameSite', 'partitioned', 'priority']

export const DEFAULT_COOKIE_OPTIONS: CookieOptions = Object.freeze({
  path: '/',
  httpOnly: true,
  secure: 'auto',
  sameSite: 'lax',
  partitioned: false
})

function invalid (message: string): never {
  throw new FST_SESSION_INVALID_OPTION(message)
}

function flag (name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') invalid(`"cookie.${name}" must be true or false, got ${String(value)}`)
  return value
}

function lowerCase (value: unknown): unknown {
  return typeof value === 'string' ? value.toLowerCase() : value
}

/**
 * Validates the attributes in `given` over `base` (which has them all) and serialises them. Only attribute names are
 * read from `given`: callers decide what other keys mean (an error at register, ignored by
 * `session.options()`).
 */
export function resolveCookieOptions (
  given: CookieOptions,
  cookieName: string,
  base: CookieOptions,
  serialize: SerializeCookie
): ResolvedCookieOptions {
  const pick = <K extends keyof CookieOptions>(key: K): CookieOptions[K] => Object.hasOwn(given, key) ? given[key] : base[key]

  const path = pick('path')
  // The serializer accepts any path without ';', '<' or control characters; browsers replace one
  // that does not start with '/' by the request's directory, so we refuse that too.
  if (typeof path !== 'string' || !path.startsWith('/') || !accepts(serialize, { path })) {
    invalid(`"cookie.path" must start with "/" and hold only printable ASCII without ";" or "<", got ${JSON.stringify(path)}`)
  }
  const domain = pick('domain')
  if (domain !== undefined && (typeof domain !== 'string' || domain === '' || !accepts(serialize, { domain }))) {
    invalid(`"cookie.domain" must be a host name like "example.com" (letters, digits, "-" and dots), got ${JSON.stringify(domain)}`)
  }
  const secure = pick('secure')
  if (secure !== true && secure !== false && secure !== 'auto') {
    invalid(`"cookie.secure" must be true, false or 'auto', got ${String(secure)}`)
  }
  let sameSite = lowerCase(pick('sameSite'))
  if (sameSite === true) sameSite = 'strict'
  if (sameSite !== 'lax' && sameSite !== 'strict' && sameSite !== 'none' && sameSite !== false) {
    invalid(`"cookie.sameSite" must be 'lax', 'strict', 'none' or false, got ${String(sameSite)}`)
  }
  const priority = lowerCase(pick('priority'))
  if (priority !== undefined && priority !== 'low' && priority !== 'medium' && priority !== 'high') {
    invalid(`"cookie.priority" must be 'low', 'medium' or 'high', got ${String(priority)}`)
  }
  const httpOnly = flag('httpOnly', pick('httpOnly'))
  const partitioned = flag('partitioned', pick('partitioned'))

  // Browsers silently drop these combinations; refuse them here instead. Browsers match the
  // name prefixes case-insensitively (Chromium drops `__HOST-sid` without Secure too).
  if (sameSite === 'none' && secure !== true) {
    invalid('"cookie.sameSite: \'none\'" needs "cookie.secure: true" (browsers reject SameSite=None without Secure)')
  }
  if (partitioned && secure !== true) {
    invalid('"cookie.partitioned: true" needs "cookie.secure: true" (browsers reject Partitioned without Secure)')
  }
  const lowerName = cookieName.toLowerCase()
  if (lowerName.startsWith('__secure-') && secure !== true) {
    invalid(`cookie name "${cookieName}" needs "cookie.secure: true" (the __Secure- prefix requires Secure)`)
  }
  if (lowerName.startsWith('__host-') && (secure !== true || domain !== undefined || path !== '/')) {
    invalid(`cookie name "${cookieName}" needs "cookie.secure: true", no "cookie.domain" and "cookie.path: '/'" (the __Host- prefix requires all three)`)
  }

  const attributes = { path, domain, httpOnly, sameSite: sameSite === false ? undefined : sameSite, partitioned, priority }
  // Serialised with a one-letter name and no value: what follows `x=` is the attributes alone.
  const text = {
    secure: serialize('x', '', { ...attributes, secure: true }).slice(2),
    plain: serialize('x', '', { ...attributes, secure: false }).slice(2)
  }
  return Object.freeze({ path, domain, httpOnly, secure, sameSite, partitioned, priority, text })
}

/**
 * The expiry, in seconds since the epoch, that `maxAge` or `expires` in `overrides` ask for, or
 * undefined. Checked as @fastify/cookie's serializer checks them (a safe integer; a year from
 * 1601 to 9999); a negative maxAge, which the serializer would pass on, is refused too: to end a
 * session, clear it.
 */
export function resolveLifetime (overrides: CookieOverrides, now: number): number | undefined {
  const { maxAge, expires } = overrides
  if (maxAge !== undefined) {
    if (typeof maxAge !== 'number' || !Number.isSafeInteger(maxAge) || maxAge < 0) {
      invalid(`"maxAge" in session.options() is seconds, a whole number >= 0, got ${String(maxAge)}`)
    }
    return now + maxAge
  }
  if (expires === undefined) return undefined
  const date = typeof expires === 'number' ? new Date(expires) : expires
  const year = date instanceof Date ? date.getUTCFullYear() : NaN
  if (!(year >= 1601 && year <= 9999)) {
    invalid(`"expires" in session.options() must be a valid Date or milliseconds since the epoch, got ${String(expires)}`)
  }
  return Math.floor(date.getTime() / 1000)
}

function accepts (serialize: SerializeCookie, attribute: Record<string, unknown>): boolean {
  try {
    serialize('x', '', attribute)
    return true
  } catch {
    return false
  }
}
