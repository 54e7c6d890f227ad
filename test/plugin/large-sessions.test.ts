import { createCipheriv, createHmac, randomBytes } from 'node:crypto'
import { deflateRawSync } from 'node:zlib'
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import type { CookieSessionOptions } from '../../plugin/index.js'
import { deriveKey } from '../../plugin/keys.js'
import { buildApp, Browser, pinClock, setCookieHeaders, SECRET, OTHER_SECRET } from '../helpers.js'

// Sessions that do not fit one cookie as they are: compressed, split across cookies, and warned
// about before they no longer fit.

const T0 = 1_800_000_000
const ID = 'A'.repeat(22)

/** The README's cart: a user and 20 items. */
const CART = {
  user_id: 42,
  username: 'Kimi',
  cart: Array.from({ length: 20 }, (_, i) => ({ sku: `SKU-${1000 + i}`, qty: 1 }))
}

function cartRoutes (app: FastifyInstance): void {
  app.get('/cart', async (request) => { Object.assign(request.session, CART); return 'ok' })
  app.get('/read', async (request) => request.session.data())
  app.post('/set', async (request) => { Object.assign(request.session, request.body as object); return 'ok' })
  app.get('/drop/:key', async (request) => { delete request.session[(request.params as { key: string }).key]; return 'ok' })
  app.get('/clear', async (request) => { request.session.clear(); return 'ok' })
}

/** The `name=value` pairs a response sets, and which it deletes. */
function written (response: Awaited<ReturnType<FastifyInstance['inject']>>) {
  const set: Record<string, string> = {}
  const deleted: string[] = []
  for (const header of setCookieHeaders(response)) {
    const pair = header.split(';')[0] as string
    const name = pair.slice(0, pair.indexOf('='))
    if (/Max-Age=0/.test(header)) deleted.push(name)
    else set[name] = pair.slice(name.length + 1)
  }
  return { set, deleted }
}

// ---- compression --------------------------------------------------------------------------

t.test('signed: the cart fits in 300 bytes deflated, and reads back', async (t) => {
  pinClock(t, T0)
  const sizes: Record<string, number> = {}
  for (const compress of [true, false]) {
    const app = await buildApp({ compress }, cartRoutes)
    t.teardown(() => app.close())
    const browser = new Browser(app)
    const response = await browser.get('/cart')
    const { session } = written(response).set
    sizes[String(compress)] = 'session='.length + (session as string).length
    t.equal(session?.split('.')[5], compress ? '2' : '0', `compress: ${compress}: the flags say whether the payload is deflated`)
    t.same((await browser.get('/read')).json(), CART, `compress: ${compress}: reads back`)
  }
  t.ok((sizes.true as number) <= 300, `deflated: ${sizes.true} bytes name=value (target ≤ 300)`)
  t.ok((sizes.false as number) > 800, `not deflated: ${sizes.false} bytes`)
  t.comment(`cart: ${sizes.false} bytes plain → ${sizes.true} bytes deflated`)

  const flask = await buildApp({ format: 'flask', compress: false }, cartRoutes)
  t.teardown(() => flask.close())
  t.notOk(written(await flask.inject('/cart')).set.session?.startsWith('.'), "flask with compress: false: no '.' (zlib) payload")
  const small = await buildApp({}, (app) => { app.get('/', async (request) => { request.session.user_id = 42; return 'ok' }) })
  t.teardown(() => small.close())
  t.equal(written(await small.inject('/')).set.session?.split('.')[5], '0', 'a small session is not deflated (under 128 bytes of JSON)')
})

/** Signs `payload` bytes in the signed layout with the secret, as only its holder could. */
function forgeSigned (payload: Buffer, { version = 's2', flags = 0 } = {}) {
  const text = `${version}.${payload.toString('base64url')}.${T0.toString(36)}.${T0.toString(36)}.${ID}.${flags}`
  const key = deriveKey(Buffer.from(SECRET), 'fastify-cookie-session signed cookie v1')
  return `${text}.${createHmac('sha256', key).update(`session=${text}`).digest('base64url')}`
}

