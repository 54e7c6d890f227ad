import t from 'tap'
import { createHash, createHmac } from 'node:crypto'
import { deriveKey } from '../../plugin/keys.js'
import { buildApp, cookiePair, pinClock, sessionSetCookie, SECRET } from '../helpers.js'

// The default format under attack: anything but an untouched cookie of ours is an empty session.

const PURPOSE = 'fastify-cookie-session signed cookie v3 (AMAC-SHA384)'
const HMAC_PURPOSE = 'fastify-cookie-session signed cookie v1'
const NOW = 1_800_000_000

/**
 * Signs arbitrary bytes in the documented layout, as only a holder of the secret could. `flags`:
 * 1 permanent + 2 deflated. s3: the first 43 base64url characters of SHA-384(key ‖ name=text);
 * s1/s2: HMAC-SHA256 with their own key.
 */
function forge (dataBytes: Buffer, { issued = NOW, created = NOW, id = 'A'.repeat(22), flags = 0, name = 'session', purpose = '', version = 's3' } = {}) {
  const signed = `${version}.${dataBytes.toString('base64url')}.${issued.toString(36)}.${created.toString(36)}.${id}.${flags}`
  if (version === 's3') {
    const key = deriveKey(Buffer.from(SECRET), purpose || PURPOSE)
    return `${signed}.${createHash('sha384').update(key).update(`${name}=${signed}`).digest('base64url').slice(0, 43)}`
  }
  const mac = createHmac('sha256', deriveKey(Buffer.from(SECRET), purpose || HMAC_PURPOSE)).update(`${name}=${signed}`).digest('base64url')
  return `${signed}.${mac}`
}

const reasons: string[] = []
async function app (t: { teardown: (fn: () => unknown) => void }) {
  reasons.length = 0
  const server = await buildApp({ onInvalidCookie: (reason) => { reasons.push(reason) } }, (app) => {
    app.get('/write', async (request) => { request.session.user = 'kimi'; request.session.n = 1; return 'ok' })
    app.get('/read', async (request) => ({ keys: Object.keys(request.session), isNew: request.session.isNew }))
  })
  t.teardown(() => server.close())
  return server
}

async function readWith (server: Awaited<ReturnType<typeof app>>, cookieHeader: string) {
  const response = await server.inject({ url: '/read', headers: { cookie: cookieHeader } })
  return { status: response.statusCode, body: response.json(), setCookie: sessionSetCookie(response) }
}

const EMPTY = { status: 200, body: { keys: [], isNew: true }, setCookie: undefined }

t.test('the cookie has the documented shape and reads back', async (t) => {
  pinClock(t, NOW)
  const server = await app(t)
  const pair = cookiePair(await server.inject('/write'))
  t.match(pair, /^session=s3\.[A-Za-z0-9_-]+\.tro8w0\.tro8w0\.[A-Za-z0-9_-]{22}\.0\.[A-Za-z0-9_-]{43}$/)
  t.same(await readWith(server, pair), { status: 200, body: { keys: ['user', 'n'], isNew: false }, setCookie: undefined })
  t.equal(forge(Buffer.from('{"user":"kimi","n":1}'), { id: pair.split('.')[4] as string }), pair.slice('session='.length),
    'the format is exactly the one documented')
})

t.test('every single-character change anywhere in the value is rejected', async (t) => {
  pinClock(t, NOW)
  const server = await app(t)
  const value = cookiePair(await server.inject('/write')).slice('session='.length)
  let accepted = 0
  for (let i = 0; i < value.length; i++) {
    for (const replacement of ['A', '_', '.']) {
      if (value[i] === replacement) continue
      const mutated = value.slice(0, i) + replacement + value.slice(i + 1)
      const result = await readWith(server, `session=${mutated}`)
      if (result.body.keys.length !== 0 || result.status !== 200) accepted++
    }
  }
  t.equal(accepted, 0, `all ${value.length * 3} mutations rejected`)
  t.ok(reasons.every((r) => r === 'malformed' || r === 'bad-signature'))
})

t.test('signature removed, truncated, extended; separators added; prefix changed', async (t) => {
  pinClock(t, NOW)
  const server = await app(t)
  const value = cookiePair(await server.inject('/write')).slice('session='.length)
  const mac = value.slice(value.lastIndexOf('.') + 1)
  const body = value.slice(0, value.lastIndexOf('.'))
  const variants = [
    body, `${body}.`, `${value}A`, `${value}.`, `${value}.x`, `.${value}`, value.replace('.', '..'),
    `s1${value.slice(2)}`, `s2${value.slice(2)}`, `s4${value.slice(2)}`, value.slice(3), `s3.${value}`, value.toUpperCase()
  ]
  for (let cut = 1; cut < mac.length; cut++) variants.push(`${body}.${mac.slice(0, cut)}`)
  for (const variant of variants) t.same(await readWith(server, `session=${variant}`), EMPTY, variant.slice(-20))
})

