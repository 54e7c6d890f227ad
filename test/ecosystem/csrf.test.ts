import csrf from '@fastify/csrf-protection'
import formbody from '@fastify/formbody'
import type { FastifyRequest } from 'fastify'
import t from 'tap'
import { buildApp, Browser, sessionSetCookie } from '../helpers.js'

// @fastify/csrf-protection keeps its secret in the session. In '@fastify/secure-session' mode it
// calls session.get/set (and session.options(opts) when generateCsrf gets options); in
// '@fastify/session' mode it reads and assigns request.session._csrf. Both reach the same data.

const MODES = ['@fastify/secure-session', '@fastify/session'] as const

async function csrfApp (sessionPlugin: typeof MODES[number], getUserInfo?: (request: FastifyRequest) => string) {
  return buildApp({}, (app) => {
    app.register(formbody)
    app.register(csrf, getUserInfo === undefined ? { sessionPlugin } : { sessionPlugin, getUserInfo })
    app.get('/form', async (request, reply) => {
      const userInfo = request.query as { as?: string }
      return { token: reply.generateCsrf(userInfo.as === undefined ? undefined : { userInfo: userInfo.as }) }
    })
    app.get('/login', async (request) => { request.session.user = 'kimi'; return 'ok' })
    app.get('/relogin', async (request) => { await request.session.regenerate(); request.session.user = 'kimi'; return 'ok' })
    app.after(() => {
      // preHandler, not onRequest: a token sent in the form body is only parsed by then.
      app.post('/transfer', { preHandler: app.csrfProtection }, async () => 'done')
    })
  })
}

for (const mode of MODES) {
  t.test(`sessionPlugin: '${mode}'`, async (t) => {
    const app = await csrfApp(mode)
    t.teardown(() => app.close())
    const browser = new Browser(app)

    const issued = await browser.get('/form')
    const { token } = issued.json() as { token: string }
    t.match(token, /^[\w-]+$/, 'a token is issued')
    t.ok(sessionSetCookie(issued), 'its secret is stored in the session cookie')

    const again = await browser.get('/form')
    t.not((again.json() as { token: string }).token, token, 'every form gets a fresh token')
    t.equal(sessionSetCookie(again), undefined, 'from the same secret: the cookie is not rewritten')

    const withBody = await browser.request({ method: 'POST', url: '/transfer', payload: { _csrf: token } })
    t.equal(withBody.statusCode, 200, 'accepted with the token in the form body')
    t.equal(withBody.body, 'done')
    const withHeader = await browser.request({ method: 'POST', url: '/transfer', headers: { 'x-csrf-token': token } })
    t.equal(withHeader.statusCode, 200, 'accepted with the token in a header')

    const missing = await browser.request({ method: 'POST', url: '/transfer', payload: {} })
    t.equal(missing.statusCode, 403, 'refused without the token')
    t.equal(missing.json().code, 'FST_CSRF_INVALID_TOKEN')
    const forged = await browser.request({ method: 'POST', url: '/transfer', payload: { _csrf: `${token}x` } })
    t.equal(forged.statusCode, 403, 'refused with a tampered token')

    const stranger = await app.inject({ method: 'POST', url: '/transfer', payload: { _csrf: token } })
    t.equal(stranger.statusCode, 403, 'the token alone, without the session, is refused')
    t.equal(stranger.json().code, 'FST_CSRF_MISSING_SECRET')

    const other = new Browser(app)
    await other.get('/form')
    const crossed = await other.request({ method: 'POST', url: '/transfer', payload: { _csrf: token } })
    t.equal(crossed.statusCode, 403, "another session's token is refused")
  })

  t.test(`'${mode}' mode: regenerating the session drops the secret`, async (t) => {
    const app = await csrfApp(mode)
    t.teardown(() => app.close())
    const browser = new Browser(app)
    const { token } = (await browser.get('/form')).json() as { token: string }
    await browser.get('/relogin')
    const stale = await browser.request({ method: 'POST', url: '/transfer', payload: { _csrf: token } })
    t.equal(stale.statusCode, 403, 'a token issued before login is not valid after it')
  })
}

t.test("'@fastify/session' mode binds tokens to the user with getUserInfo", async (t) => {
  const app = await csrfApp('@fastify/session', (request) => String(request.session.user))
  t.teardown(() => app.close())
  const browser = new Browser(app)
  await browser.get('/login')
  const { token } = (await browser.get('/form?as=kimi')).json() as { token: string }
  t.equal((await browser.request({ method: 'POST', url: '/transfer', payload: { _csrf: token } })).statusCode, 200)
  const { token: forOther } = (await browser.get('/form?as=someone-else')).json() as { token: string }
  t.equal((await browser.request({ method: 'POST', url: '/transfer', payload: { _csrf: forOther } })).statusCode, 403)
})

t.test("'@fastify/secure-session' mode passes cookie attributes to session.options()", async (t) => {
  const app = await buildApp({}, (app) => {
    app.register(csrf, { sessionPlugin: '@fastify/secure-session' })
    app.get('/form', async (_request, reply) => ({ token: reply.generateCsrf({ sameSite: 'strict' }) }))
  })
  t.teardown(() => app.close())
  const response = await app.inject('/form')
  t.equal(response.statusCode, 200)
  t.match(sessionSetCookie(response)?.header, /SameSite=Strict/)
})

// generateCsrf(opts) hands its whole options object, userInfo included, to session.options(),
// as @fastify/secure-session expects: the keys that are not cookie attributes are ignored.
t.test("'@fastify/secure-session' mode binds tokens to the user with getUserInfo", async (t) => {
  const app = await csrfApp('@fastify/secure-session', (request) => String(request.session.user))
  t.teardown(() => app.close())
  const browser = new Browser(app)
  await browser.get('/login')
  const form = await browser.get('/form?as=kimi')
  t.equal(form.statusCode, 200)
  const { token } = form.json() as { token: string }
  t.equal((await browser.request({ method: 'POST', url: '/transfer', payload: { _csrf: token } })).statusCode, 200)
  const { token: forOther } = (await browser.get('/form?as=someone-else')).json() as { token: string }
  t.equal((await browser.request({ method: 'POST', url: '/transfer', payload: { _csrf: forOther } })).statusCode, 403,
    "a token made for another user's info is refused")
})