t.test('signed: cookies of the s1 format still verify; its flags cannot claim compression', async (t) => {
  pinClock(t, T0)
  const reasons: string[] = []
  const app = await buildApp({ onInvalidCookie: (reason) => { reasons.push(reason) } }, cartRoutes)
  t.teardown(() => app.close())
  const json = Buffer.from(JSON.stringify(CART))
  const read = (value: string) => app.inject({ url: '/read', headers: { cookie: `session=${value}` } })
  t.same((await read(forgeSigned(json, { version: 's1' }))).json(), CART, 's1, plain')
  t.same((await read(forgeSigned(json, { version: 's1', flags: 1 }))).json(), CART, 's1, permanent')
  t.same((await read(forgeSigned(deflateRawSync(json), { version: 's1', flags: 2 }))).json(), {}, 's1 with the deflate flag: refused')
  t.same((await read(forgeSigned(deflateRawSync(json), { flags: 2 }))).json(), CART, 's2 deflated')
  t.same((await read(forgeSigned(json, { flags: 2 }))).json(), {}, 's2 flagged deflated but not: refused')
  t.same(reasons, ['malformed', 'bad-payload'])
})

t.test('inflating is bounded: a signed payload inflating past 256 KiB is refused', async (t) => {
  pinClock(t, T0)
  const reasons: string[] = []
  const app = await buildApp({ maxCookies: 3, onInvalidCookie: (reason) => { reasons.push(reason) } }, cartRoutes)
  t.teardown(() => app.close())
  // Cut into the three cookies a browser would send, so bombs up to 12 KB deflated get through.
  const read = (value: string) => {
    const pieces = [value.slice(0, 4000), value.slice(4000, 8000), value.slice(8000)].filter((piece) => piece !== '')
    const cookie = pieces.map((piece, index) => `${index === 0 ? 'session' : `session.${index}`}=${piece}`).join('; ')
    return app.inject({ url: '/read', headers: { cookie } })
  }
  const json = (length: number) => Buffer.from(`{"a":"${'x'.repeat(length - 8)}"}`)
  const under = json(256 * 1024)
  const over = json(256 * 1024 + 1)
  t.same(Object.keys((await read(forgeSigned(deflateRawSync(under), { flags: 2 }))).json()), ['a'], 'exactly 256 KiB: read')
  t.same((await read(forgeSigned(deflateRawSync(over), { flags: 2 }))).json(), {}, 'one byte more: an empty session')
  const bomb = deflateRawSync(Buffer.alloc(8 * 1024 * 1024, 0x20)) // 8 MiB of spaces, 8 KB deflated
  t.ok(bomb.length < 9000)
  t.same((await read(forgeSigned(bomb, { flags: 2 }))).json(), {}, 'an 8 MiB bomb: an empty session')
  t.same(reasons, ['bad-payload', 'bad-payload'])
})

