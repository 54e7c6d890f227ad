import { readFileSync } from 'node:fs'
import { inflateSync } from 'node:zlib'
import { Writable } from 'node:stream'
import t from 'tap'
import { buildApp, pinClock, sessionSetCookie } from '../helpers.js'
import { asJavaScriptSees as expected, neutralRoutes, type Neutral } from '../fixtures/neutral.js'

// format: 'flask' against cookies made by the real Flask (test/fixtures/flask-vectors.json, see
// make-flask-vectors.py), with the clock pinned to the vectors' timestamp. The live tests in
// test/interop/flask.test.ts check the same against a running Flask.

interface Vector { name: string, secret: string, timestamp: number, cookie: string, data?: Neutral, invalid?: string }

const fixture = JSON.parse(readFileSync(new URL('../fixtures/flask-vectors.json', import.meta.url), 'utf8')) as
  { secret: string, oldSecret: string, vectors: Vector[] }
const { secret: SECRET, oldSecret: OLD_SECRET } = fixture
const AT = 1700000000
const DAY = 24 * 3600
const vector = (name: string) => fixture.vectors.find((v) => v.name === name) as Vector
const valid = fixture.vectors.filter((v) => v.data !== undefined)
const invalid = fixture.vectors.filter((v) => v.invalid !== undefined)

/** The JSON text inside a Flask cookie value. */
function payloadJson (cookie: string): string {
  const payload = cookie.slice(0, cookie.lastIndexOf('.', cookie.lastIndexOf('.') - 1))
  return payload.startsWith('.')
    ? inflateSync(Buffer.from(payload.slice(1), 'base64url')).toString('latin1')
    : Buffer.from(payload, 'base64url').toString('latin1')
}

async function flaskApp (t: { teardown: (fn: () => unknown) => void }, options: Record<string, unknown> = {}) {
  const reasons: string[] = []
  const app = await buildApp({
    format: 'flask',
    secret: [SECRET, OLD_SECRET, vector('short-key').secret],
    onInvalidCookie: (reason) => { reasons.push(reason) },
    ...options
  }, (app) => {
    neutralRoutes(app)
  })
  t.teardown(() => app.close())
  const send = (url: string, cookie?: string) => app.inject({ url, headers: cookie === undefined ? {} : { cookie: `session=${cookie}` } })
  return { app, reasons, send }
}

t.test('reads every session Flask wrote: plain, compressed, every tag, permanent, fallback and short keys', async (t) => {
  pinClock(t, AT)
  const { send, reasons } = await flaskApp(t)
  for (const v of valid.filter((v) => v.name !== 'proto-key')) {
    const response = await send('/dump', v.cookie)
    t.same(response.json(), expected(v.data as Neutral), v.name)
  }
  t.same((await send('/dump', vector('proto-key').cookie)).json(), { data: ['dict', { ok: 1 }], permanent: false },
    'a "__proto__" key is dropped: it could never be a plain JavaScript key')
  t.same(reasons, [], 'none was refused')
})

t.test('writes back byte for byte what Flask wrote: tuples, UUIDs, Markup and escaped dicts survive', async (t) => {
  pinClock(t, AT)
  const { send } = await flaskApp(t)
  for (const v of valid.filter((v) => v.name !== 'empty' && v.name !== 'proto-key')) {
    // Four times: the second and third reads of a cookie come from the verified-cookie memory (its
    // payload text read again; the third also keeps it parsed), the fourth from that parsed copy
    // (copied with its marks); each must give the tuple/UUID/Markup marks back as the first did.
    for (const sight of ['first', 'repeat', 'repeat again', 'hot']) {
      const cookie = sessionSetCookie(await send('/touch', v.cookie))?.value as string
      t.equal(payloadJson(cookie), payloadJson(v.cookie), `${v.name}, ${sight}: same JSON`)
      // Compressed bytes depend on the zlib build; the uncompressed cookies must match exactly.
      if (!v.cookie.startsWith('.') && v.secret === SECRET) t.equal(cookie, v.cookie, `${v.name}, ${sight}: same cookie`)
    }
  }
})