t.test('s2 cookies (HMAC-SHA256) still verify and are written as s3; neither MAC passes for the other version', async (t) => {
  pinClock(t, NOW)
  const server = await buildApp({}, (app) => {
    app.get('/read', async (request) => ({ keys: Object.keys(request.session), isNew: request.session.isNew }))
    app.get('/write', async (request) => { request.session.n = 2; return 'ok' })
  })
  t.teardown(() => server.close())
  const data = Buffer.from('{"user":"kimi"}')
  t.same((await readWith(server, `session=${forge(data, { version: 's2' })}`)).body, { keys: ['user'], isNew: false }, 's2 read')
  const rewritten = cookiePair(await server.inject({ url: '/write', headers: { cookie: `session=${forge(data, { version: 's2' })}` } }))
  t.match(rewritten, /^session=s3\./, 'written back as s3')
  t.same((await readWith(server, rewritten)).body, { keys: ['user', 'n'], isNew: false })
  const s3 = forge(data)
  const s2 = forge(data, { version: 's2' })
  t.same(await readWith(server, `session=${s3.slice(0, -43)}${s2.slice(-43)}`), EMPTY, 'an s3 text with an HMAC')
  t.same(await readWith(server, `session=s2${s3.slice(2)}`), EMPTY, 'an s3 MAC on an s2 text')
  t.same(await readWith(server, `session=${forge(data, { version: 's2', purpose: PURPOSE })}`), EMPTY, 'an HMAC under the s3 key')
  t.same(await readWith(server, `session=${forge(data, { purpose: HMAC_PURPOSE })}`), EMPTY, 'an s3 MAC under the HMAC key')
})

t.test('only canonical base64url is accepted', async (t) => {
  pinClock(t, NOW)
  const server = await app(t)
  const value = cookiePair(await server.inject('/write')).slice('session='.length)
  const [prefix, data, ...rest] = value.split('.') as string[]
  const mac = rest.pop() as string
  const meta = rest.join('.')
  const variants = [
    `${prefix}.${data}=.${meta}.${mac}`, // padding
    `${prefix}.${data}.${meta}.${mac}=`,
    `${prefix}.${data}+.${meta}.${mac}`, // the standard alphabet
    `${prefix}.${data}.${meta}.${mac.slice(0, -1)}/`,
    `${prefix}.${data} .${meta}.${mac}`, // whitespace
    `${prefix}.${data}.${meta}.${mac.slice(0, 20)}!${mac.slice(21)}`
  ]
  // The last character of a 32-byte MAC carries 4 unused bits: flipping them decodes to the same bytes.
  const last = mac.at(-1) as string
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const index = alphabet.indexOf(last)
  const sameBytes = alphabet[(index & ~0b11) | ((index + 1) & 0b11)] as string
  t.same(Buffer.from(mac.slice(0, -1) + sameBytes, 'base64url'), Buffer.from(mac, 'base64url'), 'Node decodes both alike')
  variants.push(`${prefix}.${data}.${meta}.${mac.slice(0, -1)}${sameBytes}`)
  for (const variant of variants) t.same(await readWith(server, `session=${variant}`), EMPTY, variant)
})

t.test('bound to the cookie name and to its purpose', async (t) => {
  pinClock(t, NOW)
  const server = await app(t)
  const value = cookiePair(await server.inject('/write')).slice('session='.length)
  const otherName = await buildApp({ cookieName: 'other' }, (app) => {
    app.get('/read', async (request) => Object.keys(request.session))
  })
  t.teardown(() => otherName.close())
  t.same((await otherName.inject({ url: '/read', headers: { cookie: `other=${value}` } })).json(), [], 'moved to another name: rejected')
  const data = Buffer.from('{"user":"mallory"}')
  t.same(await readWith(server, `session=${forge(data, { name: 'other' })}`), EMPTY, 'signed for another cookie name')
  t.same(await readWith(server, `session=${forge(data, { purpose: 'another purpose' })}`), EMPTY, 'signed for another purpose')
  t.same((await readWith(server, `session=${forge(data)}`)).body, { keys: ['user'], isNew: false }, 'the control is accepted')
})

