import Fastify, { type FastifyInstance } from 'fastify'
import fastifyCookie from '@fastify/cookie'
import cookieSession, { type CookieSessionOptions } from '../../plugin/index.js'
import { createSessionCodec } from '../../plugin/session-codec.js'
import type { SessionCodecOptions } from '../../plugin/web/index.js'
import { describe, describeSession, undescribe, type Described, type DescribedSession } from './fixtures/described.js'

// The vectors both entry points are fed (test/edge/web-codec.test.ts in this process, and
// web-runtimes.test.ts in every runtime): cookies the Fastify plugin really wrote, in each format,
// with and without key rotation, compression and several cookies, plus cookies it must refuse.
// What each should decode to is what the plugin's own standalone codec decodes it to.

export const SECRET = 'web-codec-secret-0123456789-abcdefghijklmnopqrst'
export const OLD_SECRET = 'web-codec-old-secret-0123456789-abcdefghijklmn'
export const STRANGER = 'web-codec-stranger-0123456789-abcdefghijklmnopq'
const DAY = 24 * 3600

/** Sessions worth carrying: every value type, tag look-alikes, text beyond ASCII. */
export const DATA: Record<string, Described> = {
  small: ['dict', { user: 'ada', n: 1 }],
  typed: ['dict', {
    user: 'K\u00edmi \u2713 \ud83d\ude00',
    when: ['date', '2024-02-29T12:34:56.789Z'],
    bytes: ['bytes', '0001fafbff'],
    list: ['list', [1.5, null, true, ['dict', { ' d': 'not a tag' }], ['list', []]]],
    looksLikeBytes: ['dict', { ' b': 12 }],
    empty: ['dict', {}]
  }],
  // Compresses well: well over COMPRESS_FROM_BYTES of repetitive JSON.
  large: ['dict', { user: 'ada', roles: ['list', Array.from({ length: 40 }, (_, i) => `role-${i % 5}`)], note: 'lorem ipsum '.repeat(60) }],
}

/** Random text that barely compresses, too much for one cookie (for maxCookies 3). */
export const HUGE: Described = ['dict', { blob: randomText(8500) }]

/** `length` characters of the base64url alphabet from a fixed xorshift sequence: the same every run, incompressible. */
function randomText (length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  let state = 2463534242
  let text = ''
  for (let i = 0; i < length; i++) {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    text += alphabet[(state >>> 0) % 64]
  }
  return text
}

/** Flask sessions: values Flask itself can hold (no tag look-alikes of ours; dates to the second). */
export const FLASK_DATA: Record<string, Described> = {
  small: ['dict', { user: 'ada', n: 1 }],
  typed: ['dict', { user: 'K\u00edmi \u2713', when: ['date', '2024-02-29T12:34:56.000Z'], bytes: ['bytes', '0001fafbff'], list: ['list', [1.5, null, true]] }],
  large: DATA.large as Described
}

/** One plugin configuration the vectors are written with and read back under. */
export interface Config {
  name: string
  /** The plugin's options when writing. */
  write: SessionCodecOptions
  /** The codec options both entry points read with (rotation: [current, old]). */
  read: SessionCodecOptions
  /** Which DATA entries it writes. */
  data: Record<string, Described>
}

export const CONFIGS: Config[] = [
  { name: 'signed', write: { secret: SECRET }, read: { secret: SECRET }, data: DATA },
  { name: 'signed, uncompressed', write: { secret: SECRET, compress: false }, read: { secret: SECRET, compress: false }, data: { large: DATA.large as Described } },
  { name: 'signed, rotated', write: { secret: OLD_SECRET }, read: { secret: [SECRET, OLD_SECRET] }, data: { small: DATA.small as Described, large: DATA.large as Described } },
  { name: 'signed, 3 cookies', write: { secret: SECRET, maxCookies: 3, cookieName: 'sid' }, read: { secret: SECRET, maxCookies: 3, cookieName: 'sid' }, data: { typed: DATA.typed as Described, huge: HUGE } },
  { name: 'encrypted', write: { secret: SECRET, format: 'encrypted' }, read: { secret: SECRET, format: 'encrypted' }, data: { small: DATA.small as Described, typed: DATA.typed as Described, large: DATA.large as Described } },
  { name: 'encrypted, compressed', write: { secret: SECRET, format: 'encrypted', compress: true }, read: { secret: SECRET, format: 'encrypted', compress: true }, data: { large: DATA.large as Described } },
  { name: 'encrypted, rotated, 3 cookies', write: { secret: OLD_SECRET, format: 'encrypted', maxCookies: 3 }, read: { secret: [SECRET, OLD_SECRET], format: 'encrypted', maxCookies: 3 }, data: { small: DATA.small as Described, huge: HUGE } },
  { name: 'flask', write: { secret: SECRET, format: 'flask' }, read: { secret: SECRET, format: 'flask' }, data: FLASK_DATA },
  { name: 'flask, rotated', write: { secret: OLD_SECRET, format: 'flask' }, read: { secret: [SECRET, OLD_SECRET], format: 'flask' }, data: { large: FLASK_DATA.large as Described } }
]

