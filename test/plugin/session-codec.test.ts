import { randomBytes } from 'node:crypto'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { createSessionCodec, type Format, type SessionCodecOptions } from '../../plugin/index.js'
import { buildApp, cookiePair, pinClock, setCookieHeaders, SECRET, OTHER_SECRET } from '../helpers.js'

// The standalone codec reads the plugin's cookies and writes cookies the plugin reads, with the
// same checks: one implementation, used where there is no Fastify request.

const T0 = 1_800_000_000
const FORMATS: Format[] = ['signed', 'encrypted', 'flask']

function routes (app: FastifyInstance): void {
  app.get('/write', async (request) => {
    request.session.user = 'kimi'
    request.session.when = new Date('2026-01-02T03:04:05Z')
    request.session.permanent = true
    return request.session.sessionId
  })
  app.get('/read', async (request) => ({ data: request.session.data(), id: request.session.sessionId, isNew: request.session.isNew, permanent: request.session.permanent }))
}

for (const format of FORMATS) {
  t.test(`${format}: the codec and the plugin read each other's cookies`, async (t) => {
    pinClock(t, T0)
    const options: SessionCodecOptions = { secret: SECRET, format, maxAge: 3600 }
    const app = await buildApp(options, routes)
    t.teardown(() => app.close())
    const codec = createSessionCodec(options)

    const written = await app.inject('/write')
    const value = cookiePair(written).slice('session='.length)
    const session = codec.decode(value)
    t.match(session, { data: { user: 'kimi' }, issuedAt: T0, createdAt: T0, permanent: true })
    t.ok(session?.data.when instanceof Date, 'values come back typed, as in the plugin')
    if (format !== 'flask') t.equal(session?.sessionId, written.body, 'the session id is the one the plugin gave')

    const minted = codec.encode({ user: 'ana', n: 1 }, { permanent: true, ...(format === 'flask' ? {} : { sessionId: 'B'.repeat(22), createdAt: T0 - 5 }) })
    const read = (await app.inject({ url: '/read', headers: { cookie: `session=${minted}` } })).json()
    t.match(read, { data: { user: 'ana', n: 1 }, isNew: false, permanent: true }, 'the plugin reads what the codec wrote')
    if (format !== 'flask') t.equal(read.id, 'B'.repeat(22), 'with the id it was given')
  })

  t.test(`${format}: invalid values give null, and inspect says why`, async (t) => {
    const clock = pinClock(t, T0)
    const codec = createSessionCodec({ secret: SECRET, format, maxAge: 60 })
    const value = codec.encode({ a: 1 })
    t.match(codec.inspect(value), { session: { data: { a: 1 } } })
    const tampered = value.slice(0, 10) + (value[10] === 'A' ? 'B' : 'A') + value.slice(11)
    t.equal(codec.decode(tampered), null)
    t.match(codec.inspect(tampered), { reason: /malformed|bad-signature/ })
    t.same(codec.inspect('x'.repeat(4097)), { reason: 'too-large' })
    t.same(createSessionCodec({ secret: OTHER_SECRET, format }).inspect(value), { reason: 'bad-signature' }, 'another key')
    if (format !== 'flask') t.same(createSessionCodec({ secret: SECRET, format, cookieName: 'other' }).inspect(value), { reason: 'bad-signature' }, 'another cookie name')
    clock.advance(61)
    t.same(codec.inspect(value), { reason: 'expired' })
    clock.advance(-61 - 61)
    t.same(codec.inspect(value), { reason: 'future' }, 'issued more than 60 s ahead of this clock')
  })
}

t.test('absoluteMaxAge and a rotated secret apply as in the plugin', async (t) => {
  const clock = pinClock(t, T0)
  const codec = createSessionCodec({ secret: [SECRET, OTHER_SECRET], absoluteMaxAge: 100 })
  const old = createSessionCodec({ secret: OTHER_SECRET }).encode({ a: 1 })
  t.match(codec.decode(old), { data: { a: 1 } }, 'a fallback secret verifies')
  const value = codec.encode({ a: 1 }, { createdAt: T0 - 90 })
  t.ok(codec.decode(value))
  clock.advance(11)
  t.same(codec.inspect(value), { reason: 'expired' }, 'created more than absoluteMaxAge ago')
})