t.test('validly signed but bad payloads fail closed, never a 500', async (t) => {
  pinClock(t, NOW)
  const server = await app(t)
  const payloads = ['[1,2]', '"ab"', '5', 'null', '{"a":', '{"a":1}x', '{"d":{" d":"not a date"}}', '{"d":{" d":5}}', '{"b":{" b":"*"}}', '{"o":{" o":[1]}}', '{" d":"2020-01-01T00:00:00Z"}']
  for (const payload of payloads) {
    t.same(await readWith(server, `session=${forge(Buffer.from(payload))}`), EMPTY, payload)
  }
  t.same(await readWith(server, `session=${forge(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]))}`), EMPTY, 'invalid UTF-8')
  t.ok(reasons.every((r) => r === 'bad-payload'), 'all reported as bad-payload')
  t.same(await readWith(server, `session=${forge(Buffer.from('{}'), { created: NOW + 1 })}`), EMPTY, 'created after issued')
})

t.test('timestamps are checked: missing, huge, future, expired fail closed', async (t) => {
  pinClock(t, NOW)
  const server = await app(t)
  const data = Buffer.from('{"a":1}')
  const cases: Array<[string, string]> = [
    ['huge issue time', forge(data, { issued: 36 ** 8 - 1 })],
    ['issue time 61 s ahead', forge(data, { issued: NOW + 61 })],
    ['expired by a second (31 days + 1)', forge(data, { issued: NOW - 31 * 24 * 3600 - 1, created: 0 })],
    ['created at the epoch, issued now: within maxAge but the default absoluteMaxAge is unlimited', forge(data, { created: 0 })]
  ]
  for (const [name, value] of cases.slice(0, 3)) t.same(await readWith(server, `session=${value}`), EMPTY, name)
  t.same((await readWith(server, `session=${(cases[3] as [string, string])[1]}`)).body, { keys: ['a'], isNew: false })
  t.same(reasons, ['future', 'future', 'expired'], 'a huge issue time is simply far in the future')
  // Fields that are not canonical base-36 integers never reach the clock checks.
  const valid = forge(data)
  for (const bad of [valid.replace('.tro8w0.', '.0tro8w0.'), valid.replace('.tro8w0.', '.-1.'), valid.replace('.tro8w0.', '.NaN.'), valid.replace('.tro8w0.', '..')]) {
    t.same(await readWith(server, `session=${bad}`), EMPTY, bad.slice(0, 40))
  }
})

t.test('cookie data cannot reach a prototype', async (t) => {
  pinClock(t, NOW)
  const server = await buildApp({}, (app) => {
    app.get('/read', async (request) => {
      const copy = Object.assign({}, request.session.data(), request.session.nested as object)
      return { keys: Object.keys(request.session), nested: Object.keys(request.session.nested as object), copyProto: Object.getPrototypeOf(copy) === Object.prototype }
    })
  })
  t.teardown(() => server.close())
  const payload = '{"__proto__":{"polluted":1},"nested":{"__proto__":{"polluted":2},"constructor":{"prototype":{"polluted":3}},"ok":1}}'
  const response = await server.inject({ url: '/read', headers: { cookie: `session=${forge(Buffer.from(payload))}` } })
  t.same(response.json(), { keys: ['nested'], nested: ['constructor', 'ok'], copyProto: true })
  t.equal(({} as Record<string, unknown>).polluted, undefined)
})

t.test('oversized cookies are refused before any crypto work', async (t) => {
  pinClock(t, NOW)
  const server = await app(t)
  const big = forge(Buffer.from(`{"a":"${'x'.repeat(3100)}"}`))
  t.ok(big.length > 4096)
  t.same(await readWith(server, `session=${big}`), EMPTY)
  t.same(reasons, ['too-large'])
})

t.test('duplicate and look-alike cookies: the first exact name wins, never a merge', async (t) => {
  pinClock(t, NOW)
  const server = await app(t)
  const first = forge(Buffer.from('{"first":1}'))
  const second = forge(Buffer.from('{"second":1}'))
  t.same((await readWith(server, `session=${first}; session=${second}`)).body.keys, ['first'])
  t.same((await readWith(server, `session=garbage; session=${second}`)).body.keys, [], 'a bad first cookie is not replaced by a later one')
  t.same((await readWith(server, `Session=${first}; SESSION=${first}; sessionx=${first}`)).body.keys, [], 'names are case-sensitive and exact')
  t.same((await readWith(server, `session="${first}"`)).body.keys, [], 'a quoted value is not our value')
  t.same((await readWith(server, `other=1;   session=${first}`)).body.keys, ['first'], 'spaces around pairs are fine')
})
