import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildApp, pinClock } from '../helpers.js'
import { asJavaScriptSees, neutralRoutes, type Neutral } from '../fixtures/neutral.js'

// The real Flask (Debian's python3-flask, run by /usr/bin/python3) and a Fastify app with
// format: 'flask' and the same SECRET_KEY, both listening on 127.0.0.1 and talking real HTTP.
// Values cross in the neutral form described in flask_app.py.

const PYTHON = '/usr/bin/python3'
const FLASK_APP = fileURLToPath(new URL('flask_app.py', import.meta.url))
const SECRET = 'interop-flask-secret-key-0123456789abcdefghij'
const OLD_SECRET = 'interop-previous-flask-key-0123456789abcdefgh'
const DAY = 24 * 3600

const flaskMissing = spawnSync(PYTHON, ['-c', 'import flask']).status !== 0
if (flaskMissing && process.env.CI === 'true') {
  t.fail(`${PYTHON} cannot import flask: install python3-flask (.ci/run does); under CI=true these tests must run`)
}
const skip = flaskMissing ? `${PYTHON} cannot import flask (apt-get install python3-flask): live Flask tests skipped` : false

const UUID = '12345678-1234-5678-1234-567812345678'
const SESSIONS = {
  plain: ['dict', { username: 'Kimi', age: 25 }],
  compressed: ['dict', { username: 'Kimi', pad: 'Kimi '.repeat(40) }],
  tags: ['dict', {
    tuple: ['tuple', [1, 'a', ['tuple', [2, ['bytes', '00ff']]]]],
    bytes: ['bytes', '00ff6869'],
    when: ['date', '2023-11-14T22:13:20Z'],
    id: ['uuid', UUID],
    html: ['markup', '<b>K\u00edmi</b>'],
    escaped: ['dict', { ' t': ['uuid', UUID] }],
    nested: ['dict', { list: ['list', [1.5, null, false, ['dict', {}]]], text: 'K\u00edmi \u2713 \ud83d\ude00' }]
  }],
  permanent: ['dict', { _permanent: true, logged_in: true }]
} satisfies Record<string, Neutral>

interface Server { url: string, process: ChildProcess }

function startFlask (secretKey: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [FLASK_APP], { env: { ...process.env, SECRET_KEY: secretKey }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk) => { stderr += String(chunk) })
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`flask_app.py exited with ${String(code)}: ${stderr}`)))
    child.stdout.once('data', (chunk) => resolve({ url: `http://127.0.0.1:${String(chunk).trim()}`, process: child }))
  })
}

async function startFastify (secret: string | string[]): Promise<FastifyInstance & { url: string }> {
  const app = await buildApp({ format: 'flask', secret }, (app) => {
    neutralRoutes(app)
  })
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  return Object.assign(app, { url })
}

/** One HTTP request; `cookie` is the session cookie's value. Returns the JSON body and the new cookie value. */
async function call (base: string, path: string, options: { cookie?: string, body?: unknown, issueAt?: number } = {}) {
  const headers: Record<string, string> = {}
  if (options.cookie !== undefined) headers.cookie = `session=${options.cookie}`
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  if (options.issueAt !== undefined) headers['x-issue-at'] = String(options.issueAt)
  const response = await fetch(base + path, {
    method: options.body === undefined ? 'GET' : 'POST',
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body)
  })
  const text = await response.text()
  if (response.status !== 200) throw new Error(`${base}${path}: ${response.status} ${text}`)
  const setCookie = response.headers.getSetCookie().find((header) => header.startsWith('session='))
  return { body: text === 'ok' ? text : JSON.parse(text), cookie: setCookie?.slice(8, setCookie.indexOf(';')), setCookie }
}

