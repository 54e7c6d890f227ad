import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import csrfProtection from '@fastify/csrf-protection'
import flash from '@fastify/flash'
import formbody from '@fastify/formbody'
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyReply, type FastifyServerOptions } from 'fastify'
import cookieSession, { type Format } from '../plugin/index.js'
import { fromBrowser, wantsHtml } from './clients.js'
import type { ExampleConfig } from './config.js'
import { createRevocationStore, sessionValidator, type ValidAfterStore } from './revocation.js'
import {
  bigValuePage, bigValueStoredPage, CONTENT_SECURITY_POLICY, dashboardPage, indexPage, loginPage, logoutPage, refusedPage,
  sessionTooLargePage, storeUnavailablePage, type BigValueSummary, type RouteInfo
} from './views.js'

// Flask's session tutorial on Fastify: the same routes and texts, plus what a browser needs
// (a GET login form, HTML pages for HTML clients) and the tutorial's security gaps closed.
//
// Cross-site request forgery: SameSite=Lax keeps the cookie off another site's POSTs, but not off
// its links (a top-level GET), and not off anything from another origin of the same site (a
// sibling subdomain, another port). So every POST that changes the session needs the token of a
// form this session was shown (@fastify/csrf-protection), curl included: it gets one from GET
// /login. No header decides who may skip the check: a cross-site form sends the browser's own
// Accept (with text/html), but a script's fetch() sets Accept to anything. Logging in is guarded
// too: a forged login would put the visitor in the attacker's account. GET /logout keeps the
// tutorial's behaviour for curl only; a browser gets a confirmation form (see fromBrowser).
//
// "Log out everywhere" (POST /logout_everywhere) moves the user's "valid after" time to now in a
// store (example/revocation.ts: in memory, or Redis with REDIS_URL); sessions record who logged
// in (logged_in_as) so that time can be found. The tutorial's `username` is not used for that:
// /set_session and /delete_session change it at will.
//
// Large sessions: /big_session stores 10 KiB, more than one cookie holds. With
// SESSION_MAX_COOKIES=3 the plugin splits it across `session`, `session.1` and `session.2`; with
// the default of one cookie the plugin refuses it (FST_SESSION_TOO_LARGE, thrown in its onSend
// hook after the handler returned), sends no cookie, and the error handler explains.

declare module '../plugin/session.js' {
  interface SessionData {
    username: string
    age: number
    logged_in: boolean
    /** Who logged in: the key of the user's "valid after" time. */
    logged_in_as: string
    /** /big_session's 10 KiB of random text. */
    big_value: string
  }
}

export type AppConfig = Omit<ExampleConfig, 'host' | 'port' | 'warnings'>

const COOKIE_NAME = 'session'

export const ROUTES: readonly RouteInfo[] = [
  { method: 'GET', path: '/set_session', description: "stores username = 'Kimi' and age = 25" },
  { method: 'GET', path: '/get_session', description: 'greets you with the stored name and age' },
  { method: 'GET', path: '/delete_session', description: 'removes username' },
  { method: 'GET', path: '/clear_session', description: 'removes everything: the cookie is deleted' },
  { method: 'GET', path: '/login', description: 'the login form (for curl: its CSRF token as text)' },
  { method: 'POST', path: '/login', description: 'checks the CSRF token and the credentials, then sets logged_in' },
  { method: 'GET', path: '/dashboard', description: 'for logged-in visitors only' },
  { method: 'GET', path: '/logout', description: 'curl: removes logged_in; a browser gets a confirmation form' },
  { method: 'POST', path: '/logout', description: 'checks the CSRF token, then removes logged_in' },
  { method: 'POST', path: '/logout_everywhere', description: 'checks the CSRF token, ends every session of the user, then logs this browser out' },
  { method: 'GET', path: '/big_session', description: 'stores 10 KiB of random text: needs SESSION_MAX_COOKIES=3 (three cookies)' },
  { method: 'GET', path: '/get_big_session', description: 'the stored big value\'s length and SHA-256, and the cookies that carried it' },
  { method: 'GET', path: '/drop_big_session', description: 'removes the big value: its extra cookies are deleted' }
]

