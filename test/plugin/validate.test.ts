import { randomBytes } from 'node:crypto'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import type { CookieSessionOptions, SessionInfo } from '../../plugin/index.js'
import { buildApp, Browser, pinClock, sessionSetCookie, setCookieHeaders } from '../helpers.js'

// Revocation with `validate`: the plugin checks every valid cookie's session before any handler
// runs; `false` ends it and deletes its cookie, a failure empties it for that request only.

const T0 = 1_800_000_000

function routes (app: FastifyInstance): void {
  app.post('/login', async (request) => {
    await request.session.regenerate()
    request.session.user = (request.body as { user: string }).user
    return request.session.sessionId
  })
  app.get('/me', async (request) => ({ user: request.session.user ?? null, isNew: request.session.isNew, id: request.session.sessionId }))
  app.get('/untouched', async () => 'no session use')
  app.get('/relogin', async (request) => { request.session.user = 'again'; return 'ok' })
  app.post('/big', async (request) => { request.session.blob = randomBytes(8000).toString('base64'); return 'ok' })
}

async function login (app: FastifyInstance, user: string): Promise<Browser> {
  const browser = new Browser(app)
  await browser.request({ method: 'POST', url: '/login', payload: { user } })
  return browser
}

function deleted (response: Awaited<ReturnType<Browser['get']>>): string[] {
  return setCookieHeaders(response).filter((header) => /Max-Age=0/.test(header)).map((header) => header.slice(0, header.indexOf('=')))
}

t.test('a deny-list of session ids: one stolen session ends, the others go on', async (t) => {
  const denied = new Set<string>()
  const seen: SessionInfo[] = []
  const app = await buildApp({
    validate (session) {
      seen.push(session)
      return !denied.has(session.sessionId)
    }
  }, routes)
  t.teardown(() => app.close())
  const victim = await login(app, 'kimi')
  const other = await login(app, 'kimi')
  const victimId = (await victim.get('/me')).json().id as string
  t.match(seen.at(-1), { sessionId: victimId, data: { user: 'kimi' }, permanent: false }, 'validate sees the id and the data')

  const stolenCopy = (await victim.cookie())?.cookieString() as string
  denied.add(victimId)
  const refused = await victim.get('/me')
  t.match(refused.json(), { user: null, isNew: true }, 'the denied session is an empty new one')
  t.same(deleted(refused), ['session'], 'and its cookie is deleted on that response')
  t.equal(await victim.cookie(), undefined)
  const thief = await app.inject({ url: '/me', headers: { cookie: stolenCopy } })
  t.match(thief.json(), { user: null, isNew: true }, 'a copy of the cookie is refused too')
  t.match((await other.get('/me')).json(), { user: 'kimi', isNew: false }, "the user's other session goes on")
})

t.test('a per-user "valid after" time: log out everywhere, and log in again', async (t) => {
  const clock = pinClock(t, T0)
  const validAfter = new Map<string, number>()
  const app = await buildApp({
    async validate ({ createdAt, data }) {
      await new Promise((resolve) => setImmediate(resolve)) // a store round trip
      const after = validAfter.get(String(data.user))
      return after === undefined || createdAt > after
    }
  }, routes)
  t.teardown(() => app.close())
  const laptop = await login(app, 'kimi')
  const phone = await login(app, 'kimi')
  const friend = await login(app, 'ana')
  clock.advance(10)
  validAfter.set('kimi', clock.now) // log out everywhere
  for (const browser of [laptop, phone]) t.match((await browser.get('/me')).json(), { user: null, isNew: true }, 'every session of kimi ends')
  t.match((await friend.get('/me')).json(), { user: 'ana' }, "another user's does not")
  clock.advance(1)
  const again = await login(app, 'kimi')
  t.match((await again.get('/me')).json(), { user: 'kimi', isNew: false }, 'a login after the time is valid')
})

t.test('validate runs before any handler, only for a valid cookie, and not at all without the option', async (t) => {
  let calls = 0
  const app = await buildApp({ validate: () => { calls++; return true } }, routes)
  t.teardown(() => app.close())
  await app.inject('/me')
  await app.inject({ url: '/me', headers: { cookie: 'session=garbage' } })
  t.equal(calls, 0, 'no cookie, or an invalid one: nothing to validate')
  const browser = await login(app, 'kimi')
  const before = calls
  const untouched = await browser.get('/untouched')
  t.equal(calls, before + 1, 'a route that does not use the session is still checked (its cookie may be revoked)')
  t.equal(sessionSetCookie(untouched), undefined, 'and sends nothing when it is valid')

  const hooks: string[] = []
  const plain = await buildApp({}, (app) => {
    app.addHook('onRequest', async (request) => { hooks.push(String(request.routeOptions.url)) })
    routes(app)
  })
  t.teardown(() => plain.close())
  t.equal(plain.hasPlugin('fastify-cookie-session'), true)
  const untouchedPlain = await plain.inject('/untouched')
  t.same(untouchedPlain.headers.vary, undefined, 'without validate, an untouched route gets no Vary: nothing was read')
})

t.test('anything but true refuses; a throw or a rejection is logged and fails closed, the cookie kept', async (t) => {
  let verdict: () => unknown = () => true
  const lines: string[] = []
  const app = await buildApp({ validate: () => verdict() as boolean }, routes, { logger: { level: 'error', stream: { write (line: string) { lines.push(line) } } } })
  t.teardown(() => app.close())
  for (const answer of [1, 'yes', undefined, null, {}]) {
    const browser = await login(app, 'kimi')
    verdict = () => answer
    t.match((await browser.get('/me')).json(), { user: null }, `${JSON.stringify(answer) ?? 'undefined'} refuses`)
    verdict = () => true
  }
  const browser = await login(app, 'kimi')
  for (const failure of [() => { throw new Error('store down') }, () => Promise.reject(new Error('store timeout'))]) {
    verdict = failure
    const response = await browser.get('/me')
    t.equal(response.statusCode, 200, 'never a 500')
    t.match(response.json(), { user: null, isNew: true }, 'an empty session for this request')
    t.same(setCookieHeaders(response), [], 'the cookie is left alone: an outage logs nobody out')
  }
  t.equal(lines.filter((line) => /validate failed/.test(line) && /store (down|timeout)/.test(line)).length, 2, 'both failures logged with their error')
  verdict = () => true
  t.match((await browser.get('/me')).json(), { user: 'kimi', isNew: false }, 'once the store answers again, the session is back')
})

t.test('a refused session written anew keeps the new cookie; a split one has every piece deleted', async (t) => {
  let valid = true
  const app = await buildApp({ maxCookies: 3, validate: () => valid } satisfies Partial<CookieSessionOptions>, routes)
  t.teardown(() => app.close())
  const browser = await login(app, 'kimi')
  valid = false
  const relogin = await browser.get('/relogin')
  t.same(deleted(relogin), [], 'not deleted')
  t.match(sessionSetCookie(relogin), { value: /^s3\./ }, 'a new cookie instead')
  valid = true
  t.match((await browser.get('/me')).json(), { user: 'again', isNew: false })

  await browser.request({ method: 'POST', url: '/big' })
  t.ok(await browser.cookie('session.2'), 'a session in three cookies')
  valid = false
  t.same(deleted(await browser.get('/me')), ['session', 'session.1', 'session.2'], 'refused: every piece deleted')
})

t.test('validate must be a function', async (t) => {
  await t.rejects(buildApp({ validate: 'yes' as unknown as () => boolean }), { code: 'FST_SESSION_INVALID_OPTION', message: /"validate" must be a function/ })
})
