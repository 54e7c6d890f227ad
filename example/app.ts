import { createHash, timingSafeEqual } from 'node:crypto'
import flash from '@fastify/flash'
import formbody from '@fastify/formbody'
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyReply, type FastifyServerOptions } from 'fastify'
import cookieSession, { type Format } from '../plugin/index.js'
import type { ExampleConfig } from './config.js'
import { CONTENT_SECURITY_POLICY, dashboardPage, indexPage, loginPage, type RouteInfo } from './views.js'

// Flask's session tutorial on Fastify: the same routes and texts, plus what a browser needs
// (a GET login form, HTML pages for HTML clients) and the tutorial's security gaps closed.

declare module '../plugin/session.js' {
  interface SessionData {
    username: string
    age: number
    logged_in: boolean
  }
}

export type AppConfig = Omit<ExampleConfig, 'host' | 'port' | 'warnings'>

const COOKIE_NAME = 'session'

export const ROUTES: readonly RouteInfo[] = [
  { method: 'GET', path: '/set_session', description: "stores username = 'Kimi' and age = 25" },
  { method: 'GET', path: '/get_session', description: 'greets you with the stored name and age' },
  { method: 'GET', path: '/delete_session', description: 'removes username' },
  { method: 'GET', path: '/clear_session', description: 'removes everything: the cookie is deleted' },
  { method: 'GET', path: '/login', description: 'the login form' },
  { method: 'POST', path: '/login', description: 'checks the credentials, then sets logged_in' },
  { method: 'GET', path: '/dashboard', description: 'for logged-in visitors only' },
  { method: 'GET', path: '/logout', description: 'removes logged_in (POST works too)' }
]

const INVALID_CREDENTIALS = 'Invalid credentials!'

function digest (text: string): Buffer {
  return createHash('sha256').update(text).digest()
}

/** Whether the client prefers a page to plain text: browsers list text/html, curl sends *\/*. */
function wantsHtml (request: FastifyRequest): boolean {
  const accept = request.headers.accept
  if (accept === undefined) return false
  return accept.split(',').some((range) => {
    const [type, ...parameters] = range.split(';').map((part) => part.trim().toLowerCase())
    if (type !== 'text/html' && type !== 'application/xhtml+xml') return false
    const q = parameters.find((parameter) => parameter.startsWith('q='))
    return q === undefined || Number(q.slice(2)) > 0
  })
}

function sendHtml (reply: FastifyReply, html: string): FastifyReply {
  return reply
    .type('text/html; charset=utf-8')
    .header('content-security-policy', CONTENT_SECURITY_POLICY)
    .send(html)
}

export function buildApp (config: AppConfig, fastifyOptions: FastifyServerOptions = {}): FastifyInstance {
  const app = Fastify(fastifyOptions)
  app.register(formbody)
  app.register(cookieSession, {
    secret: config.secret,
    // Any name goes through: the plugin owns the list of formats and rejects unknown ones at start.
    ...(config.format === undefined ? {} : { format: config.format as Format }),
    cookieName: COOKIE_NAME,
    maxAge: config.lifetime,
    permanent: config.permanent,
    cookie: { path: '/', httpOnly: true, secure: config.cookieSecure, sameSite: config.cookieSameSite }
  })
  app.register(flash)

  // Hashing both sides gives equal-length buffers, so the comparison's time says nothing about
  // where the input differs or how long the real values are.
  const expectedUsername = digest(config.username)
  const expectedPassword = digest(config.password)
  function credentialsMatch (body: unknown): boolean {
    const { username, password } = (body ?? {}) as Record<string, unknown>
    if (typeof username !== 'string' || typeof password !== 'string') return false
    const usernameMatches = timingSafeEqual(digest(username), expectedUsername)
    const passwordMatches = timingSafeEqual(digest(password), expectedPassword)
    return usernameMatches && passwordMatches
  }

  // Every page here depends on the visitor's session: no cache may keep one.
  app.addHook('onRequest', async (_request, reply) => {
    reply.header('cache-control', 'no-store')
  })

  app.get('/', async (request, reply) => {
    reply.header('vary', 'Accept')
    const secure = config.cookieSecure === 'auto' ? request.protocol === 'https' : config.cookieSecure
    const cookie = {
      Name: COOKIE_NAME,
      'Sent by your browser': request.cookies[COOKIE_NAME] === undefined ? 'no' : 'yes',
      Path: '/',
      HttpOnly: 'yes (scripts cannot read it)',
      Secure: secure ? 'yes' : 'no (plain http)',
      SameSite: config.cookieSameSite === false ? '(not sent)' : config.cookieSameSite,
      Lifetime: request.session.permanent
        ? `permanent: Max-Age ${config.lifetime} seconds`
        : 'until the browser closes (not permanent)'
    }
    const session = request.session.data()
    if (!wantsHtml(request)) return { routes: ROUTES, session, cookie }
    return sendHtml(reply, indexPage(ROUTES, session, cookie))
  })

  app.get('/set_session', async (request) => {
    request.session.username = 'Kimi'
    request.session.age = 25
    return 'Session data set!'
  })

  app.get('/get_session', async (request) => {
    const username = request.session.get('username', 'Guest')
    const age = request.session.get('age', 0)
    return `Hello, ${username}! Your age is ${age}.`
  })

  app.get('/delete_session', async (request) => {
    request.session.pop('username')
    return 'Session data deleted!'
  })

  app.get('/clear_session', async (request) => {
    request.session.clear()
    return 'All session data cleared!'
  })

  app.get('/login', async (request, reply) => {
    // A failed login from a browser comes back here through a redirect, with its message and the
    // typed name in the flash. Only look when there is one: reading an absent flash would store
    // an empty one and give every visitor of the form a cookie.
    if (!request.session.has('flash')) return sendHtml(reply, loginPage())
    const [error] = reply.flash('error') as string[]
    const [username] = reply.flash('username') as string[]
    request.session.pop('flash')
    return sendHtml(reply, loginPage({ error, username }))
  })

  app.post('/login', async (request, reply) => {
    if (credentialsMatch(request.body)) {
      // A session planted before login (cookie tossing, a shared computer) must not carry over.
      await request.session.regenerate()
      request.session.logged_in = true
      return reply.redirect('/dashboard', 303)
    }
    reply.header('vary', 'Accept')
    if (!wantsHtml(request)) return INVALID_CREDENTIALS
    // Browsers: post/redirect/get, so a reload of the form does not resubmit the password.
    const { username } = (request.body ?? {}) as Record<string, unknown>
    request.flash('error', INVALID_CREDENTIALS)
    request.flash('username', typeof username === 'string' ? username : '')
    return reply.redirect('/login', 303)
  })

  app.get('/dashboard', async (request, reply) => {
    // The tutorial redirects to its POST-only /login; here GET /login is the form.
    if (request.session.logged_in !== true) return reply.redirect('/login', 302)
    reply.header('vary', 'Accept')
    if (!wantsHtml(request)) return 'Welcome to the dashboard!'
    return sendHtml(reply, dashboardPage())
  })

  async function logout (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    request.session.pop('logged_in')
    // 303 turns the POST from the dashboard's button into a GET of the form.
    return reply.redirect('/login', request.method === 'POST' ? 303 : 302)
  }
  app.get('/logout', logout)
  app.post('/logout', logout)

  return app
}