const INVALID_CREDENTIALS = 'Invalid credentials!'
const CSRF_REFUSED = 'Invalid or missing CSRF token: GET /login gives one.'
const STORE_UNAVAILABLE = 'The session store did not answer: no session was ended. Try again in a moment.'
/** How much of a rejected username comes back in the form: enough to fix a typo, small enough for a cookie. */
const KEPT_USERNAME_LENGTH = 100
/**
 * /big_session's value: 10 KiB of random base64url text. Deflate shrinks it only to about 7.7 KB
 * (random text has no repeats to find), 10.4 KB once base64url-encoded in the cookie: three
 * cookies' worth, so it shows the splitting. Repeated text would shrink to a few dozen bytes and
 * fit one cookie. Uncompressed it would need 13.7 KB, more than three cookies hold.
 */
const BIG_VALUE_CHARACTERS = 10 * 1024

/** The first `length` characters (code points, so an emoji is never cut in half). */
function firstCharacters (text: string, length: number): string {
  let kept = ''
  let count = 0
  for (const character of text) {
    if (count++ === length) break
    kept += character
  }
  return kept
}

function digest (text: string): Buffer {
  return createHash('sha256').update(text).digest()
}

/** The big value as the pages show it: its length and checksum, never 10 KiB of text. */
function summarize (value: string): Omit<BigValueSummary, 'cookies'> {
  return { characters: value.length, sha256: createHash('sha256').update(value).digest('hex') }
}

/** Adds `name` to the Vary header, keeping what is there (the plugin's `Cookie`). */
function varyOn (reply: FastifyReply, name: string): void {
  const current = reply.getHeader('vary')
  const names = current === undefined ? [] : String(current).split(',').map((part) => part.trim())
  if (!names.some((part) => part.toLowerCase() === name.toLowerCase())) reply.header('vary', [...names, name].join(', '))
}

/** What to change when a session does not fit its cookies: the same words for curl and the page. */
function tooLargeAdvice (config: AppConfig): string {
  const count = config.maxCookies === 1 ? 'one cookie' : `${config.maxCookies} cookies`
  const refused = `The session was not saved: it would not fit in ${count} (SESSION_MAX_COOKIES=${config.maxCookies}). ` +
    'Your browser keeps the session it had.'
  if (config.format === 'flask') return `${refused} Flask reads its session from one cookie, so with SESSION_FORMAT=flask it must fit one.`
  if (config.maxCookies < 3) return `${refused} Start the demo with SESSION_MAX_COOKIES=3 to let a session take up to three cookies.`
  return `${refused} Three is the most. A value like /big_session's fits three cookies only compressed: SESSION_COMPRESS=true ` +
    '(the default, except with SESSION_FORMAT=encrypted).'
}

function sendHtml (reply: FastifyReply, html: string): FastifyReply {
  return reply
    .type('text/html; charset=utf-8')
    .header('content-security-policy', CONTENT_SECURITY_POLICY)
    .send(html)
}

/**
 * The demo app. `validAfter` is where "log out everywhere" keeps its times; by default the app
 * makes one from the config (REDIS_URL) and closes it when it closes. A store passed in is the
 * caller's to close.
 */
