import { Readable } from 'node:stream'
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify'
import cookieSession, { type CookieSessionOptions } from '../../plugin/index.js'
import { buildApp, pinClock, setCookieHeaders, SECRET } from '../helpers.js'
import { FORMATS, forge, NOW } from './harness.js'

// Odd request lifecycles: whatever the handler does after clear() or regenerate(), however the
// reply ends (an error, a 404, a hijacked socket, a stream, a stream that breaks), the process
// stays up and at most one session Set-Cookie goes out. Misconfigurations fail at register.

const sessionCookies = (response: LightMyRequestResponse) =>
  setCookieHeaders(response).filter((header) => header.startsWith('session='))

function routes (app: FastifyInstance) {
  app.get('/throw-after-clear', async (request) => { request.session.clear(); throw new Error('boom') })
  app.get('/throw-after-regenerate', async (request) => {
    await request.session.regenerate(['user'])
    request.session.fresh = true
    throw new Error('boom')
  })
  app.get('/throw-after-regenerate-empty', async (request) => { await request.session.regenerate(); throw new Error('boom') })
  app.get('/reply-500', async (request, reply) => { request.session.n = 2; return reply.code(500).send({ failed: true }) })
  app.get('/send-error', async (request, reply) => { request.session.n = 3; return reply.send(new Error('sent')) })
  app.get('/hijack', async (request, reply) => {
    request.session.n = 4
    reply.hijack()
    reply.raw.writeHead(200, { 'content-type': 'text/plain' })
    reply.raw.end('raw')
  })
  app.get('/stream', async (request, reply) => {
    request.session.n = 5
    reply.type('text/plain')
    return Readable.from(['a', 'b', 'c'])
  })
  app.get('/broken-stream', async (request) => {
    request.session.n = 6
    return new Readable({
      read () { this.push('partial'); this.destroy(new Error('stream broke')) }
    })
  })
  app.get('/after-send', async (request, reply) => {
    request.session.n = 7
    await reply.send('sent')
    request.session.late = true // the reply is gone: nothing more can be written, nothing throws
    request.session.clear()
    return reply
  })
  app.get('/read', async (request) => ({ keys: Object.keys(request.session) }))
  app.addHook('preHandler', async (request) => {
    if (request.url === '/prehandler-throws') { request.session.pre = 1; throw new Error('preHandler failed') }
  })
  app.get('/prehandler-throws', async () => 'not reached')
}

async function appFor (t: Test, format: CookieSessionOptions['format'], extra: (app: FastifyInstance) => void = () => {}) {
  const app = await buildApp({ format }, (app) => { routes(app); extra(app) })
  t.teardown(() => app.close())
  return app
}