t.test('a cookie verified by a fallback or short key is re-issued under the current key', async (t) => {
  pinClock(t, AT)
  const { send } = await flaskApp(t)
  for (const name of ['fallback', 'short-key']) {
    const response = await send('/dump', vector(name).cookie)
    const cookie = sessionSetCookie(response)?.value as string
    t.equal(payloadJson(cookie), payloadJson(vector(name).cookie), `${name}: same data`)
    t.not(cookie, vector(name).cookie, `${name}: signed again`)
  }
  t.equal(sessionSetCookie(await send('/dump', vector('fallback').cookie))?.value, vector('plain').cookie,
    'the fallback cookie becomes exactly what Flask writes with the current key')
})

t.test('new values are written as Flask writes them (sorted keys, escaped non-ASCII, tags, _permanent)', async (t) => {
  pinClock(t, AT)
  const { app } = await flaskApp(t)
  for (const name of ['plain', 'permanent', 'compressed', 'non-ascii', 'top-level-escape']) {
    const { data } = vector(name)
    const [, fields] = data as [string, Record<string, unknown>]
    const response = await app.inject({ method: 'POST', url: '/set', payload: { data, permanent: fields._permanent === true } })
    const cookie = sessionSetCookie(response)?.value as string
    t.equal(payloadJson(cookie), payloadJson(vector(name).cookie), name)
  }
})

t.test('deflates like itsdangerous from 128 bytes of JSON on; shorter payloads stay plain, and both read back', async (t) => {
  pinClock(t, AT)
  const { app, send } = await flaskApp(t)
  const write = async (text: string) => {
    const data = ['dict', { pad: ['str', text] }]
    return sessionSetCookie(await app.inject({ method: 'POST', url: '/set', payload: { data } }))?.value as string
  }
  const short = await write('a'.repeat(100)) // {"pad":"aaa…"}: 110 bytes, would deflate to about 20
  t.notOk(short.startsWith('.'), 'under 128 bytes: not compressed')
  t.equal(payloadJson(short), `{"pad":"${'a'.repeat(100)}"}`)
  const long = await write('a'.repeat(130))
  t.ok(long.startsWith('.'), 'from 128 bytes: compressed when shorter, as Flask does')
  t.ok(long.length < short.length)
  // 20,000 characters deflate to a small cookie; a payload text that long is not remembered
  // (verified-cache.ts bounds its memory), so every read of it takes the full path. One of
  // 8,000 is remembered, but its parsed data is not kept: each repeat reads the text again.
  const huge = await write('a'.repeat(20_000))
  t.ok(huge.length < 400, `20,000 a's make a ${huge.length}-byte cookie`)
  const big = await write('a'.repeat(8_000))
  const reads = [[short, 100], [long, 130], [huge, 20_000], [huge, 20_000], [big, 8_000], [big, 8_000], [big, 8_000]] as const
  for (const [cookie, length] of reads) {
    t.match((await send('/dump', cookie)).body, `"${'a'.repeat(length)}"`, `${length} a's read back`)
  }
})

t.test('refuses, as an empty session, every well-signed cookie Flask would 500 on or JavaScript cannot hold', async (t) => {
  pinClock(t, AT)
  const { send, reasons } = await flaskApp(t)
  for (const v of invalid) {
    reasons.length = 0
    const response = await send('/dump', v.cookie)
    t.equal(response.statusCode, 200, `${v.name}: no 500`)
    t.same(response.json(), { data: ['dict', {}], permanent: false }, `${v.name}: empty session`)
    t.same(reasons, [v.invalid], `${v.name}: ${v.invalid as string}`)
    t.equal(sessionSetCookie(response), undefined, `${v.name}: cookie left alone`)
  }
})

