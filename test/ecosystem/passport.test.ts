import formbody from '@fastify/formbody'
import { Authenticator } from '@fastify/passport'
import { Strategy as LocalStrategy } from 'passport-local'
import t, { type Test } from 'tap'
import { buildApp, Browser, sessionSetCookie } from '../helpers.js'

// @fastify/passport stores the serialized user under session 'passport'. On login it awaits
// session.regenerate(keep) (keep may list Object.keys(session)); on logout it calls
// set('passport', undefined) then regenerate(); the session strategy reads get('passport').
// passport.initialize() registers @fastify/flash itself, so the app must not register it again.

interface User { id: number, name: string, password: string }

async function passportApp (t: Test) {
  const users = new Map<number, User>([[1, { id: 1, name: 'kimi', password: 'right' }]])
  const passport = new Authenticator()
  passport.use('local', new LocalStrategy((username, password, done) => {
    const user = [...users.values()].find((candidate) => candidate.name === username)
    if (user === undefined || user.password !== password) done(null, false)
    else done(null, user)
  }))
  passport.registerUserSerializer(async (user: User) => user.id)
  passport.registerUserDeserializer(async (id: number) => users.get(id) ?? null)

  const app = await buildApp({}, (app) => {
    app.register(formbody)
    app.register(passport.initialize())
    app.register(passport.secureSession())
    app.post('/login', passport.authenticate('local', { successRedirect: '/me', failureRedirect: '/login', failureFlash: 'Invalid credentials!' }))
    app.post('/login-keep', passport.authenticate('local', { successRedirect: '/me', keepSessionInfo: true }))
    app.get('/login', async (_request, reply) => ({ errors: reply.flash('error') }))
    app.get('/me', async (request, reply) => {
      if (!request.isAuthenticated()) return reply.code(401).send({ user: null })
      return { user: (request.user as User).name, cart: request.session.cart ?? null, id: request.session.sessionId }
    })
    app.get('/cart', async (request) => { request.session.cart = ['book']; return request.session.sessionId })
    app.post('/logout', async (request) => { await request.logout(); return 'bye' })
  })
  t.teardown(() => app.close())
  return { app, users }
}

const form = (name: string, password: string) => ({ method: 'POST' as const, url: '/login', payload: { username: name, password } })

t.test('local login, request.user on the next request, logout', async (t) => {
  const { app } = await passportApp(t)
  const browser = new Browser(app)
  t.equal((await browser.get('/me')).statusCode, 401, 'anonymous at first')
  const visitorId = (await browser.get('/cart')).body

  const login = await browser.request(form('kimi', 'right'))
  t.equal(login.statusCode, 302)
  t.equal(login.headers.location, '/me')
  t.ok(sessionSetCookie(login), 'the login is stored in the cookie')

  const me = await browser.get('/me')
  t.equal(me.statusCode, 200)
  const body = me.json() as { user: string, cart: unknown, id: string }
  t.equal(body.user, 'kimi', 'request.user deserialized on the next request')
  t.equal(body.cart, null, 'login regenerated the session: pre-login data dropped')
  t.not(body.id, visitorId, 'and the session id changed (no session fixation)')

  const loggedOut = await browser.request({ method: 'POST', url: '/logout' })
  t.equal(loggedOut.body, 'bye')
  t.match(sessionSetCookie(loggedOut)?.header, /Expires=Thu, 01 Jan 1970/, 'logout emptied the session: the cookie is deleted')
  t.equal(await browser.cookie(), undefined)
  t.equal((await browser.get('/me')).statusCode, 401, 'anonymous again')
})

t.test('keepSessionInfo keeps pre-login data (passport lists Object.keys(session))', async (t) => {
  const { app } = await passportApp(t)
  const browser = new Browser(app)
  const visitorId = (await browser.get('/cart')).body
  await browser.request({ ...form('kimi', 'right'), url: '/login-keep' })
  const body = (await browser.get('/me')).json() as { user: string, cart: unknown, id: string }
  t.same(body.cart, ['book'])
  t.equal(body.user, 'kimi')
  t.not(body.id, visitorId, 'still a new session id')
})

t.test('a failed login redirects back with a flash message', async (t) => {
  const { app } = await passportApp(t)
  const browser = new Browser(app)
  const failed = await browser.request(form('kimi', 'wrong'))
  t.equal(failed.statusCode, 302)
  t.equal(failed.headers.location, '/login')
  t.same((await browser.get('/login')).json(), { errors: ['Invalid credentials!'] })
  t.same((await browser.get('/login')).json(), { errors: [] }, 'shown once')
  t.equal((await browser.get('/me')).statusCode, 401)
})

t.test('a user deleted server-side is logged out on the next request', async (t) => {
  const { app, users } = await passportApp(t)
  const browser = new Browser(app)
  await browser.request(form('kimi', 'right'))
  users.delete(1)
  const me = await browser.get('/me')
  t.equal(me.statusCode, 401)
  t.match(sessionSetCookie(me)?.header, /Expires=Thu, 01 Jan 1970/, 'the stale login is removed from the browser')
})
