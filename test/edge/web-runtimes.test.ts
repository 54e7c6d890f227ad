import { spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { createSessionCodec as createNodeCodec } from '../../plugin/session-codec.js'
import type { SessionCodecOptions } from '../../plugin/web/index.js'
import { describeSession, type Described } from './fixtures/described.js'
import type { WebOutcome, WebRequest } from './fixtures/web-codec.js'
import { eachRuntime, type RuntimeSession } from './runtimes.js'
import { CONFIGS, cookieHeader, isCompressed, pluginApp, pluginVectors, SECRET, type Vector } from './web-vectors.js'

// fastify-cookie-session/web in every edge runtime (Node, Deno, Bun, workerd, Vercel's Edge
// Runtime): test/edge/fixtures/web-codec.ts is bundled for the Web platform and driven over JSON.
// In each runtime, every cookie the Fastify plugin wrote (each format, rotated keys, compressed,
// several cookies) reads as the plugin's own codec reads it, the refused ones (tampered, expired,
// future, wrong name, wrong key) are refused for the same reason, what the runtime encodes loads
// in the plugin, and a cookie from a live Flask reads as the plugin reads it.

const FIXTURE = new URL('./fixtures/web-codec.ts', import.meta.url)
const PYTHON = '/usr/bin/python3'
const FLASK_APP = fileURLToPath(new URL('../interop/flask_app.py', import.meta.url))
const BENCH_DECODES = 10_000

async function call<T> (runtime: RuntimeSession, request: WebRequest): Promise<WebOutcome<T>> {
  return await runtime.run(request) as WebOutcome<T>
}

async function value<T> (runtime: RuntimeSession, request: WebRequest): Promise<T> {
  const outcome = await call<T>(runtime, request)
  if (!outcome.ok) throw new Error(`${runtime.runtime}: ${outcome.name} ${outcome.code ?? ''}: ${outcome.message} (${request.op})`)
  return outcome.value
}

/** Cookies from the real Flask (python3-flask), or why there are none. */
async function flaskCookies (): Promise<{ cookies: Array<[string, string]> } | { skip: string }> {
  if (spawnSync(PYTHON, ['-c', 'import flask']).status !== 0) {
    const reason = `${PYTHON} cannot import flask (apt-get install python3-flask)`
    if (process.env.CI === 'true') t.fail(`${reason}; under CI=true it must run`)
    return { skip: reason }
  }
  const child = spawn(PYTHON, [FLASK_APP], { env: { ...process.env, SECRET_KEY: SECRET }, stdio: ['ignore', 'pipe', 'inherit'] })
  try {
    const port = await new Promise<string>((resolve, reject) => {
      child.once('error', reject)
      child.stdout.once('data', (chunk) => resolve(String(chunk).trim()))
    })
    const sessions: Record<string, unknown> = {
      plain: ['dict', { username: 'Kimi', age: 25 }],
      compressed: ['dict', { username: 'Kimi', pad: 'Kimi '.repeat(40) }],
      tags: ['dict', {
        tuple: ['tuple', [1, 'a', ['bytes', '00ff']]],
        when: ['date', '2023-11-14T22:13:20Z'],
        id: ['uuid', '12345678-1234-5678-1234-567812345678'],
        html: ['markup', '<b>K\u00edmi</b>'],
        text: 'K\u00edmi \u2713 \ud83d\ude00'
      }],
      permanent: ['dict', { _permanent: true, logged_in: true }]
    }
    const cookies: Array<[string, string]> = []
    for (const [name, data] of Object.entries(sessions)) {
      const response = await fetch(`http://127.0.0.1:${port}/set`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ data }) })
      const header = response.headers.getSetCookie().find((line) => line.startsWith('session=')) as string
      cookies.push([name, header.slice(8, header.indexOf(';'))])
    }
    return { cookies }
  } finally {
    child.kill()
  }
}

const vectors = await pluginVectors()
const fromFlask = await flaskCookies()
const flaskOptions: SessionCodecOptions = { secret: SECRET, format: 'flask' }
// The plugin apps that load what each runtime encodes, one per configuration (holding only the current key).
const apps = await Promise.all(CONFIGS.map((config) =>
  pluginApp({ ...config.read, secret: Array.isArray(config.read.secret) ? config.read.secret[0] : config.read.secret } as SessionCodecOptions)))

/** What the runtime should answer for `vector`: the plugin's session or reason, or the documented error where it cannot inflate. */
function expectedIn (vector: Vector, canInflate: boolean) {
  if (!canInflate && 'session' in vector.expected && isCompressed(vector.value)) return { ok: false, code: 'FST_SESSION_NO_DECOMPRESSION' }
  if (!canInflate && vector.name.startsWith('encrypted, compressed') && 'session' in vector.expected) return { ok: false, code: 'FST_SESSION_NO_DECOMPRESSION' }
  return { ok: true, value: vector.expected }
}

