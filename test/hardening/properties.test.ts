import { isDeepStrictEqual } from 'node:util'
import t, { type Test } from 'tap'
import fc from 'fast-check'
import type { FastifyRequest } from 'fastify'
import { loadSession } from '../../plugin/persistence.js'
import { SessionState } from '../../plugin/session.js'
import { serialize, type SessionRecord } from '../../plugin/values.js'
import type { Format } from '../../plugin/index.js'
import { buildApp, cookiePair, SECRET, resolveTestOptions } from '../helpers.js'
import { FORMATS, NOW } from './harness.js'

// Properties over every format, checked by fast-check: decoding any text never throws and gives
// a valid or an empty session; encode → decode is the identity for any storable value; any
// mutation of a valid cookie is rejected. The bulk runs against the codec and the load path
// directly; a sample of each goes through fastify.inject.
//
// CI=true runs 10,000 cases per property and format (FC_RUNS=<n> sets another count). FC_SEED=<n> replays a failure (the seed
// and the shrunk counterexample are printed when a property fails).

// FC_RUNS overrides the case count (.ci/run lowers it on the Node lines that run only the
// plugin's tests; the full line keeps 10,000). At 10,000 the file takes about two minutes on a
// busy 2-core machine: past tap's default limit, hence its own.
const RUNS = Number(process.env.FC_RUNS ?? (process.env.CI === 'true' ? 10_000 : 1_000))
const HTTP_RUNS = Math.max(50, Math.round(RUNS / 20))
t.setTimeout(600_000)
const SEED = process.env.FC_SEED === undefined ? (Math.random() * 2 ** 31) | 0 : Number(process.env.FC_SEED)
t.comment(`fast-check seed ${SEED} (replay with FC_SEED=${SEED}), ${RUNS} runs per property`)

async function holds<Ts extends unknown[]> (t: Test, name: string, property: fc.IProperty<Ts> | fc.IAsyncProperty<Ts>, numRuns = RUNS) {
  const details = await fc.check(property as fc.IAsyncProperty<Ts>, { seed: SEED, numRuns })
  if (details.failed) t.fail(`${name}\n${fc.defaultReportMessage(details) ?? ''}`)
  else t.pass(`${name}: ${details.numRuns} runs, seed ${SEED}`)
}

// ---- arbitraries ------------------------------------------------------------------------------

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const anyUnit = fc.nat(0xffff).map((code) => String.fromCharCode(code)) // lone surrogates included
const cookieUnit = fc.constantFrom(...`${B64}.=+/ %!~`)
const anyString = fc.oneof(
  fc.string({ unit: anyUnit, maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: cookieUnit, maxLength: 400 }),
  // Shaped like each format, so cases get past the first shape check into the decoders.
  fc.tuple(fc.constantFrom('s1.', 'e1.', '.', ''), fc.array(fc.string({ unit: fc.constantFrom(...B64), maxLength: 60 }), { maxLength: 7 }))
    .map(([prefix, parts]) => prefix + parts.join('.'))
)

const TAG_LIKE = [' d', ' b', ' o', ' t', ' di', ' u', ' m', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '']
const key = fc.oneof(fc.constantFrom(...TAG_LIKE), fc.string({ unit: anyUnit, maxLength: 8 })).filter((k) => k !== '__proto__')

function storable (format: Format) {
  const flask = format === 'flask'
  const date = flask
    // Flask keeps whole seconds, in years 100 to 9999 (documented in flask-tags.ts).
    ? fc.integer({ min: -58_979_923_200, max: 253_402_300_799 }).map((s) => new Date(s * 1000))
    : fc.date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true })
  const leaf = fc.oneof(
    fc.constant(null), fc.boolean(), fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0)), // JSON has no -0
    fc.string({ unit: anyUnit, maxLength: 20 }), date,
    fc.uint8Array({ maxLength: 24 }).map((bytes) => Buffer.from(bytes))
  )
  const { value } = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof({ maxDepth: 4 }, leaf, fc.array(tie('value'), { maxLength: 4 }), fc.dictionary(key, tie('value'), { maxKeys: 4, noNullPrototype: true }))
  }))
  return fc.dictionary(flask ? key.filter((k) => k !== '_permanent') : key, value, { maxKeys: 6, noNullPrototype: true }) as fc.Arbitrary<SessionRecord>
}