t.test('encrypted: compression is off by default and opt-in; e1 cookies still decrypt', async (t) => {
  pinClock(t, T0)
  const sizes: Record<string, number> = {}
  for (const compress of [undefined, true, false]) {
    const app = await buildApp({ format: 'encrypted', ...(compress === undefined ? {} : { compress }) }, cartRoutes)
    t.teardown(() => app.close())
    const browser = new Browser(app)
    sizes[String(compress)] = (written(await browser.get('/cart')).set.session as string).length
    t.same((await browser.get('/read')).json(), CART, `compress: ${String(compress)}: reads back`)
  }
  t.equal(sizes.undefined, sizes.false, 'the default does not compress')
  const writer = await buildApp({ format: 'encrypted', compress: true }, cartRoutes)
  const reader = await buildApp({ format: 'encrypted' }, cartRoutes)
  t.teardown(() => Promise.all([writer.close(), reader.close()]))
  const sealed = written(await writer.inject('/cart')).set.session as string
  t.same((await reader.inject({ url: '/read', headers: { cookie: `session=${sealed}` } })).json(), CART,
    'a compressed cookie is read by an app that does not compress (the flag is inside the ciphertext)')
  t.ok((sizes.true as number) < (sizes.false as number) / 2, `compress: true: ${sizes.true} vs ${sizes.false} characters`)

  // An e1 cookie, sealed by hand as the previous version did: AAD "e1.session", flags 0/1.
  const key = deriveKey(Buffer.from(SECRET), 'fastify-cookie-session encrypted cookie v1')
  const seal = (version: string, plaintext: string) => {
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 })
    cipher.setAAD(Buffer.from(`${version}.session`))
    const sealed = Buffer.concat([iv, cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()])
    return `${version}.${sealed.toString('base64url')}`
  }
  const app = await buildApp({ format: 'encrypted' }, cartRoutes)
  t.teardown(() => app.close())
  const read = (value: string) => app.inject({ url: '/read', headers: { cookie: `session=${value}` } })
  const header = `${T0.toString(36)}.${T0.toString(36)}.${ID}`
  t.same((await read(seal('e1', `${header}.1.${JSON.stringify(CART)}`))).json(), CART, 'an e1 cookie decrypts')
  t.same((await read(seal('e1', `${header}.2.${JSON.stringify(CART)}`))).json(), {}, 'e1 cannot claim compression')
  t.same((await read(seal('e2', `${header}.0.${JSON.stringify(CART)}`))).json(), CART, 'control: the same in e2')
})

// ---- splitting across cookies -----------------------------------------------------------------

/** About 10 KB that compression cannot shrink. */
function bigData (label = 'a') {
  return { label, blob: randomBytes(7200).toString('base64') }
}

async function chunkedApp (t: Test, options: Partial<CookieSessionOptions> = {}) {
  const app = await buildApp({ maxCookies: 3, ...options }, cartRoutes)
  t.teardown(() => app.close())
  return app
}

t.test('a 10 KB session is written as 3 cookies, reads back, changes, shrinks and is cleared', async (t) => {
  const app = await chunkedApp(t)
  const browser = new Browser(app)
  const data = bigData()
  const first = await browser.request({ method: 'POST', url: '/set', payload: data })
  const { set } = written(first)
  t.same(Object.keys(set), ['session', 'session.1', 'session.2'], 'three cookies')
  for (const header of setCookieHeaders(first)) {
    t.ok(Buffer.byteLength(header.split(';')[0] as string) <= 4096, 'each name=value within 4096 bytes')
    t.match(header, /; Path=\/; HttpOnly; SameSite=Lax$/, 'each with the same attributes')
  }
  t.same((await browser.get('/read')).json(), data, 'the browser sends all three back: the session reads whole')

  const changed = { ...data, label: 'b' }
  t.same(Object.keys(written(await browser.request({ method: 'POST', url: '/set', payload: { label: 'b' } })).set), ['session', 'session.1', 'session.2'])
  t.same((await browser.get('/read')).json(), changed, 'a change rewrites them')

  const shrunk = written(await browser.get('/drop/blob'))
  t.same(Object.keys(shrunk.set), ['session'], 'shrunk to one cookie')
  t.same(shrunk.deleted, ['session.1', 'session.2'], 'and the pieces no longer used are deleted in the same response')
  t.same((await browser.get('/read')).json(), { label: 'b' })
  t.equal(await browser.cookie('session.1'), undefined, 'the browser dropped them')

  await browser.request({ method: 'POST', url: '/set', payload: data })
  const cleared = written(await browser.get('/clear'))
  t.same(cleared.deleted, ['session', 'session.1', 'session.2'], 'clearing deletes every piece')
  t.same((await browser.get('/read')).json(), {})
})

