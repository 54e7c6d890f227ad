import { randomBytes } from 'node:crypto'

// The example's settings, read from the environment once at start. A wrong value stops the
// server with a message naming the variable; an empty variable counts as unset.

export type CookieSecure = boolean | 'auto'
export type CookieSameSite = 'lax' | 'strict' | 'none' | false

export interface ExampleConfig {
  host: string
  port: number
  secret: string
  /** SESSION_FORMAT as given; the plugin decides which formats exist. */
  format: string | undefined
  /** Seconds; the plugin's maxAge (Flask's PERMANENT_SESSION_LIFETIME). */
  lifetime: number
  permanent: boolean
  cookieSecure: CookieSecure
  cookieSameSite: CookieSameSite
  /** SESSION_MAX_COOKIES: how many cookies a session may be split across (the plugin's maxCookies). */
  maxCookies: number
  /** SESSION_COMPRESS; undefined leaves the plugin's default for the format (on, except for 'encrypted'). */
  compress: boolean | undefined
  username: string
  password: string
  /** REDIS_URL: where "log out everywhere" keeps its times; unset = in memory, this process only. */
  redisUrl: string | undefined
  /** Things the operator should know at start, logged by the server. */
  warnings: string[]
}

export type Environment = Record<string, string | undefined>

/** Flask's default PERMANENT_SESSION_LIFETIME, also the plugin's default maxAge. */
const DEFAULT_LIFETIME = 31 * 24 * 3600
const DEFAULT_PASSWORD = 'secret'
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/
/**
 * The plugin's own limit on maxCookies (three 4 KB cookies stay within Node's 16 KiB of request
 * headers); the plugin checks it too, this only gives the variable's range in its own words.
 */
const MOST_COOKIES = 3

export class ConfigError extends Error {
  constructor (readonly variable: string, message: string) {
    super(`${variable} ${message}`)
    this.name = 'ConfigError'
  }
}

function read (env: Environment, name: string): string | undefined {
  const value = env[name]
  return value === undefined || value === '' ? undefined : value
}

function wholeNumber (env: Environment, name: string, fallback: number, min: number, max: number): number {
  const text = read(env, name)
  if (text === undefined) return fallback
  const value = /^\d+$/.test(text) ? Number(text) : NaN
  if (!(value >= min && value <= max)) {
    throw new ConfigError(name, `must be a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`)
  }
  return value
}

function choice<T> (env: Environment, name: string, fallback: T, choices: Record<string, T>): T {
  const text = read(env, name)
  if (text === undefined) return fallback
  const key = text.toLowerCase()
  if (!Object.hasOwn(choices, key)) {
    throw new ConfigError(name, `must be one of ${Object.keys(choices).join(', ')}, got ${JSON.stringify(text)}`)
  }
  return choices[key] as T
}

/**
 * A redis:// or rediss:// URL as node-redis reads it. The message never repeats the value: it
 * may hold a password.
 */
function redisUrl (env: Environment): string | undefined {
  const text = read(env, 'REDIS_URL')
  if (text === undefined) return undefined
  const expected = 'must be a URL like redis://localhost:6379 (redis://[user:password@]host[:port][/database], or rediss:// for TLS)'
  if (!URL.canParse(text)) throw new ConfigError('REDIS_URL', `${expected}; this is not a URL`)
  const url = new URL(text)
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigError('REDIS_URL', `${expected}, got one starting with ${JSON.stringify(url.protocol)}`)
  }
  if (url.hostname === '') throw new ConfigError('REDIS_URL', `${expected}; this one has no host`)
  if (!/^(\/\d*)?$/.test(url.pathname)) throw new ConfigError('REDIS_URL', `${expected}; the path must be a database number`)
  return text
}

const BOOLEAN = { 1: true, true: true, yes: true, on: true, 0: false, false: false, no: false, off: false }

