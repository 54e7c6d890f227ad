import { isDeepStrictEqual } from 'node:util'
import t, { type Test } from 'tap'
import fc from 'fast-check'
import { serialize, type SessionRecord } from '../../plugin/values.js'
import { buildApp, SECRET, resolveTestOptions } from '../helpers.js'
import { cookieHeaderOf, FORMATS, NOW, prng } from './harness.js'

// The properties of properties.test.ts for large sessions: compressed payloads (every format with
// compress: true) and sessions split across three cookies. Round trips are the identity, and any
// change to a compressed value or to any piece of a split one gives an empty session.
//
// CI=true runs more cases; FC_SEED=<n> replays a failure.

const RUNS = Math.round(Number(process.env.FC_RUNS ?? (process.env.CI === 'true' ? 10_000 : 1_500)) / 5)
const HTTP_RUNS = Math.max(20, Math.round(RUNS / 13))
const SEED = process.env.FC_SEED === undefined ? (Math.random() * 2 ** 31) | 0 : Number(process.env.FC_SEED)
t.comment(`fast-check seed ${SEED} (replay with FC_SEED=${SEED})`)

async function holds<Ts extends unknown[]> (t: Test, name: string, property: fc.IProperty<Ts> | fc.IAsyncProperty<Ts>, numRuns = RUNS) {
  const details = await fc.check(property as fc.IAsyncProperty<Ts>, { seed: SEED, numRuns })
  if (details.failed) t.fail(`${name}\n${fc.defaultReportMessage(details) ?? ''}`)
  else t.pass(`${name}: ${details.numRuns} runs, seed ${SEED}`)
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** Sessions of 0.3 to 3 KB of repetitive JSON: what compression is for. */
const compressible: fc.Arbitrary<SessionRecord> = fc.record({
  user: fc.record({ id: fc.nat(), name: fc.string({ maxLength: 12 }) }, { noNullPrototype: true }),
  items: fc.array(fc.record({ sku: fc.constantFrom('SKU-1', 'SKU-22', 'SKU-333'), qty: fc.nat(9), note: fc.constantFrom('', 'gift', 'gift wrap') }, { noNullPrototype: true }), { minLength: 10, maxLength: 80 })
}, { noNullPrototype: true })

/**
 * Sessions of 5 to 8 KB of JSON that do not compress: 7 to 11 KB once base64url-encoded in the
 * cookie, so two or three cookies. The bytes come
 * from a seeded generator: fast-check builds arrays of thousands of elements slowly.
 */
const incompressible: fc.Arbitrary<SessionRecord> = fc.record({ length: fc.integer({ min: 3800, max: 6000 }), seed: fc.nat(), n: fc.nat() })
  .map(({ length, seed, n }) => {
    const random = prng(seed)
    return { blob: Buffer.from(Array.from({ length }, () => Math.floor(random() * 256))).toString('base64'), n }
  })

const meta = fc.record({
  issuedAt: fc.integer({ min: 1, max: 36 ** 6 }),
  createdAt: fc.integer({ min: 1, max: 36 ** 6 }),
  id: fc.string({ unit: fc.constantFrom(...B64), minLength: 22, maxLength: 22 }),
  permanent: fc.boolean()
})

const change = fc.record({ at: fc.nat(), text: fc.string({ unit: fc.constantFrom(...`${B64}.`), minLength: 1, maxLength: 3 }) })

function changed (value: string, { at, text }: { at: number, text: string }): string {
  const i = at % value.length
  return value.slice(0, i) + text + value.slice(i + text.length)
}

for (const format of FORMATS) {
  t.test(`${format}, compress: true: round trips, and any change to a compressed value is refused`, async (t) => {
    const { codec } = resolveTestOptions({ secret: SECRET, format, compress: true })
    const reader = resolveTestOptions({ secret: SECRET, format, compress: true }).codec
    await holds(t, 'encode → decode is the identity', fc.property(compressible, meta, (data, m) => {
      const value = codec.encode({ ...m, data, json: serialize(data) })
      const decoded = reader.decode(value)
      return typeof decoded !== 'string' && isDeepStrictEqual({ ...decoded.data }, data)
    }))
    await holds(t, 'any change is refused', fc.property(compressible, meta, change, (data, m, edit) => {
      const value = codec.encode({ ...m, data, json: serialize(data) })
      const mutated = changed(value, edit)
      fc.pre(mutated !== value)
      return typeof reader.decode(mutated) === 'string'
    }))
  })
}

for (const format of FORMATS.filter((f) => f !== 'flask')) {
  t.test(`${format}, maxCookies: 3: split sessions round trip, and any change to any piece is refused`, async (t) => {
    let pending: SessionRecord = {}
    const app = await buildApp({ format, maxCookies: 3 }, (app) => {
      app.get('/store', async (request) => { Object.assign(request.session, pending); return 'ok' })
      app.get('/read', async (request) => request.session.data())
    })
    t.teardown(() => app.close())
    const now = Date.now
    Date.now = () => NOW * 1000
    t.teardown(() => { Date.now = now })
    await holds(t, 'stored in pieces, read back whole; a change to one piece empties it', fc.asyncProperty(incompressible, fc.nat(), change, async (data, which, edit) => {
      pending = data
      const header = cookieHeaderOf(await app.inject('/store'))
      const pairs = header.split('; ')
      if (pairs.length < 2) throw new Error(`not stored in pieces: ${header.slice(0, 60)}`)
      const whole = await app.inject({ url: '/read', headers: { cookie: header } })
      if (!isDeepStrictEqual(whole.json(), data)) throw new Error(`read back: ${whole.body.slice(0, 100)}`)
      const index = which % pairs.length
      const [name, value] = (pairs[index] as string).split('=') as [string, string]
      const mutated = changed(value, edit)
      fc.pre(mutated !== value)
      pairs[index] = `${name}=${mutated}`
      const broken = await app.inject({ url: '/read', headers: { cookie: pairs.join('; ') } })
      return broken.statusCode === 200 && isDeepStrictEqual(broken.json(), {}) && broken.headers['set-cookie'] === undefined
    }), HTTP_RUNS)
  })
}