t.test('a piece tampered, dropped, duplicated, reordered, foreign or stale is an empty session', async (t) => {
  const reasons: string[] = []
  const app = await chunkedApp(t, { onInvalidCookie: (reason) => { reasons.push(reason) } })
  const store = async (data: object) => written(await app.inject({ method: 'POST', url: '/set', payload: data })).set
  const mine = await store(bigData('mine'))
  const other = await store(bigData('other'))
  const [p0, p1, p2] = [mine.session, mine['session.1'], mine['session.2']] as [string, string, string]
  const header = (pieces: Array<[string, string]>) => pieces.map(([name, value]) => `${name}=${value}`).join('; ')
  const read = async (pieces: Array<[string, string]>) => (await app.inject({ url: '/read', headers: { cookie: header(pieces) } })).json()

  t.equal((await read([['session', p0], ['session.1', p1], ['session.2', p2]])).label, 'mine', 'control: all three in order')
  t.equal((await read([['session.2', p2], ['session', p0], ['session.1', p1]])).label, 'mine', 'control: the header order does not matter')
  // Stale: the pieces of an earlier write of the same session.
  const older = await store(bigData('mine'))
  const twoCookies = await store({ label: 'two', blob: randomBytes(4000).toString('base64') })
  t.same(Object.keys(twoCookies), ['session', 'session.1'])
  const flip = (text: string, at: number) => text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1)
  const cases: Record<string, Array<[string, string]>> = {
    'piece 0 tampered': [['session', flip(p0, 100)], ['session.1', p1], ['session.2', p2]],
    'piece 1 tampered': [['session', p0], ['session.1', flip(p1, 5)], ['session.2', p2]],
    'piece 2 tampered': [['session', p0], ['session.1', p1], ['session.2', flip(p2, 0)]],
    'piece 0 dropped': [['session.1', p1], ['session.2', p2]],
    'piece 1 dropped': [['session', p0], ['session.2', p2]],
    'piece 2 dropped': [['session', p0], ['session.1', p1]],
    'piece 1 duplicated into 2': [['session', p0], ['session.1', p1], ['session.2', p1]],
    'pieces 1 and 2 swapped': [['session', p0], ['session.1', p2], ['session.2', p1]],
    'piece 1 from another session': [['session', p0], ['session.1', other['session.1'] as string], ['session.2', p2]],
    'piece 2 from another session': [['session', p0], ['session.1', p1], ['session.2', other['session.2'] as string]],
    'piece 2 from an older write': [['session', older.session as string], ['session.1', older['session.1'] as string], ['session.2', p2]],
    'an extra piece after a two-cookie session': [['session', twoCookies.session as string], ['session.1', twoCookies['session.1'] as string], ['session.2', p2]]
  }
  for (const [name, pieces] of Object.entries(cases)) t.same(await read(pieces), {}, name)
  t.equal(reasons.length, Object.keys(cases).length, 'each reported to onInvalidCookie')
  t.ok(reasons.every((r) => r === 'malformed' || r === 'bad-signature'), `as ${[...new Set(reasons)].join(', ')}`)
  const beyond = await app.inject({ url: '/read', headers: { cookie: header([['session', p0], ['session.1', p1], ['session.2', p2], ['session.3', 'x']]) } })
  t.equal(beyond.json().label, 'mine', 'a cookie named like a fourth piece is not one of ours (maxCookies 3) and is ignored')

  // A single-cookie session next to a leftover piece (a gap in between) is refused too, and a write deletes the leftover.
  const oneCookie = await store({ small: 1 })
  const withLeftover = await app.inject({ method: 'POST', url: '/set', payload: { more: 2 }, headers: { cookie: header([['session', oneCookie.session as string], ['session.2', p2]]) } })
  t.same(written(withLeftover).deleted, ['session.1', 'session.2'], 'a write deletes every piece it does not use, the leftover included')
})

t.test('rotation re-issues every piece under the current secret', async (t) => {
  pinClock(t, T0)
  const old = await chunkedApp(t, { secret: OTHER_SECRET })
  const data = bigData()
  const pieces = written(await old.inject({ method: 'POST', url: '/set', payload: data })).set
  const rotated = await chunkedApp(t, { secret: [SECRET, OTHER_SECRET] })
  const cookie = Object.entries(pieces).map(([name, value]) => `${name}=${value}`).join('; ')
  const response = await rotated.inject({ url: '/read', headers: { cookie } })
  t.same(response.json(), data, 'read under the fallback secret')
  const reissued = written(response).set
  t.same(Object.keys(reissued), ['session', 'session.1', 'session.2'], 'all three re-issued')
  const current = await chunkedApp(t, { secret: SECRET })
  const again = Object.entries(reissued).map(([name, value]) => `${name}=${value}`).join('; ')
  t.same((await current.inject({ url: '/read', headers: { cookie: again } })).json(), data, 'and they verify under the current secret alone')
})