t.test('tampered, re-spelled, wrong-key and oversized cookies are refused', async (t) => {
  pinClock(t, AT)
  const { send, reasons } = await flaskApp(t)
  const good = vector('plain').cookie
  const [payload, time, signature] = good.split('.') as [string, string, string]
  const flip = (text: string) => (text[0] === 'A' ? 'B' : 'A') + text.slice(1)
  const cases: Array<[string, string, string]> = [
    ['payload changed', `${flip(payload)}.${time}.${signature}`, 'bad-signature'],
    ['timestamp changed', `${payload}.${flip(time)}.${signature}`, 'bad-signature'],
    ['signature changed', `${payload}.${time}.${flip(signature)}`, 'bad-signature'],
    ['another key', (await signedBy('a-key-neither-app-has-0123456789abcdef')), 'bad-signature'],
    // Flask's lenient base64 accepts these re-spellings of a valid cookie; only its canonical form is ours.
    ['padding appended', `${good}==`, 'malformed'],
    ['junk appended', `${good}!!`, 'malformed'],
    ['standard base64', `${payload}.${time}.${signature.replace(/^./, '+')}`, 'malformed'],
    ['non-canonical trailing bits', `${payload.slice(0, -1)}R.${time}.${signature}`, 'malformed'],
    ['two parts', `${payload}.${signature}`, 'malformed'],
    ['garbage', 'not a cookie', 'malformed'],
    ['over 4096 bytes', `${'A'.repeat(4100)}.${time}.${signature}`, 'too-large']
  ]
  for (const [name, cookie, reason] of cases) {
    reasons.length = 0
    const response = await send('/dump', cookie)
    t.same(response.json(), { data: ['dict', {}], permanent: false }, name)
    t.same(reasons, [reason], `${name}: ${reason}`)
  }

  async function signedBy (secret: string) {
    const other = await flaskApp(t, { secret })
    return sessionSetCookie(await other.app.inject({ method: 'POST', url: '/set', payload: { data: vector('plain').data } }))?.value as string
  }
})

t.test('age limits: maxAge like PERMANENT_SESSION_LIFETIME (equal is valid), future beyond 60 s refused', async (t) => {
  const clock = pinClock(t, AT + 31 * DAY)
  const { send, reasons } = await flaskApp(t)
  const cookie = vector('plain').cookie
  t.same((await send('/dump', cookie)).json(), expected(vector('plain').data as Neutral), 'age == 31 days: valid')
  clock.advance(1)
  t.same((await send('/dump', cookie)).json().data, ['dict', {}], 'one second older: expired')
  t.same(reasons, ['expired'])

  clock.advance(-(31 * DAY + 1) - 60)
  t.same((await send('/dump', cookie)).json(), expected(vector('plain').data as Neutral), '60 s in the future: tolerated skew')
  clock.advance(-1)
  reasons.length = 0
  t.same((await send('/dump', cookie)).json().data, ['dict', {}], '61 s in the future: refused')
  t.same(reasons, ['future'])

  const short = await flaskApp(t, { maxAge: 3600 })
  clock.advance(61 + 3601)
  await short.send('/dump', cookie)
  t.same(short.reasons, ['expired'], 'a smaller maxAge applies to Flask cookies too')
})

t.test('tuples stay tuples while they are the same array; changed strings lose their UUID/Markup tag', async (t) => {
  pinClock(t, AT)
  const app = await buildApp({ format: 'flask', secret: SECRET }, (app) => {
    app.get('/edit', async (request) => {
      const session = request.session as Record<string, any>
      session.tuple.push('pushed') // still Flask's tuple, one item longer
      session.nested.list[1] = [...session.nested.list[1]] // a new array: a list from now on
      session.id = session.id.replace(/8$/, '9')
      session.html += '!'
      return 'ok'
    })
  })
  t.teardown(() => app.close())
  const response = await app.inject({ url: '/edit', headers: { cookie: `session=${vector('tags').cookie}` } })
  const written = JSON.parse(payloadJson(sessionSetCookie(response)?.value as string))
  t.same(written.tuple, { ' t': [1, 'a', { ' t': [2, 3] }, 'pushed'] })
  t.same(written.nested.list[1], ['12345678-1234-5678-1234-567812345678', 'm'], 'copied tuple → list, its UUID/Markup → strings')
  t.equal(written.id, '12345678-1234-5678-1234-567812345679', 'changed UUID → string')
  t.equal(written.html, '<b>K\u00edmi</b>!')
  const original = JSON.parse(payloadJson(vector('tags').cookie))
  t.same(written.when, original.when, 'untouched Date written as Flask wrote it')
  t.same(written.bytes, original.bytes, 'untouched bytes written as Flask wrote them')
})