for (const format of FORMATS) {
  t.test(`${format}: handler throws after clear() or regenerate()`, async (t) => {
    pinClock(t, NOW)
    const app = await appFor(t, format)
    const cookie = `session=${forge(format, '{"user":"kimi","other":1}')}`
    const cleared = await app.inject({ url: '/throw-after-clear', headers: { cookie } })
    t.equal(cleared.statusCode, 500)
    t.equal(sessionCookies(cleared).length, 1, 'one deleting Set-Cookie')
    t.match(sessionCookies(cleared)[0], /^session=;/)

    const regenerated = await app.inject({ url: '/throw-after-regenerate', headers: { cookie } })
    t.equal(regenerated.statusCode, 500)
    t.equal(sessionCookies(regenerated).length, 1, 'one new Set-Cookie')
    const next = await app.inject({ url: '/read', headers: { cookie: sessionCookies(regenerated)[0]?.split(';')[0] as string } })
    t.same(next.json().keys.sort(), ['fresh', 'user'], 'it holds what regenerate kept plus the new key')

    const emptied = await app.inject({ url: '/throw-after-regenerate-empty', headers: { cookie } })
    t.equal(emptied.statusCode, 500)
    t.ok(sessionCookies(emptied).length <= 1)
    const none = await app.inject('/throw-after-regenerate-empty')
    t.same(sessionCookies(none), [], 'nothing for a new session regenerated empty')
  })

  t.test(`${format}: error replies, 404s and a failing preHandler send at most one cookie`, async (t) => {
    const app = await appFor(t, format, (app) => {
      app.setErrorHandler(async (error, request, reply) => {
        const message = (error as Error).message
        request.session.lastError = message // the error page writes the session too
        return reply.code(500).send({ error: message })
      })
    })
    for (const url of ['/reply-500', '/send-error', '/prehandler-throws', '/throw-after-regenerate']) {
      const response = await app.inject(url)
      t.equal(response.statusCode, 500, url)
      t.equal(sessionCookies(response).length, 1, `${url}: exactly one session Set-Cookie`)
    }
    const missing = await app.inject('/nowhere')
    t.equal(missing.statusCode, 404)
    t.same(sessionCookies(missing), [])
  })

  t.test(`${format}: an error handler that itself throws`, async (t) => {
    const app = await appFor(t, format, (app) => {
      app.setErrorHandler(async (_error, request) => { request.session.x = 1; throw new Error('handler failed too') })
    })
    const response = await app.inject('/send-error')
    t.equal(response.statusCode, 500)
    t.ok(sessionCookies(response).length <= 1)
    t.equal((await app.inject('/read')).statusCode, 200, 'the server still answers')
  })

  t.test(`${format}: reply.hijack(), streams, a broken stream and writes after send`, async (t) => {
    const app = await appFor(t, format)
    await app.listen({ host: '127.0.0.1', port: 0 })
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
    const count = (response: Response) => response.headers.getSetCookie().filter((h) => h.startsWith('session=')).length

    const hijacked = await fetch(`${base}/hijack`)
    t.equal(await hijacked.text(), 'raw')
    t.equal(count(hijacked), 0, 'a hijacked reply is the route\'s own: no session cookie, no crash')

    const streamed = await fetch(`${base}/stream`)
    t.equal(await streamed.text(), 'abc')
    t.equal(count(streamed), 1, 'a streamed reply carries the cookie in its headers')

    const broken = await fetch(`${base}/broken-stream`).then(async (r) => ({ cookies: count(r), body: await r.text().catch(() => 'aborted') }), () => ({ cookies: 0, body: 'failed' }))
    t.ok(broken.cookies <= 1, `a stream that breaks mid-way: ${broken.body}`)

    const late = await fetch(`${base}/after-send`)
    t.equal(await late.text(), 'sent')
    t.equal(count(late), 1)

    const after = await fetch(`${base}/read`)
    t.equal(after.status, 200, 'the server is still up')
  })
}

t.test('every format refuses the core misconfigurations at register', async (t) => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['no secret', {}, /"secret" option is required/],
    ['empty secret list', { secret: [] }, /"secret" array is empty/],
    ['a number secret', { secret: 42 }, /must be a string or a Buffer/],
    ['an object secret', { secret: { key: SECRET } }, /must be a string or a Buffer/],
    ['a typo', { secret: SECRET, cookiename: 'x' }, /unknown option "cookiename"/],
    ['maxAge in ms', { secret: SECRET, maxAge: 2_678_400_000 }, /in seconds, not milliseconds/],
    ['SameSite=None over http', { secret: SECRET, cookie: { sameSite: 'none' } }, /needs "cookie.secure: true"/],
    ['a header-splitting name', { secret: SECRET, cookieName: 'a\r\nb' }, /"cookieName"/]
  ]
  for (const format of FORMATS) {
    for (const [name, options, message] of cases) {
      const app = Fastify()
      await t.rejects(async () => { await app.register(cookieSession, { format, ...options } as unknown as CookieSessionOptions).ready() },
        { code: 'FST_SESSION_INVALID_OPTION', message }, `${format}: ${name}`)
      await app.close()
    }
    if (format !== 'flask') {
      const app = Fastify()
      await t.rejects(async () => { await app.register(cookieSession, { format, secret: 'x'.repeat(31) }).ready() }, { message: /at least 32 bytes/ }, `${format}: short secret`)
      await app.close()
    }
  }
})