t.test('live Flask', { skip }, async (t) => {
  const [flask, oldFlask, fastify] = await Promise.all([startFlask(SECRET), startFlask(OLD_SECRET), startFastify([SECRET, OLD_SECRET])])
  t.teardown(async () => {
    flask.process.kill()
    oldFlask.process.kill()
    await fastify.close()
  })
  const now = () => Math.floor(Date.now() / 1000)

  t.test('Flask → us → Flask: plain, compressed, every tag, permanent; nothing lost on the way back', async (t) => {
    for (const [name, data] of Object.entries(SESSIONS)) {
      const fromFlask = await call(flask.url, '/set', { body: { data } })
      if (name === 'compressed') t.match(fromFlask.cookie, /^\./, 'Flask compressed it')
      const read = await call(fastify.url, '/touch', { cookie: fromFlask.cookie })
      t.same(read.body, asJavaScriptSees(data), `${name}: read as Flask wrote it`)
      if (name === 'permanent') t.match(read.setCookie, /Max-Age=\d+/, 'permanent: a lasting cookie')
      const back = await call(flask.url, '/dump', { cookie: read.cookie })
      t.same(back.body, data, `${name}: Flask reads our rewrite as its own (tuples, UUID, Markup included)`)
    }
  })

  t.test('us → Flask: Date, Buffer, nested values, non-ASCII, compression and _permanent', async (t) => {
    const data: Neutral = ['dict', {
      when: ['date', '2024-02-29T12:34:56Z'],
      bytes: ['bytes', '00010203fffe'],
      nested: ['dict', { list: ['list', [1, 'two', ['dict', { ' d': 'not a tag' }]]], ok: true }],
      text: 'K\u00edmi \u2713 \ud83d\ude00',
      pad: 'Kimi '.repeat(40)
    }]
    const written = await call(fastify.url, '/set', { body: { data, permanent: true } })
    t.match(written.cookie, /^\./, 'we compressed it')
    const [, fields] = data as [string, object]
    t.same((await call(flask.url, '/dump', { cookie: written.cookie })).body, ['dict', { ...fields, _permanent: true }])
  })

  t.test('a fallback key: accepted and re-issued under the current key, which Flask then reads', async (t) => {
    const old = await call(oldFlask.url, '/set', { body: { data: SESSIONS.plain } })
    t.same((await call(flask.url, '/dump', { cookie: old.cookie })).body, ['dict', {}], 'Flask 2.2 has no fallback keys')
    const read = await call(fastify.url, '/dump', { cookie: old.cookie })
    t.same(read.body, asJavaScriptSees(SESSIONS.plain))
    t.same((await call(flask.url, '/dump', { cookie: read.cookie })).body, SESSIONS.plain)
  })

  t.test('expired, future, tampered and wrong-key cookies are refused by both sides alike', async (t) => {
    const body = { data: SESSIONS.plain }
    const flip = (text: string) => text.replace(/^(\.?)(.)/, (_, dot, c) => dot + (c === 'A' ? 'B' : 'A'))
    const stranger = await buildApp({ format: 'flask', secret: 'a-third-key-neither-side-has-0123456789abcd' }, (app) => {
      app.get('/', async (request) => { request.session.username = 'Kimi'; return 'ok' })
    })
    t.teardown(() => stranger.close())
    const strangerCookie = String((await stranger.inject('/')).headers['set-cookie']).split(';')[0]?.slice(8)

    const clock = pinClock(t, now() - 31 * DAY - 30)
    const ourExpired = (await call(fastify.url, '/set', { body })).cookie
    clock.advance(31 * DAY + 30 + 3600)
    const ourFuture = (await call(fastify.url, '/set', { body })).cookie
    clock.advance(-3600)

    const cookies: Record<string, string | undefined> = {
      'expired (Flask)': (await call(flask.url, '/set', { body, issueAt: now() - 31 * DAY - 30 })).cookie,
      'future (Flask)': (await call(flask.url, '/set', { body, issueAt: now() + 3600 })).cookie,
      'expired (us)': ourExpired,
      'future (us)': ourFuture,
      'tampered payload': flip((await call(flask.url, '/set', { body })).cookie as string),
      'compressed, tampered': flip((await call(flask.url, '/set', { body: { data: SESSIONS.compressed } })).cookie as string),
      'another key': strangerCookie
    }
    for (const [name, cookie] of Object.entries(cookies)) {
      t.ok(cookie, `${name}: made`)
      t.same((await call(flask.url, '/dump', { cookie })).body, ['dict', {}], `${name}: Flask refuses it`)
      t.same((await call(fastify.url, '/dump', { cookie })).body, { data: ['dict', {}], permanent: false }, `${name}: we refuse it`)
    }
  })
})