/** A Fastify app with the plugin: GET /write/:name stores DATA[name] (permanent when ?permanent), GET /read answers what it loaded. */
export async function pluginApp (options: SessionCodecOptions, data: Record<string, Described> = DATA): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(fastifyCookie)
  await app.register(cookieSession, options as CookieSessionOptions)
  app.get('/write/:name', async (request) => {
    const { name } = request.params as { name: string }
    request.session.clear()
    for (const [key, value] of Object.entries(undescribe(data[name] as Described) as object)) request.session.set(key, value)
    request.session.permanent = (request.query as Record<string, string>).permanent !== undefined
    return 'ok'
  })
  app.get('/read', async (request) => ({
    isNew: request.session.isNew,
    data: describe(request.session.data()),
    sessionId: request.session.sessionId,
    permanent: request.session.permanent
  }))
  await app.ready()
  return app
}

/** The session cookies (every piece) a response sets, as a name → value record. */
export function setCookies (headers: Record<string, unknown>): Record<string, string> {
  const header = headers['set-cookie']
  const lines = header === undefined ? [] : Array.isArray(header) ? header as string[] : [String(header)]
  const cookies: Record<string, string> = {}
  for (const line of lines) {
    const pair = line.split(';')[0] as string
    const value = pair.slice(pair.indexOf('=') + 1)
    if (value !== '') cookies[pair.slice(0, pair.indexOf('='))] = value
  }
  return cookies
}

/** A Cookie header carrying `cookies`. */
export function cookieHeader (cookies: Record<string, string> | Array<[string, string]>): string {
  return (Array.isArray(cookies) ? cookies : Object.entries(cookies)).map(([name, value]) => `${name}=${value}`).join('; ')
}

export interface Vector {
  name: string
  /** What both entry points read with. */
  options: SessionCodecOptions
  /** Every cookie the plugin set (the pieces for several cookies). */
  cookies: Record<string, string>
  /** The pieces joined: what `decode` is given. */
  value: string
  /** What the plugin's own standalone codec finds in it: the session, or the reason it refuses it. */
  expected: { session: DescribedSession } | { reason: string }
}

/** Whether `value`'s payload was deflated (for checking the vectors cover compression). */
export function isCompressed (value: string): boolean {
  return /^s[23]\.[^.]*\.[^.]+\.[^.]+\.[^.]+\.[23]\./.test(value) || value.startsWith('.')
}

function expectedFor (options: SessionCodecOptions, value: string): Vector['expected'] {
  const result = createSessionCodec(options as never).inspect(value)
  return 'reason' in result ? result : { session: describeSession(result.session, options.format !== 'flask') }
}

/** Runs `write` with Date.now() moved by `seconds`. */
async function atOffset<T> (seconds: number, write: () => Promise<T>): Promise<T> {
  const realNow = Date.now
  Date.now = () => realNow() + seconds * 1000
  try {
    return await write()
  } finally {
    Date.now = realNow
  }
}

async function written (app: FastifyInstance, name: string, permanent = false): Promise<Record<string, string>> {
  const response = await app.inject(`/write/${name}${permanent ? '?permanent' : ''}`)
  if (response.statusCode !== 200) throw new Error(`${name}: ${response.statusCode} ${response.body}`)
  return setCookies(response.headers)
}

/** Changes one character inside the value (not the first, not the MAC's last), keeping its shape. */
export function tamper (value: string, at = 12): string {
  const character = value[at] === 'A' ? 'B' : 'A'
  return value.slice(0, at) + character + value.slice(at + 1)
}

/** Every vector: valid cookies of each configuration, then the ones that must be refused. */
export async function pluginVectors (): Promise<Vector[]> {
  const vectors: Vector[] = []
  const add = (name: string, options: SessionCodecOptions, cookies: Record<string, string>) => {
    const cookieName = options.cookieName ?? 'session'
    const value = [cookies[cookieName], cookies[`${cookieName}.1`], cookies[`${cookieName}.2`]].filter((piece) => piece !== undefined).join('')
    vectors.push({ name, options, cookies, value, expected: expectedFor(options, value) })
  }
  for (const config of CONFIGS) {
    const app = await pluginApp(config.write, config.data)
    for (const name of Object.keys(config.data)) add(`${config.name}: ${name}`, config.read, await written(app, name))
    add(`${config.name}: small, permanent`, config.read, await written(app, Object.keys(config.data)[0] as string, true))

    // Refused, each for its reason.
    const cookieName = config.write.cookieName ?? 'session'
    const valid = await written(app, Object.keys(config.data)[0] as string)
    const value = valid[cookieName] as string
    add(`${config.name}: tampered`, config.read, { [cookieName]: tamper(value) })
    add(`${config.name}: expired`, config.read, await atOffset(-32 * DAY, () => written(app, Object.keys(config.data)[0] as string)))
    add(`${config.name}: future`, config.read, await atOffset(3600, () => written(app, Object.keys(config.data)[0] as string)))
    add(`${config.name}: another key`, { ...config.read, secret: STRANGER }, valid)
    if (config.read.format !== 'flask') { // Flask binds nothing to the cookie name
      const otherName = 'other'
      add(`${config.name}: under another cookie name`, { ...config.read, cookieName: otherName }, { [otherName]: value })
    }
    await app.close()
  }
  return vectors
}
