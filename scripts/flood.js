// `npm run flood`: a bounded flood of hostile session cookies against the example server, next to
// a no-plugin baseline in the same run. Prints the 5xx count (must be 0), p99 latency of both,
// and the example server's heap after GC before and after the flood (must stay within 2 MB).
// Exits 0 when all three hold, 1 otherwise; it always stops by itself.
//
//   node scripts/flood.js [--requests=12000] [--connections=16]
//
// Both servers are child processes on 127.0.0.1, port 0. The example server is started with
// --expose-gc and a tiny preloaded IPC listener, so its heap is read without changing its code.

import { fork } from 'node:child_process'
import { createHmac, hkdfSync, randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'

const root = fileURLToPath(new URL('..', import.meta.url))
const EXAMPLE = `${root}dist/example/server.js`
const PLUGIN = `${root}dist/plugin/index.js`
const HEAP_LIMIT = 2 * 1024 * 1024
const DAY = 24 * 3600

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')))

// ---- child mode: the baseline, or a stand-in when the example has not been built ------------

if (args.serve !== undefined) {
  const { default: Fastify } = await import('fastify')
  const app = Fastify()
  if (args.serve === 'plugin') {
    const { default: cookieSession } = await import(PLUGIN)
    await app.register(cookieSession, { secret: process.env.SESSION_SECRET })
  }
  // The example's routes, with what they return for a visitor without a session.
  app.addHook('onRequest', async (_request, reply) => { reply.header('cache-control', 'no-store') })
  const session = (request) => request.session ?? { get: (_k, d) => d, pop () {}, clear () {}, data: () => ({}) }
  app.get('/', async (request) => ({ session: session(request).data() }))
  app.get('/set_session', async (request) => {
    const s = session(request)
    if (request.session) { s.username = 'Kimi'; s.age = 25 }
    return 'Session data set!'
  })
  app.get('/get_session', async (request) => `Hello, ${session(request).get('username', 'Guest')}! Your age is ${session(request).get('age', 0)}.`)
  app.get('/delete_session', async (request) => { session(request).pop('username'); return 'Session data deleted!' })
  app.get('/clear_session', async (request) => { session(request).clear(); return 'All session data cleared!' })
  await app.listen({ host: '127.0.0.1', port: 0 })
  process.stdout.write(`Demo running: open http://127.0.0.1:${app.server.address().port}/\n`)
  process.on('disconnect', () => process.exit(0))
} else {
  await flood()
}

// ---- driver ------------------------------------------------------------------------------------

async function flood () {
  const total = Number(args.requests ?? 12_000)
  const connections = Number(args.connections ?? 16)
  const secret = randomBytes(32).toString('base64url')
  const guard = setTimeout(() => { console.error('flood: took over 3 minutes, giving up'); stopAll(); process.exit(1) }, 180_000)
  const children = []
  const stopAll = () => { for (const child of children) child.kill('SIGTERM') }

  const heapProbe = 'data:text/javascript,' + encodeURIComponent(
    "process.on('message', (m) => { if (m === 'heap') { globalThis.gc(); globalThis.gc(); " +
    'process.send({ heapUsed: process.memoryUsage().heapUsed }) } })')

  async function start (label, script, argv, withProbe) {
    const child = fork(script, argv, {
      cwd: root,
      env: { ...process.env, HOST: '127.0.0.1', PORT: '0', SESSION_SECRET: secret, LOG_LEVEL: 'silent', NODE_ENV: 'production' },
      execArgv: withProbe ? ['--expose-gc', '--import', heapProbe] : [],
      stdio: ['ignore', 'pipe', 'inherit', 'ipc']
    })
    children.push(child)
    const port = await new Promise((resolve, reject) => {
      let out = ''
      child.stdout.on('data', (chunk) => {
        out += chunk
        const match = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(out)
        if (match) resolve(Number(match[1]))
      })
      child.once('exit', (code) => reject(new Error(`${label} exited with ${code} before listening`)))
    })
    return { child, url: `http://127.0.0.1:${port}` }
  }

  const heap = (child) => new Promise((resolve) => {
    child.once('message', (m) => resolve(m.heapUsed))
    child.send('heap')
  })

  // Three servers: the example app (5xx, heap), and for a fair latency comparison the same
  // five routes with the plugin and without it, differing in nothing else.
  const self = fileURLToPath(import.meta.url)
  const usingExample = existsSync(EXAMPLE)
  const plugin = usingExample
    ? await start('example server', EXAMPLE, [], true)
    : await start('plugin server', self, ['--serve=plugin'], true)
  const standIn = usingExample ? await start('plugin-only server', self, ['--serve=plugin'], false) : plugin
  const baseline = await start('baseline server', self, ['--serve=baseline'], false)
  try {
    const valid = await validCookie(plugin.url)
    const mix = requestMix(valid, secret)
    const run = (url, amount) => new Promise((resolve, reject) => {
      autocannon({ url, connections, amount, requests: mix.requests, timeout: 10 }, (error, result) => error ? reject(error) : resolve(result))
    })

    await spotCheck(plugin.url, mix.samples)
    await spotCheck(standIn.url, mix.samples)
    for (const server of new Set([baseline, standIn, plugin])) await run(server.url, 2000) // warm up: JIT, pools
    const heapStart = await heap(plugin.child)
    const base = await run(baseline.url, total)
    const only = standIn === plugin ? undefined : await run(standIn.url, total)
    const result = await run(plugin.url, total)
    const heapEnd = await heap(plugin.child)
    await spotCheck(plugin.url, mix.samples)

    const fiveXX = result['5xx'] ?? 0
    const failures = [result, only].reduce((sum, r) => sum + (r?.errors ?? 0) + (r?.timeouts ?? 0), 0)
    const growth = heapEnd - heapStart
    const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(2)} MB`
    const report = {
      server: usingExample ? 'example (dist/example/server.js)' : 'minimal plugin app (example not built)',
      requests: result.requests.total,
      mix: mix.counts,
      '5xx': fiveXX + (only?.['5xx'] ?? 0),
      'errors+timeouts': failures,
      ...Object.fromEntries(['p50', 'p99'].map((p) => [p, {
        [usingExample ? 'example' : 'plugin']: `${result.latency[p]} ms`,
        ...(only ? { 'same routes, plugin': `${only.latency[p]} ms` } : {}),
        'same routes, no plugin (baseline)': `${base.latency[p]} ms`
      }])),
      throughput: {
        [usingExample ? 'example' : 'plugin']: `${Math.round(result.requests.average)} req/s`,
        ...(only ? { 'same routes, plugin': `${Math.round(only.requests.average)} req/s` } : {}),
        'same routes, no plugin (baseline)': `${Math.round(base.requests.average)} req/s`
      },
      heapAfterGc: { start: mb(heapStart), end: mb(heapEnd), growth: mb(growth) }
    }
    console.log(JSON.stringify(report, null, 2))
    const ok = fiveXX === 0 && (only?.['5xx'] ?? 0) === 0 && failures === 0 && result.requests.total >= total && Math.abs(growth) <= HEAP_LIMIT
    console.log(ok ? 'flood: PASS' : 'flood: FAIL (5xx, errors, or heap growth over 2 MB)')
    process.exitCode = ok ? 0 : 1
  } finally {
    clearTimeout(guard)
    stopAll()
  }
}

async function validCookie (url) {
  const response = await fetch(`${url}/set_session`)
  const header = response.headers.getSetCookie().find((h) => h.startsWith('session='))
  if (header === undefined) throw new Error('the server set no session cookie on /set_session')
  return header.slice('session='.length, header.indexOf(';'))
}

/** A cookie of the default signed format, for times only a forger holding the secret could pick. */
function forgeSigned (secret, json, issuedAt) {
  const key = Buffer.from(hkdfSync('sha256', Buffer.from(secret), 'fastify-cookie-session', 'fastify-cookie-session signed cookie v1', 32))
  const text = `s1.${Buffer.from(json).toString('base64url')}.${issuedAt.toString(36)}.${issuedAt.toString(36)}.${'A'.repeat(22)}.0`
  return `${text}.${createHmac('sha256', key).update(`session=${text}`).digest('base64url')}`
}

function requestMix (valid, secret) {
  let seed = 0x5eed // mulberry32: the same mix on every run
  const random = () => {
    seed = (seed + 0x6d2b79f5) >>> 0
    let x = Math.imul(seed ^ (seed >>> 15), seed | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32
  }
  const pick = (list) => list[Math.floor(random() * list.length)]
  const octets = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!#$&\'()*+/:<=>?@[]^`{|}~'
  const garbage = (max) => { let s = ''; const n = 1 + Math.floor(random() ** 2 * max); for (let i = 0; i < n; i++) s += pick(octets); return s }
  const tamper = (value) => {
    const i = Math.floor(random() * value.length)
    return value.slice(0, i) + (value[i] === 'A' ? 'B' : 'A') + value.slice(i + 1)
  }
  const now = Math.floor(Date.now() / 1000)
  const kinds = {
    none: () => undefined,
    valid: () => `session=${valid}`,
    tampered: () => `session=${tamper(valid)}`,
    garbage: () => `session=${garbage(4096)}`,
    expired: () => `session=${forgeSigned(secret, '{"username":"Kimi"}', now - 32 * DAY)}`,
    future: () => `session=${forgeSigned(secret, '{"username":"Kimi"}', now + 3600)}`,
    'bad-payload': () => `session=${forgeSigned(secret, pick(['[1]', 'null', '{"a":', '"x"']), now)}`,
    oversized: () => `session=${valid}${'A'.repeat(4100)}`,
    duplicate: () => `session=${valid}; session=${tamper(valid)}`
  }
  const weights = [['none', 1], ['valid', 3], ['tampered', 3], ['garbage', 3], ['expired', 1], ['future', 1], ['bad-payload', 1], ['oversized', 1], ['duplicate', 1]]
  const paths = ['/get_session', '/get_session', '/', '/set_session', '/delete_session', '/clear_session']
  const bag = weights.flatMap(([kind, weight]) => Array(weight).fill(kind))
  const counts = {}
  const requests = []
  for (let i = 0; i < 1000; i++) {
    const kind = pick(bag)
    counts[kind] = (counts[kind] ?? 0) + 1
    const cookie = kinds[kind]()
    requests.push({ method: 'GET', path: pick(paths), headers: { accept: 'application/json', ...(cookie ? { cookie } : {}) } })
  }
  const samples = Object.entries(kinds).map(([kind, make]) => ({ kind, cookie: make() }))
  return { requests, counts: Object.fromEntries(Object.entries(counts).map(([k, n]) => [k, `${(n / 10).toFixed(1)} %`])), samples }
}

/** One request per kind, checked in full: a read never fails and sets a cookie only when re-issuing. */
async function spotCheck (url, samples) {
  for (const { kind, cookie } of samples) {
    const response = await fetch(`${url}/get_session`, { headers: cookie ? { cookie } : {} })
    const body = await response.text()
    const cookies = response.headers.getSetCookie().filter((h) => h.startsWith('session='))
    const expected = kind === 'valid' || kind === 'duplicate' ? 'Hello, Kimi! Your age is 25.' : 'Hello, Guest! Your age is 0.'
    if (response.status !== 200 || cookies.length > 1 || (kind !== 'valid' && kind !== 'duplicate' && cookies.length > 0) || body !== expected) {
      throw new Error(`spot check failed for ${kind}: ${response.status} ${JSON.stringify(body)} ${cookies.join(' | ')}`)
    }
  }
}
