import { createCipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto'
import { deflateRawSync, deflateSync } from 'node:zlib'
import type { Test } from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { CookieSessionOptions, Format, InvalidReason } from '../../plugin/index.js'
import { buildApp, setCookieHeaders, SECRET, resolveTestOptions } from '../helpers.js'

// Shared by the hardening catalogue: which formats exist, how a holder of the secret would write
// any bytes in each format (independently of the plugin's encoders, so a codec bug cannot hide
// itself), and an app that records every rejection reason and every log line.

export const CANDIDATES = ['signed', 'encrypted', 'flask']

/** The formats this build of the plugin accepts; new ones are picked up as they are registered. */
export const FORMATS = CANDIDATES.filter((format) => {
  try {
    resolveTestOptions({ secret: SECRET, format: format as Format })
    return true
  } catch {
    return false
  }
}) as Format[]

export const NOW = 1_800_000_000
export const DAY = 24 * 3600

/** The time fields of a cookie: a number is written as the format writes it, a string verbatim. */
export type TimeField = number | string

export interface ForgeOptions {
  issued?: TimeField
  created?: TimeField
  id?: string
  permanent?: string
  name?: string
  secret?: string
  /** A key-derivation purpose other than the format's own (same secret, another use). */
  purpose?: string
  /** Deflate the payload and mark it so (flask: zlib and a leading '.'; signed and encrypted: raw DEFLATE and flag 2). */
  compress?: boolean
  /** The format version to write (default: the current one, s2 / e2); s1 and e1 are still read. */
  version?: 1 | 2
}

const hkdf = (secret: string, purpose: string) =>
  Buffer.from(hkdfSync('sha256', Buffer.from(secret), 'fastify-cookie-session', purpose, 32))

const b64 = (bytes: Buffer) => bytes.toString('base64url')
const base36 = (time: TimeField) => typeof time === 'number' ? time.toString(36) : time

function flaskTime (time: TimeField): string {
  if (typeof time === 'string') return time
  let hex = time.toString(16)
  if (hex.length % 2 === 1) hex = `0${hex}`
  return b64(Buffer.from(hex, 'hex'))
}

/** A cookie value carrying `payload` (the JSON bytes) exactly as someone holding the secret would sign it. */
export function forge (format: Format, payload: string | Buffer, options: ForgeOptions = {}): string {
  const {
    issued = NOW, created = issued, id = 'A'.repeat(22), permanent = '0', name = 'session', secret = SECRET
  } = options
  const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload
  const version = options.version ?? (format === 'signed' ? 3 : 2)
  const deflated = options.compress === true
  // The flags digit of s2/e2: 1 = permanent, + 2 = deflated (a non-digit `permanent` is written verbatim).
  const flags = deflated && /^\d$/.test(permanent) ? String(Number(permanent) + 2) : permanent
  switch (format) {
    case 'signed': {
      const text = `s${version}.${b64(deflated ? deflateRawSync(bytes) : bytes)}.${base36(issued)}.${base36(created)}.${id}.${flags}`
      if (version === 3) { // AMAC: SHA-384 of key ‖ message, 43 base64url characters kept
        const key = hkdf(secret, options.purpose ?? 'fastify-cookie-session signed cookie v3 (AMAC-SHA384)')
        return `${text}.${b64(createHash('sha384').update(key).update(`${name}=${text}`).digest()).slice(0, 43)}`
      }
      const key = hkdf(secret, options.purpose ?? 'fastify-cookie-session signed cookie v1')
      return `${text}.${b64(createHmac('sha256', key).update(`${name}=${text}`).digest())}`
    }
    case 'encrypted': {
      const key = hkdf(secret, options.purpose ?? 'fastify-cookie-session encrypted cookie v1')
      const iv = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 })
      cipher.setAAD(Buffer.from(`e${version}.${name}`))
      const head = Buffer.from(`${base36(issued)}.${base36(created)}.${id}.${flags}.`)
      const body = Buffer.concat([cipher.update(Buffer.concat([head, deflated ? deflateRawSync(bytes) : bytes])), cipher.final()])
      return `e${version}.${b64(Buffer.concat([iv, body, cipher.getAuthTag()]))}`
    }
    case 'flask': {
      // itsdangerous: key = HMAC-SHA1(secret, salt), signature = HMAC-SHA1(key, payload.timestamp).
      const key = createHmac('sha1', secret).update(options.purpose ?? 'cookie-session').digest()
      const text = `${deflated ? `.${b64(deflateSync(bytes))}` : b64(bytes)}.${flaskTime(issued)}`
      return `${text}.${b64(createHmac('sha1', key).update(text).digest())}`
    }
    default:
      throw new Error(`no forger for format ${String(format)}: add one to test/hardening/harness.ts`)
  }
}

/** An `s3` value for any `text` (before its MAC), signed as a holder of the secret would sign it. */
export function signCurrent (text: string, { name = 'session', secret = SECRET }: { name?: string, secret?: string } = {}): string {
  const key = hkdf(secret, 'fastify-cookie-session signed cookie v3 (AMAC-SHA384)')
  return `${text}.${b64(createHash('sha384').update(key).update(`${name}=${text}`, 'utf8').digest()).slice(0, 43)}`
}