async function vectorTests (t: Test, runtime: RuntimeSession, canInflate: boolean) {
  for (const vector of vectors) {
    const answer = await call(runtime, { op: 'inspect', options: vector.options, value: vector.value })
    t.match(answer, expectedIn(vector, canInflate), vector.name)
    if (answer.ok) t.same(answer, { ok: true, value: vector.expected }, `${vector.name}: exactly`)
    const fromCookies = await call(runtime, { op: 'decodeCookies', options: vector.options, cookies: vector.cookies })
    if (answer.ok) t.same(fromCookies, { ok: true, value: 'session' in vector.expected ? vector.expected.session : null }, `${vector.name} (decodeCookies)`)
  }
}

async function encodeTests (t: Test, runtime: RuntimeSession, canInflate: boolean) {
  for (const [index, config] of CONFIGS.entries()) {
    for (const [name, data] of Object.entries(config.data)) {
      const permanent = name === 'small'
      const { value: encoded, cookies } = await value<{ value: string, cookies: Array<[string, string]> }>(runtime,
        { op: 'encode', options: config.read, data, encode: { permanent, sessionId: 'abcdefghijklmnopqrstuv' } })
      if (name === 'large' && config.read.format !== 'encrypted' && config.read.compress !== false) {
        t.equal(isCompressed(encoded), canInflate, `${config.name}: ${name} ${canInflate ? 'compressed' : 'written uncompressed (no CompressionStream)'}`)
      }
      const read = (await apps[index]?.inject({ url: '/read', headers: { cookie: cookieHeader(cookies) } }))?.json()
      t.same(read, { isNew: false, data, sessionId: config.read.format === 'flask' ? read.sessionId : 'abcdefghijklmnopqrstuv', permanent },
        `${config.name}: ${name} (${cookies.length} cookie${cookies.length === 1 ? '' : 's'}) loads in the plugin`)
    }
  }
  const unstorable = await call(runtime, { op: 'encode', options: { secret: SECRET }, data: ['dict', { n: ['list', [1]], big: 'x'.repeat(5000) + Math.random() }] as Described })
  t.match(unstorable, canInflate ? { ok: true } : { ok: false, code: 'FST_SESSION_TOO_LARGE' }, 'a session that only fits compressed')
}

async function flaskTests (t: Test, runtime: RuntimeSession, canInflate: boolean) {
  if ('skip' in fromFlask) return
  for (const [name, cookie] of fromFlask.cookies) {
    const node = createNodeCodec(flaskOptions as never).inspect(cookie)
    t.ok('session' in node, `${name}: the plugin reads Flask's cookie`)
    const expected = 'reason' in node ? node : { session: describeSession(node.session, false) }
    const answer = await call(runtime, { op: 'inspect', options: flaskOptions, value: cookie })
    if (!canInflate && cookie.startsWith('.')) t.match(answer, { ok: false, code: 'FST_SESSION_NO_DECOMPRESSION' }, `${name}: compressed by Flask, no DecompressionStream`)
    else t.same(answer, { ok: true, value: expected }, `${name}: Flask's cookie reads as the plugin reads it`)
  }
}

/** Microseconds per decode of one signed cookie, the codec (and its keys) already warm. */
async function bench (runtime: RuntimeSession): Promise<number> {
  const options = { secret: SECRET }
  const cookie = await createNodeCodec(options).encode({ user: 'ada', roles: ['admin', 'editor'], visits: 42 })
  const { ms, times } = await value<{ ms: number, times: number }>(runtime, { op: 'bench', options, value: cookie, times: BENCH_DECODES })
  return ms * 1000 / times
}

await eachRuntime(t, FIXTURE, async (t, runtime) => {
  const streams = await value<{ compression: boolean, decompression: boolean }>(runtime, { op: 'streams' })
  const canInflate = streams.decompression
  t.equal(streams.compression, canInflate, 'CompressionStream and DecompressionStream come together')
  if (runtime.runtime === 'edge-runtime') t.notOk(canInflate, '@edge-runtime/vm has no DecompressionStream (when it does, docs/edge.md changes)')
  await t.test('the plugin\'s cookies read as the plugin reads them', (t) => vectorTests(t, runtime, canInflate))
  await t.test('what the runtime encodes loads in the plugin', (t) => encodeTests(t, runtime, canInflate))
  await t.test('a cookie from the real Flask', { skip: 'skip' in fromFlask && fromFlask.skip }, (t) => flaskTests(t, runtime, canInflate))
  if (process.env.WEB_CODEC_BENCH !== undefined) {
    const perDecode = await bench(runtime)
    t.comment(`${runtime.runtime} ${runtime.version}: ${perDecode.toFixed(2)} µs per decode of a signed cookie (${BENCH_DECODES} decodes)`)
  }
})
await Promise.all(apps.map((app) => app.close()))