t.test('Dates: whole seconds as in Flask; years Flask cannot read back are refused at save', async (t) => {
  pinClock(t, AT)
  const app = await buildApp({ format: 'flask', secret: SECRET }, (app) => {
    app.get('/set', async (request) => {
      request.session.when = new Date(String((request.query as { when: string }).when))
      return 'ok'
    })
    app.get('/read', async (request) => (request.session.when as Date).toISOString())
  })
  t.teardown(() => app.close())
  const set = await app.inject('/set?when=2024-02-29T12:34:56.789Z')
  const read = await app.inject({ url: '/read', headers: { cookie: `session=${sessionSetCookie(set)?.value as string}` } })
  t.equal(read.body, '2024-02-29T12:34:56.000Z')
  for (const when of ['0099-12-31T23:59:59Z', '+010000-01-01T00:00:00Z']) {
    const response = await app.inject(`/set?when=${encodeURIComponent(when)}`)
    t.equal(response.statusCode, 500, when)
    t.equal(response.json().code, 'FST_SESSION_UNSTORABLE_VALUE', when)
    t.equal(sessionSetCookie(response), undefined, `${when}: nothing sent`)
  }
})

t.test('numbers beyond 2^53 are written as floats, so they read back instead of being refused', async (t) => {
  pinClock(t, AT)
  const app = await buildApp({ format: 'flask', secret: SECRET }, (app) => {
    app.get('/set', async (request) => { request.session.n = 2 ** 60; request.session.m = -(10 ** 20); return 'ok' })
    app.get('/read', async (request) => [request.session.n, request.session.m])
  })
  t.teardown(() => app.close())
  const cookie = sessionSetCookie(await app.inject('/set'))?.value as string
  t.equal(payloadJson(cookie), '{"m":-1e+20,"n":1.152921504606847e+18}')
  t.same((await app.inject({ url: '/read', headers: { cookie: `session=${cookie}` } })).json(), [2 ** 60, -(10 ** 20)])
})

t.test('permanent maps to _permanent; sessionId is fresh on every request (Flask cookies have none)', async (t) => {
  pinClock(t, AT)
  const app = await buildApp({ format: 'flask', secret: SECRET }, (app) => {
    app.get('/forget', async (request) => { request.session.permanent = false; return request.session.sessionId })
    app.get('/id', async (request) => request.session.sessionId)
  })
  t.teardown(() => app.close())
  const headers = { cookie: `session=${vector('permanent').cookie}` }
  const forgotten = await app.inject({ url: '/forget', headers })
  t.equal(payloadJson(sessionSetCookie(forgotten)?.value as string), '{"logged_in":true}')
  t.equal(sessionSetCookie(forgotten)?.expires, undefined, 'a browser-session cookie again')
  const second = await app.inject({ url: '/id', headers })
  t.match(forgotten.body, /^[A-Za-z0-9_-]{22}$/)
  t.not(second.body, forgotten.body)
})

t.test('a Flask key under 32 bytes is accepted with a warning at register', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _encoding, done) { lines.push(String(chunk)); done() } })
  const app = await buildApp({ format: 'flask', secret: [SECRET, 'dev'] }, () => {}, { logger: { level: 'warn', stream } })
  await app.close()
  const warnings = lines.map((line) => JSON.parse(line)).filter((entry) => entry.level === 40)
  t.equal(warnings.length, 1, 'only the short key is named')
  t.match(warnings[0]?.msg, /secret\[1\] is 3 bytes.*format 'flask'.*32 bytes/)

  lines.length = 0
  const single = await buildApp({ format: 'flask', secret: 'dev' }, () => {}, { logger: { level: 'warn', stream } })
  await single.close()
  t.match(JSON.parse(lines[0] as string).msg, /: secret is 3 bytes/)
})