/** Where each format keeps its base64url fields, for the non-canonical spelling tests. */
export function base64urlSegments (format: Format, value: string): Array<[number, number]> {
  const parts = value.split('.')
  const spans: Array<[number, number]> = []
  let offset = 0
  parts.forEach((part, index) => {
    const isB64 = format === 'signed'
      ? index === 1 || index === 4 || index === 6
      : format === 'encrypted' ? index === 1 : part.length > 0
    if (isB64 && part.length > 0) spans.push([offset, offset + part.length])
    offset += part.length + 1
  })
  return spans
}

export interface Harness {
  app: FastifyInstance
  reasons: InvalidReason[]
  logs: string[]
}

/** An app in `format` with the routes the catalogue drives; logs everything down to debug. */
export async function harness (t: Test, format: Format, options: Partial<CookieSessionOptions> = {}): Promise<Harness> {
  const reasons: InvalidReason[] = []
  const logs: string[] = []
  const app = await buildApp({ format, onInvalidCookie: (reason) => { reasons.push(reason) }, ...options }, (app) => {
    app.get('/read', async (request) => ({ keys: Object.keys(request.session), isNew: request.session.isNew }))
    app.get('/write', async (request) => { request.session.user = 'kimi'; request.session.n = 1; return 'ok' })
    // About 2 KB of repetitive JSON: deflated by the formats that compress.
    app.get('/write-large', async (request) => {
      request.session.items = Array.from({ length: 60 }, (_, i) => ({ sku: `SKU-${1000 + i}`, qty: i % 3 }))
      return 'ok'
    })
    // About 9 KB that does not compress: three cookies with maxCookies 3.
    app.get('/write-huge', async (request) => { request.session.blob = randomBytes(6600).toString('base64'); return 'ok' })
    app.get('/permanent', async (request) => { request.session.permanent = true; request.session.user = 'kimi'; return 'ok' })
    app.get('/data', async (request) => request.session.data())
    app.get('/plain', async () => 'plain')
  }, { logger: { level: 'trace', stream: { write (line: string) { logs.push(line) } } } })
  t.teardown(() => app.close())
  return { app, reasons, logs }
}

export function valueOf (response: LightMyRequestResponse, name = 'session'): string {
  const header = setCookieHeaders(response).find((h) => h.startsWith(`${name}=`))
  if (header === undefined) throw new Error(`no ${name} cookie in ${JSON.stringify(response.headers['set-cookie'])}`)
  return header.slice(name.length + 1, header.indexOf(';'))
}

export interface Outcome { status: number, keys: string[], isNew: boolean, setCookie: string[] }

/** GET /read with a raw Cookie header: what the route saw and what came back. */
export async function read (app: FastifyInstance, cookieHeader: string | undefined): Promise<Outcome> {
  const response = await app.inject({ url: '/read', headers: cookieHeader === undefined ? {} : { cookie: cookieHeader } })
  const body = response.statusCode === 200 ? response.json() : { keys: ['<not 200>'], isNew: false }
  return { status: response.statusCode, keys: body.keys, isNew: body.isNew, setCookie: setCookieHeaders(response) }
}

export const EMPTY: Outcome = { status: 200, keys: [], isNew: true, setCookie: [] }

/**
 * Sends every cookie value and returns those that did not give an empty new session, or whose
 * value (when distinctive) reached the logs. One assertion per batch keeps the TAP output short.
 */
export async function notIgnored (h: Harness, values: string[], name = 'session'): Promise<string[]> {
  const failures: string[] = []
  for (const value of values) {
    const before = h.logs.length
    const outcome = await read(h.app, `${name}=${value}`)
    const leaked = value.length >= 12 && h.logs.slice(before).some((line) => line.includes(value))
    if (outcome.status !== 200 || outcome.keys.length !== 0 || !outcome.isNew || outcome.setCookie.length !== 0 || leaked) {
      failures.push(`${JSON.stringify(value.slice(0, 80))} → ${JSON.stringify(outcome)}${leaked ? ' (value logged)' : ''}`)
    }
  }
  return failures
}

/** The `name=value` pairs a response sets, joined as a browser would send them back. */
export function cookieHeaderOf (response: LightMyRequestResponse): string {
  return setCookieHeaders(response).map((header) => header.slice(0, header.indexOf(';'))).join('; ')
}

/** Like notIgnored, for whole Cookie headers (several pieces of one session). */
export async function headersNotIgnored (h: Harness, headers: string[]): Promise<string[]> {
  const failures: string[] = []
  for (const header of headers) {
    const outcome = await read(h.app, header)
    if (outcome.status !== 200 || outcome.keys.length !== 0 || !outcome.isNew || outcome.setCookie.length !== 0) {
      failures.push(`${JSON.stringify(header.slice(0, 80))}… → ${JSON.stringify(outcome)}`)
    }
  }
  return failures
}

/** A deterministic generator, so a failing garbage case can be replayed. */
export function prng (seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let x = state
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}