t.test('more than maxCookies: FST_SESSION_TOO_LARGE names the limit and the keys; the old cookies stay', async (t) => {
  const app = await chunkedApp(t, { maxCookies: 2 })
  const browser = new Browser(app)
  await browser.request({ method: 'POST', url: '/set', payload: { kept: 1 } })
  const response = await browser.request({ method: 'POST', url: '/set', payload: bigData() })
  t.equal(response.statusCode, 500)
  t.equal(response.json().code, 'FST_SESSION_TOO_LARGE')
  t.match(response.json().message, /over the 8192 bytes of its 2 cookies \(maxCookies\).*"blob" \(9609 bytes\), "label" \(11 bytes\), "kept" \(8 bytes\)/)
  t.same(setCookieHeaders(response), [], 'nothing is sent')
  t.same((await browser.get('/read')).json(), { kept: 1 }, 'the previous cookie still works')
})

t.test('maxCookies and compress are checked at register', async (t) => {
  const register = async (options: Partial<CookieSessionOptions>) => {
    const app = await buildApp(options)
    await app.close()
  }
  await t.rejects(register({ maxCookies: 4 }), {
    code: 'FST_SESSION_INVALID_OPTION',
    message: /"maxCookies" is 4: 4 cookies of up to 4096 bytes could make the Cookie header alone 16384 bytes, and Node refuses requests whose headers pass 16384 bytes \(431\). At most 3 \(12288 bytes\) leaves 4096/
  })
  for (const bad of [0, -1, 1.5, '2']) {
    await t.rejects(register({ maxCookies: bad as number }), { message: /"maxCookies" must be a whole number from 1 to 3/ }, String(bad))
  }
  await t.rejects(register({ format: 'flask', maxCookies: 2 }), { message: /"maxCookies" above 1 cannot be used with format 'flask': Flask reads its session from one cookie/ })
  await t.rejects(register({ compress: 'yes' as unknown as boolean }), { message: /"compress" must be true or false/ })
  await t.resolves(register({ format: 'flask', maxCookies: 1, compress: false }))
})

t.test('over 80 % of the room: a warning once per route, naming the largest keys', async (t) => {
  const lines: string[] = []
  const app = await buildApp({ maxCookies: 3 }, (app) => {
    cartRoutes(app)
    app.post('/other', async (request) => { Object.assign(request.session, request.body as object); return 'ok' })
  }, { logger: { level: 'warn', stream: { write (line: string) { lines.push(line) } } } })
  t.teardown(() => app.close())
  const post = (url: string, payload: object) => app.inject({ method: 'POST', url, payload })
  await post('/set', bigData()) // about 10 KB of 12 KB: under 80 %
  t.equal(lines.length, 0, 'no warning at 80 % or less')
  const nearlyFull = { ...bigData(), extra: randomBytes(1000).toString('base64') }
  for (let i = 0; i < 3; i++) t.equal((await post('/set', nearlyFull)).statusCode, 200)
  t.equal(lines.length, 1, 'one warning for the route, not one per request')
  const warning = JSON.parse(lines[0] as string)
  t.match(warning, { route: '/set', limit: 12288, msg: /uses over 80 % of the cookie space/ })
  t.ok(warning.bytes > 0.8 * 12288 && warning.bytes <= 12288, `${warning.bytes} bytes used`)
  t.same(warning.largestKeys.map((entry: { key: string }) => entry.key), ['blob', 'extra', 'label'])
  await post('/other', nearlyFull)
  t.equal(lines.length, 2, 'another route warns once too')
})