const meta = fc.record({
  issuedAt: fc.integer({ min: 1, max: 36 ** 6 }), // 1: second 0 is no date any cookie is issued at
  createdAt: fc.integer({ min: 1, max: 36 ** 6 }),
  id: fc.string({ unit: fc.constantFrom(...B64), minLength: 22, maxLength: 22 }),
  permanent: fc.boolean()
})

type Mutation = { kind: 'replace' | 'insert' | 'delete' | 'swap' | 'truncate', at: number, to: number, text: string }
const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('replace', 'insert', 'delete', 'swap', 'truncate'),
  at: fc.nat(),
  to: fc.nat(),
  text: fc.string({ unit: fc.oneof(cookieUnit, anyUnit), minLength: 1, maxLength: 4 })
}) as fc.Arbitrary<Mutation>

function mutate (value: string, { kind, at, to, text }: Mutation): string {
  const i = at % value.length
  const j = to % value.length
  switch (kind) {
    case 'replace': return value.slice(0, i) + text + value.slice(i + text.length)
    case 'insert': return value.slice(0, i) + text + value.slice(i)
    case 'delete': return value.slice(0, i) + value.slice(i + 1 + (j % 8))
    case 'swap': return value.slice(0, Math.min(i, j)) + value[Math.max(i, j)] + value.slice(Math.min(i, j) + 1, Math.max(i, j)) +
      value[Math.min(i, j)] + value.slice(Math.max(i, j) + 1)
    default: return value.slice(0, i)
  }
}

// ---- helpers ----------------------------------------------------------------------------------

const REASONS = new Set(['too-large', 'malformed', 'bad-signature', 'bad-payload', 'expired', 'future'])
const quietLog = { debug () {}, error () {} }

/** The plugin's own load path (size limit, codec, clocks) for one cookie value, no HTTP. */
function load (format: Format, value: string): SessionState {
  const config = resolveTestOptions({ secret: SECRET, format })
  const request = { cookies: { session: value }, log: quietLog } as unknown as FastifyRequest
  return new SessionState(request, config, loadSession).load()
}

const plain = (record: SessionRecord) => ({ ...record })

/** What @fastify/cookie hands the plugin for `session=<text>`. */
function cookieLayer (text: string): string {
  const value = text.split(';')[0]?.trim() ?? ''
  try {
    return value.includes('%') ? decodeURIComponent(value) : value
  } catch {
    return value
  }
}