export function readConfig (env: Environment = process.env): ExampleConfig {
  const warnings: string[] = []
  const host = read(env, 'HOST') ?? '127.0.0.1'
  const port = wholeNumber(env, 'PORT', 3000, 0, 65535)

  let secret = read(env, 'SESSION_SECRET')
  if (secret === undefined) {
    secret = randomBytes(32).toString('base64url')
    warnings.push('SESSION_SECRET is not set: using a random secret for this run only, so sessions will not ' +
      'survive a restart. Set SESSION_SECRET to 32+ random characters (e.g. `openssl rand -base64 32`).')
  }

  const cookieSecure = choice<CookieSecure>(env, 'SESSION_COOKIE_SECURE', 'auto', { ...BOOLEAN, auto: 'auto' })
  const cookieSameSite = choice<CookieSameSite>(env, 'SESSION_COOKIE_SAMESITE', 'lax',
    { lax: 'lax', strict: 'strict', none: 'none', false: false })
  if (cookieSameSite === 'none' && cookieSecure !== true) {
    throw new ConfigError('SESSION_COOKIE_SAMESITE', '"none" needs SESSION_COOKIE_SECURE=true (browsers reject SameSite=None without Secure)')
  }

  const password = read(env, 'DEMO_PASSWORD') ?? DEFAULT_PASSWORD
  if (password === DEFAULT_PASSWORD && !LOOPBACK.test(host)) {
    warnings.push(`HOST is ${host}, reachable from other machines, and DEMO_PASSWORD is the default: set DEMO_PASSWORD.`)
  }

  return {
    host,
    port,
    secret,
    format: read(env, 'SESSION_FORMAT'),
    lifetime: wholeNumber(env, 'SESSION_LIFETIME', DEFAULT_LIFETIME, 1, Number.MAX_SAFE_INTEGER),
    permanent: choice(env, 'SESSION_PERMANENT', false, BOOLEAN),
    cookieSecure,
    cookieSameSite,
    maxCookies: wholeNumber(env, 'SESSION_MAX_COOKIES', 1, 1, MOST_COOKIES),
    compress: choice<boolean | undefined>(env, 'SESSION_COMPRESS', undefined, BOOLEAN),
    username: read(env, 'DEMO_USERNAME') ?? 'admin',
    password,
    redisUrl: redisUrl(env),
    warnings
  }
}

// The plugin validates its options itself (the secret's length per format, the format's name,
// the lifetime's upper bound, several cookies with 'flask'); its messages name options, the
// operator set variables.
const OPTION_VARIABLES: Record<string, string> = {
  secret: 'SESSION_SECRET',
  format: 'SESSION_FORMAT',
  maxAge: 'SESSION_LIFETIME',
  permanent: 'SESSION_PERMANENT',
  maxCookies: 'SESSION_MAX_COOKIES',
  compress: 'SESSION_COMPRESS',
  'cookie.secure': 'SESSION_COOKIE_SECURE',
  'cookie.sameSite': 'SESSION_COOKIE_SAMESITE'
}

const LISTEN_VARIABLES: Record<string, string> = {
  EADDRINUSE: 'PORT',
  EACCES: 'PORT',
  EADDRNOTAVAIL: 'HOST',
  ENOTFOUND: 'HOST',
  EAI_AGAIN: 'HOST'
}

/** A one-line explanation of why the server could not start, naming the variable to fix when known. */
export function describeStartError (error: unknown): string {
  if (error instanceof ConfigError) return error.message
  const { code, message } = error as { code?: string, message?: string }
  const text = message ?? String(error)
  if (code === 'FST_SESSION_INVALID_OPTION') {
    const option = /"([\w.]+)/.exec(text)?.[1]
    const variable = option === undefined ? undefined : OPTION_VARIABLES[option]
    if (variable !== undefined) return `Invalid ${variable}: ${text}`
  }
  const variable = code === undefined ? undefined : LISTEN_VARIABLES[code]
  if (variable !== undefined) return `${variable}: cannot listen (${code}): ${text}`
  return text
}