export function buildApp (config: AppConfig, fastifyOptions: FastifyServerOptions = {}, validAfter?: ValidAfterStore): FastifyInstance {
  const app = Fastify(fastifyOptions)
  const store = validAfter ?? createRevocationStore(config, app.log)
  if (validAfter === undefined) app.addHook('onClose', () => store.close())
  // Listening waits a moment for Redis, so the first requests find it connected; a Redis that
  // does not come only delays the start (logged-in sessions are refused until it answers).
  app.addHook('onReady', () => store.ready())
  app.register(formbody)
  app.register(cookieSession, {
    // Revocation: every request with a logged-in session asks the store for the user's "valid
    // after" time (one look-up, in memory or in Redis) before any handler runs. A store that does
    // not answer gives that request an empty session: fail closed.
    validate: sessionValidator(store),
    secret: config.secret,
    // Any name goes through: the plugin owns the list of formats and rejects unknown ones at start.
    ...(config.format === undefined ? {} : { format: config.format as Format }),
    cookieName: COOKIE_NAME,
    maxAge: config.lifetime,
    permanent: config.permanent,
    maxCookies: config.maxCookies,
    ...(config.compress === undefined ? {} : { compress: config.compress }),
    cookie: { path: '/', httpOnly: true, secure: config.cookieSecure, sameSite: config.cookieSameSite }
  })
  app.register(flash)
  // '@fastify/session' mode: the secret is request.session._csrf, written by generateCsrf() and
  // dropped by regenerate() on login, so a token from before login is void after it.
  app.register(csrfProtection, { sessionPlugin: '@fastify/session' })

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

  app.setErrorHandler(async (error, request, reply) => {
    const code = (error as { code?: string }).code
    if (code === 'FST_SESSION_TOO_LARGE') {
      // Thrown by the plugin's onSend hook: the handler has returned and cannot know the encoded
      // size. Nothing was sent yet and the plugin wrote no Set-Cookie, so the browser keeps its
      // cookie; this reply replaces the handler's, with its headers (Vary, Cache-Control). 413:
      // what the request asked to store is too large; the message (which keys, how many bytes)
      // is for the log, not the visitor.
      request.log.warn({ err: error }, 'the session did not fit in its cookies: not saved')
      reply.code(413)
      varyOn(reply, 'Accept')
      const advice = tooLargeAdvice(config)
      return wantsHtml(request) ? sendHtml(reply, sessionTooLargePage(advice)) : advice
    }
    // FST_CSRF_MISSING_SECRET (no session) and FST_CSRF_INVALID_TOKEN: a page or a line, not JSON.
    if (!code?.startsWith('FST_CSRF_')) throw error
    reply.code(403).header('vary', 'Accept')
    return wantsHtml(request) ? sendHtml(reply, refusedPage()) : CSRF_REFUSED
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

  app.get('/big_session', async (request, reply) => {
    reply.header('vary', 'Accept')
    const value = randomBytes(BIG_VALUE_CHARACTERS / 4 * 3).toString('base64url')
    request.session.big_value = value
    const { characters, sha256 } = summarize(value)
    if (wantsHtml(request)) return sendHtml(reply, bigValueStoredPage({ characters, sha256 }))
    return `Stored ${characters} random characters, SHA-256 ${sha256}.`
  })

  app.get('/get_big_session', async (request, reply) => {
    reply.header('vary', 'Accept')
    const value = request.session.get('big_value')
    // The session's pieces the browser sent: `session`, then `session.1`, `session.2` when split.
    const cookies = Object.keys(request.cookies).filter((name) => name === COOKIE_NAME || name.startsWith(`${COOKIE_NAME}.`))
    const summary = value === undefined ? undefined : { ...summarize(value), cookies }
    if (wantsHtml(request)) return sendHtml(reply, bigValuePage(summary))
    if (summary === undefined) return 'No big value in the session: GET /big_session stores one.'
    return `The big value has ${summary.characters} characters, SHA-256 ${summary.sha256}; ` +
      `your browser sent it in ${cookies.length} cookie${cookies.length === 1 ? '' : 's'}: ${cookies.join(', ')}.`
  })

  app.get('/drop_big_session', async (request) => {
    request.session.pop('big_value')
    return 'Big value dropped!'
  })

  app.get('/login', async (request, reply) => {
    reply.header('vary', 'Accept')
    const csrfToken = reply.generateCsrf()
    // curl: the token alone, for `token=$(curl ...)` and `-d _csrf=$token` (README).
    if (!wantsHtml(request)) return `${csrfToken}\n`
    // A failed login from a browser comes back here through a redirect, with its message and the
    // typed name in the flash. Only look when there is one: reading an absent flash would store
    // an empty one in the cookie.
    if (!request.session.has('flash')) return sendHtml(reply, loginPage(csrfToken))
    const [error] = reply.flash('error') as string[]
    const [username] = reply.flash('username') as string[]
    request.session.pop('flash')
    return sendHtml(reply, loginPage(csrfToken, { error, username }))
  })

  async function login (request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    if (credentialsMatch(request.body)) {
      // A session planted before login (cookie tossing, a shared computer) must not carry over.
      await request.session.regenerate()
      request.session.logged_in = true
      // credentialsMatch compared it with the one demo user: this is its name.
      request.session.logged_in_as = config.username
      return reply.redirect('/dashboard', 303)
    }
    reply.header('vary', 'Accept')
    if (!wantsHtml(request)) return INVALID_CREDENTIALS
    // Browsers: post/redirect/get, so a reload of the form does not resubmit the password. The
    // flash rides in the cookie: it gets the start of the typed name (a long one would make the
    // cookie too large to send) and never the password.
    const { username } = (request.body ?? {}) as Record<string, unknown>
    request.flash('error', INVALID_CREDENTIALS)
    request.flash('username', typeof username === 'string' ? firstCharacters(username, KEPT_USERNAME_LENGTH) : '')
    return reply.redirect('/login', 303)
  }

  app.get('/dashboard', async (request, reply) => {
    // The tutorial redirects to its POST-only /login; here GET /login is the form.
    if (request.session.logged_in !== true) return reply.redirect('/login', 302)
    reply.header('vary', 'Accept')
    if (!wantsHtml(request)) return 'Welcome to the dashboard!'
    return sendHtml(reply, dashboardPage(reply.generateCsrf(), config.lifetime))
  })

  async function logout (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    request.session.pop('logged_in')
    request.session.pop('logged_in_as')
    // 303 turns the POST from the dashboard's button into a GET of the form.
    return reply.redirect('/login', request.method === 'POST' ? 303 : 302)
  }

  // Every session of the user created up to now is refused from now on, this one included; this
  // browser is also logged out the ordinary way, so its next login starts clean. If the store
  // cannot take the time, nothing changes and the user is told so: claiming success would leave
  // a stolen cookie working.
  async function logoutEverywhere (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const username = request.session.logged_in_as
    if (request.session.logged_in === true && typeof username === 'string') {
      try {
        await store.setValidAfter(username, Math.floor(Date.now() / 1000))
      } catch (error) {
        request.log.error({ err: error }, 'log out everywhere: the valid-after store failed')
        reply.code(503).header('vary', 'Accept')
        return wantsHtml(request) ? sendHtml(reply, storeUnavailablePage()) : reply.send(STORE_UNAVAILABLE)
      }
    }
    return logout(request, reply)
  }

  app.get('/logout', async (request, reply) => {
    reply.header('vary', 'Accept, Sec-Fetch-Site')
    // Any page can make a browser GET this (a link, an image), with the cookie: a browser only
    // gets the form that logs out. Leaving GET to curl keeps the tutorial's `curl .../logout`.
    if (fromBrowser(request)) return sendHtml(reply, logoutPage(reply.generateCsrf(), config.lifetime))
    return logout(request, reply)
  })

  // preHandler, not onRequest: the token in a form body is parsed only by then. The routes wait
  // for the plugin, which adds app.csrfProtection when it loads.
  app.after(() => {
    app.post('/login', { preHandler: app.csrfProtection }, login)
    app.post('/logout', { preHandler: app.csrfProtection }, logout)
    app.post('/logout_everywhere', { preHandler: app.csrfProtection }, logoutEverywhere)
  })

  return app
}