for (const format of FORMATS) {
  const { codec } = resolveTestOptions({ secret: SECRET, format })

  t.test(`${format}: decoding any string never throws and gives a valid or an empty session`, async (t) => {
    await holds(t, 'codec.decode', fc.property(anyString, (value) => {
      const decoded = codec.decode(value)
      return typeof decoded === 'string' ? REASONS.has(decoded) : typeof decoded.data === 'object' && decoded.data !== null
    }))
    await holds(t, 'the load path with its limits', fc.property(anyString, (value) => {
      const state = load(format, value)
      const keys = Object.keys(state.data)
      return state.isNew ? keys.length === 0 && !state.fromCookie : state.fromCookie
    }))
    const app = await buildApp({ format }, (app) => {
      app.get('/read', async (request) => ({ keys: Object.keys(request.session), isNew: request.session.isNew }))
    })
    t.teardown(() => app.close())
    const latin1 = fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: 300 })
    await holds(t, 'over HTTP', fc.asyncProperty(fc.oneof(anyString.filter((s) => /^[\x20-\xff]*$/.test(s)), latin1), async (value) => {
      const response = await app.inject({ url: '/read', headers: { cookie: `session=${value}` } })
      return response.statusCode === 200 && response.headers['set-cookie'] === undefined &&
        (response.json().isNew === true ? response.json().keys.length === 0 : true)
    }), HTTP_RUNS)
  })

  t.test(`${format}: encode → decode is the identity for any storable value`, async (t) => {
    // A second codec with the same secret: the first remembers the cookies it issues, so decoding
    // there would not take the full verification this property is about.
    const reader = resolveTestOptions({ secret: SECRET, format }).codec
    await holds(t, 'codec round trip', fc.property(storable(format), meta, (data, m) => {
      const value = codec.encode({ ...m, data, json: serialize(data) })
      const decoded = reader.decode(value)
      if (typeof decoded === 'string') throw new Error(`refused its own cookie: ${decoded}`)
      const sameMeta = format === 'flask'
        ? decoded.issuedAt === m.issuedAt && decoded.permanent === m.permanent
        : decoded.issuedAt === m.issuedAt && decoded.createdAt === m.createdAt && decoded.id === m.id && decoded.permanent === m.permanent
      return sameMeta && isDeepStrictEqual(plain(decoded.data), data) && (decoded.json === undefined || decoded.json === serialize(decoded.data))
    }))

    await holds(t, 'a cookie remembered when issued reads as the full verification does', fc.property(storable(format), meta, (data, m) => {
      const value = codec.encode({ ...m, data, json: serialize(data) })
      const remembered = codec.decode(value)
      const verified = reader.decode(value)
      if (typeof remembered === 'string' || typeof verified === 'string') throw new Error('refused its own cookie')
      const fields = ['data', 'json', 'text', 'issuedAt', 'createdAt', 'id', 'permanent', 'keyIndex'] as const
      return fields.every((field) => isDeepStrictEqual(remembered[field], verified[field]))
    }))

    let pending: SessionRecord = {}
    const app = await buildApp({ format }, (app) => {
      app.get('/store', async (request) => { Object.assign(request.session, pending); return 'ok' })
      app.get('/check', async (request) => isDeepStrictEqual(request.session.data(), pending))
    })
    t.teardown(() => app.close())
    await holds(t, 'over HTTP (or a typed error when too large)', fc.asyncProperty(storable(format), async (data) => {
      pending = data
      const stored = await app.inject('/store')
      if (stored.statusCode === 500) return stored.json().code === 'FST_SESSION_TOO_LARGE' && stored.headers['set-cookie'] === undefined
      if (Object.keys(data).length === 0) return stored.headers['set-cookie'] === undefined
      return (await app.inject({ url: '/check', headers: { cookie: cookiePair(stored) } })).body === 'true'
    }), HTTP_RUNS)
  })

  t.test(`${format}: any mutation of a valid cookie is rejected`, async (t) => {
    const valid = fc.tuple(storable(format), meta).map(([data, m]) => codec.encode({ ...m, data, json: serialize(data) }))
    await holds(t, 'codec', fc.property(valid, mutation, (value, change) => {
      const mutated = mutate(value, change)
      fc.pre(mutated !== value)
      return typeof codec.decode(mutated) === 'string'
    }))

    const app = await buildApp({ format }, (app) => {
      app.get('/read', async (request) => Object.keys(request.session).length)
    })
    t.teardown(() => app.close())
    const realMeta = meta.map((m) => ({ ...m, issuedAt: NOW, createdAt: NOW }))
    const realValid = fc.tuple(storable(format), realMeta).map(([data, m]) => codec.encode({ ...m, data: { ...data, k: 1 }, json: serialize({ ...data, k: 1 }) }))
    const now = Date.now
    Date.now = () => NOW * 1000
    t.teardown(() => { Date.now = now })
    await holds(t, 'over HTTP', fc.asyncProperty(realValid, mutation, async (value, change) => {
      const mutated = mutate(value, change)
      // Changes the cookie layer undoes (a ';' ending the value, trimmed spaces, a %-escape of the
      // same character) leave the very same cookie: they are not mutations of it.
      fc.pre(value.length <= 4096 && /^[\x20-\xff]*$/.test(mutated) && cookieLayer(mutated) !== value)
      const response = await app.inject({ url: '/read', headers: { cookie: `session=${mutated}` } })
      return response.statusCode === 200 && response.body === '0' && response.headers['set-cookie'] === undefined
    }), HTTP_RUNS)
  })
}