t.test('sessions split across cookies: split and decodeCookies', async (t) => {
  pinClock(t, T0)
  const options: SessionCodecOptions = { secret: SECRET, maxCookies: 3 }
  const codec = createSessionCodec(options)
  const data = { blob: randomBytes(6000).toString('hex') }
  const pieces = codec.split(codec.encode(data))
  t.same(pieces.map(([name]) => name), ['session', 'session.1', 'session.2'])
  t.same(codec.decodeCookies(Object.fromEntries(pieces))?.data, data)
  t.equal(codec.decodeCookies({ session: pieces[0]?.[1], 'session.2': pieces[2]?.[1] }), null, 'a missing piece')
  t.equal(codec.decodeCookies({}), null, 'no cookie')

  const app = await buildApp(options, routes)
  t.teardown(() => app.close())
  const cookie = pieces.map(([name, value]) => `${name}=${value}`).join('; ')
  t.same((await app.inject({ url: '/read', headers: { cookie } })).json().data, data, 'the plugin reads the pieces')
  const written = await app.inject({ method: 'GET', url: '/write', headers: { cookie } })
  const jar = Object.fromEntries(setCookieHeaders(written).map((header) => header.slice(0, header.indexOf(';')).split('=') as [string, string]))
  t.match(codec.decodeCookies(jar)?.data, { user: 'kimi' })

  t.throws(() => codec.encode({ blob: randomBytes(12000).toString('hex') }), { code: 'FST_SESSION_TOO_LARGE', message: /maxCookies/ })
  t.throws(() => createSessionCodec({ secret: SECRET }).split('x'.repeat(5000)), { code: 'FST_SESSION_TOO_LARGE' })
})

t.test('encode refuses what the plugin refuses', async (t) => {
  const codec = createSessionCodec({ secret: SECRET })
  t.throws(() => codec.encode({ fn: () => 1 }), { code: 'FST_SESSION_UNSTORABLE_VALUE', message: /session\.fn is a function/ })
  t.throws(() => codec.encode({ deep: { n: 1n } }), { code: 'FST_SESSION_UNSTORABLE_VALUE' })
  t.throws(() => codec.encode({}, { sessionId: 'short' }), TypeError)
  t.throws(() => codec.encode({}, { createdAt: Math.floor(Date.now() / 1000) + 1000 }), /not later than now/)
  t.throws(() => codec.encode({}, { createdAt: 1.5 }), TypeError)
  t.same(codec.decode(codec.encode({ gone: undefined, kept: 1 }))?.data, { kept: 1 }, 'undefined removes a key, as in the plugin')
})

t.test('options are checked as the plugin checks them', async (t) => {
  t.throws(() => createSessionCodec(undefined as unknown as SessionCodecOptions), { code: 'FST_SESSION_INVALID_OPTION', message: /must be an object/ })
  t.throws(() => createSessionCodec({} as SessionCodecOptions), { message: /"secret" option is required/ })
  t.throws(() => createSessionCodec({ secret: SECRET, cookie: {} } as SessionCodecOptions), { message: /unknown option "cookie"/ }, 'cookie attributes are the plugin\'s, not the codec\'s')
  t.throws(() => createSessionCodec({ secret: SECRET, maxCookies: 4 }), { message: /"maxCookies" is 4/ })
})

t.test('fastify.sessionCodec is the plugin\'s own', async (t) => {
  pinClock(t, T0)
  const app = await buildApp({ cookieName: 'sid', format: 'encrypted' }, routes)
  t.teardown(() => app.close())
  t.equal(app.sessionCodec.cookieName, 'sid')
  const value = cookiePair(await app.inject('/write'), 'sid').slice('sid='.length)
  t.match(app.sessionCodec.decode(value), { data: { user: 'kimi' } })
})
