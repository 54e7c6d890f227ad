import t from 'tap'
import type { FastifyServerOptions } from 'fastify'
import { buildApp, ROUTES } from '../../example/app.js'
import { readConfig, type Environment } from '../../example/config.js'
import { indexPage } from '../../example/views.js'
import { Browser, SECRET, sessionSetCookie } from '../helpers.js'

// The demo app over fastify.inject: the tutorial's routes and texts, the login flow, the pages a
// browser gets, and the cookie the environment asks for.

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'
const FORM = { 'content-type': 'application/x-www-form-urlencoded' }

function demo (t: { teardown: (fn: () => unknown) => void }, env: Environment = {}, fastifyOptions: FastifyServerOptions = {}) {
  const app = buildApp(readConfig({ SESSION_SECRET: SECRET, ...env }), fastifyOptions)
  t.teardown(() => app.close())
  return app
}

function login (browser: Browser, body: string, headers: Record<string, string> = {}) {
  return browser.request({ method: 'POST', url: '/login', payload: body, headers: { ...FORM, ...headers } })
}

t.test('the tutorial routes answer its exact texts and keep the session in the cookie', async (t) => {
  const browser = new Browser(demo(t))

  const fresh = await browser.get('/get_session')
  t.equal(fresh.body, 'Hello, Guest! Your age is 0.')
  t.match(fresh.headers['content-type'], /^text\/plain/)
  t.equal(fresh.headers.vary, 'Cookie', 'a page read from the session varies by cookie')
  t.equal(fresh.headers['cache-control'], 'no-store')
  t.equal(sessionSetCookie(fresh), undefined, 'reading an empty session sets no cookie')

  const set = await browser.get('/set_session')
  t.equal(set.body, 'Session data set!')
  t.equal(set.headers.vary, 'Cookie')
  const cookie = sessionSetCookie(set)
  t.ok(cookie, 'the session cookie is set')
  t.equal(cookie?.path, '/')
  t.equal(cookie?.httpOnly, true)
  t.equal(cookie?.sameSite, 'lax')
  t.notOk(cookie?.secure, 'plain http: no Secure by default (auto)')
  t.equal(cookie?.maxAge, undefined, 'not permanent: no Max-Age')
  t.equal(cookie?.expires, undefined, 'not permanent: no Expires')

  t.equal((await browser.get('/get_session')).body, 'Hello, Kimi! Your age is 25.')

  t.equal((await browser.get('/delete_session')).body, 'Session data deleted!')
  t.equal((await browser.get('/get_session')).body, 'Hello, Guest! Your age is 25.', 'only username was removed')

  const cleared = await browser.get('/clear_session')
  t.equal(cleared.body, 'All session data cleared!')
  t.equal(cleared.headers.vary, 'Cookie')
  t.equal(await browser.cookie(), undefined, 'clearing deleted the cookie from the jar')
  t.equal((await browser.get('/get_session')).body, 'Hello, Guest! Your age is 0.')
})

t.test('GET /login is a form with labels, autofocus and an error area', async (t) => {
  const response = await demo(t).inject('/login')
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^text\/html; charset=utf-8/)
  t.match(response.headers['content-security-policy'], /default-src 'none'/)
  t.match(response.body, /<form method="post" action="\/login">/)
  t.match(response.body, /<label for="username">Username<\/label>/)
  t.match(response.body, /<label for="password">Password<\/label>/)
  t.match(response.body, /<input id="username" name="username"[^>]* autofocus>/)
  t.match(response.body, /<input id="password" name="password" type="password"/)
  t.match(response.body, /<p id="error" class="error" role="alert"><\/p>/, 'the error area is there, empty')
})

t.test('wrong or missing credentials answer "Invalid credentials!" and log nobody in', async (t) => {
  const browser = new Browser(demo(t, { DEMO_USERNAME: 'alice', DEMO_PASSWORD: 'wonderland' }))
  const attempts = [
    'username=alice&password=wrong',
    'username=bob&password=wonderland',
    'username=alice&password=wonderlan',
    'username=alice',
    'password=wonderland',
    '',
    'username=alice&username=alice&password=wonderland',
    'username=admin&password=secret'
  ]
  for (const body of attempts) {
    const response = await login(browser, body)
    t.equal(response.statusCode, 200, body)
    t.equal(response.body, 'Invalid credentials!', body)
    t.match(response.headers['content-type'], /^text\/plain/, body)
    t.equal(sessionSetCookie(response), undefined, `${body}: no cookie`)
  }
  const dashboard = await browser.get('/dashboard')
  t.equal(dashboard.statusCode, 302)
  t.equal(dashboard.headers.location, '/login')
})

t.test('a browser is sent back to the form, where the flash shows the error and the escaped username once', async (t) => {
  const browser = new Browser(demo(t))
  const response = await login(browser, 'username=%3Cscript%3Ealert(1)%3C%2Fscript%3E&password=x', { accept: BROWSER_ACCEPT })
  t.equal(response.statusCode, 303, 'post/redirect/get')
  t.equal(response.headers.location, '/login')
  t.equal(response.headers.vary, 'Accept, Cookie', 'the answer depends on Accept')
  t.ok(sessionSetCookie(response), 'the flash rides in the session cookie')

  const form = await browser.request({ method: 'GET', url: '/login', headers: { accept: BROWSER_ACCEPT } })
  t.match(form.headers['content-type'], /^text\/html/)
  t.match(form.body, /<p id="error" class="error" role="alert">Invalid credentials!<\/p>/)
  t.match(form.body, /value="&lt;script&gt;alert\(1\)&lt;\/script&gt;"/)
  t.notMatch(form.body, /<script>/)
  t.match(form.body, /type="password"[^>]* autofocus>/, 'the password field takes the focus after a failure')
  t.match(sessionSetCookie(form), { value: '', maxAge: 0 }, 'the flash was the whole session: read once, the cookie goes')

  const again = await browser.request({ method: 'GET', url: '/login', headers: { accept: BROWSER_ACCEPT } })
  t.notMatch(again.body, /Invalid credentials!/, 'a flash is shown once')
  t.equal(sessionSetCookie(again), undefined, 'and a form without a flash sets no cookie')
})

t.test('logging in regenerates the session, then the dashboard and logout work', async (t) => {
  const browser = new Browser(demo(t))

  const toLogin = await browser.get('/dashboard')
  t.equal(toLogin.statusCode, 302, 'not logged in: sent to the login form (a GET route here)')
  t.equal(toLogin.headers.location, '/login')
  t.equal(toLogin.headers.vary, 'Cookie')

  await browser.get('/set_session')
  const before = (await browser.cookie())?.value

  const loggedIn = await login(browser, 'username=admin&password=secret')
  t.equal(loggedIn.statusCode, 303)
  t.equal(loggedIn.headers.location, '/dashboard')
  const cookie = sessionSetCookie(loggedIn)
  t.equal(cookie?.httpOnly, true)
  t.not(cookie?.value, before, 'a new cookie is issued')
  t.equal((await browser.get('/get_session')).body, 'Hello, Guest! Your age is 0.', 'pre-login data did not carry over')

  const plain = await browser.get('/dashboard')
  t.equal(plain.statusCode, 200)
  t.equal(plain.body, 'Welcome to the dashboard!')
  t.match(plain.headers['content-type'], /^text\/plain/)
  t.equal(plain.headers.vary, 'Accept, Cookie')

  const html = await browser.request({ method: 'GET', url: '/dashboard', headers: { accept: BROWSER_ACCEPT } })
  t.match(html.headers['content-type'], /^text\/html/)
  t.match(html.body, /<h1>Welcome to the dashboard!<\/h1>/)
  t.match(html.body, /<form method="post" action="\/logout">/)
  t.equal(html.headers.vary, 'Accept, Cookie')

  // Logout removes logged_in only: the rest of the session stays.
  await browser.get('/set_session')
  const out = await browser.get('/logout')
  t.equal(out.statusCode, 302)
  t.equal(out.headers.location, '/login')
  t.equal(out.headers.vary, 'Cookie')
  t.equal((await browser.get('/dashboard')).headers.location, '/login', 'logged out')
  t.equal((await browser.get('/get_session')).body, 'Hello, Kimi! Your age is 25.')
})

t.test('POST /logout (the dashboard button) answers 303 to the form', async (t) => {
  const browser = new Browser(demo(t))
  await login(browser, 'username=admin&password=secret')
  t.equal((await browser.get('/dashboard')).statusCode, 200)
  const out = await browser.request({ method: 'POST', url: '/logout' })
  t.equal(out.statusCode, 303)
  t.equal(out.headers.location, '/login')
  t.equal(await browser.cookie(), undefined, 'the session held only logged_in: the cookie is gone')
  t.equal((await browser.get('/dashboard')).statusCode, 302)
})

t.test('a JSON body logs in too', async (t) => {
  const browser = new Browser(demo(t))
  const response = await browser.request({ method: 'POST', url: '/login', payload: { username: 'admin', password: 'secret' } })
  t.equal(response.statusCode, 303)
  t.equal((await browser.get('/dashboard')).body, 'Welcome to the dashboard!')
})

t.test('GET / lists the routes, the session and the cookie attributes, never the value', async (t) => {
  const browser = new Browser(demo(t))

  const empty = await browser.get('/')
  t.same(empty.json().session, {})
  t.equal(empty.json().cookie['Sent by your browser'], 'no')
  t.equal(empty.headers.vary, 'Accept, Cookie')

  await browser.get('/set_session')
  const value = (await browser.cookie())?.value as string
  const json = await browser.get('/')
  t.match(json.headers['content-type'], /^application\/json/)
  t.same(json.json(), {
    routes: ROUTES,
    session: { username: 'Kimi', age: 25 },
    cookie: {
      Name: 'session',
      'Sent by your browser': 'yes',
      Path: '/',
      HttpOnly: 'yes (scripts cannot read it)',
      Secure: 'no (plain http)',
      SameSite: 'lax',
      Lifetime: 'until the browser closes (not permanent)'
    }
  })
  t.notOk(json.body.includes(value), 'the cookie value is not shown')

  const html = await browser.request({ method: 'GET', url: '/', headers: { accept: BROWSER_ACCEPT } })
  t.match(html.headers['content-type'], /^text\/html/)
  for (const route of ROUTES) t.match(html.body, route.path)
  t.match(html.body, /<a href="\/set_session">\/set_session<\/a>/)
  t.match(html.body, /&quot;username&quot;: &quot;Kimi&quot;/)
  t.match(html.body, /<th>SameSite<\/th><td>lax<\/td>/)
  t.notOk(html.body.includes(value), 'the cookie value is not shown')
})

t.test('the index page escapes session contents', async (t) => {
  const html = indexPage(ROUTES, { '<b>key</b>': '"><img src=x onerror=alert(1)>' }, { "it's": '<i>' })
  t.notMatch(html, /<img src=x/)
  t.notMatch(html, /<b>key/)
  t.match(html, /&lt;b&gt;key&lt;\/b&gt;/)
  t.match(html, /&quot;&gt;&lt;img src=x onerror=alert\(1\)&gt;/)
  t.match(html, /<th>it&#39;s<\/th><td>&lt;i&gt;<\/td>/)
})

t.test('the environment shapes the cookie', async (t) => {
  t.test('SESSION_PERMANENT and SESSION_LIFETIME: a cookie with Max-Age and Expires', async (t) => {
    const browser = new Browser(demo(t, { SESSION_PERMANENT: '1', SESSION_LIFETIME: '600' }))
    const cookie = sessionSetCookie(await browser.get('/set_session'))
    t.equal(cookie?.maxAge, 600)
    t.ok(cookie?.expires instanceof Date)
    t.equal((await browser.get('/')).json().cookie.Lifetime, 'permanent: Max-Age 600 seconds')
  })

  t.test('SESSION_COOKIE_SECURE=true and SESSION_COOKIE_SAMESITE=strict', async (t) => {
    const app = demo(t, { SESSION_COOKIE_SECURE: 'true', SESSION_COOKIE_SAMESITE: 'strict' })
    const cookie = sessionSetCookie(await app.inject('/set_session'))
    t.equal(cookie?.secure, true)
    t.equal(cookie?.sameSite, 'strict')
  })

  t.test('SESSION_COOKIE_SECURE=auto: Secure over https behind a trusted proxy', async (t) => {
    const app = demo(t, {}, { trustProxy: true })
    const https = sessionSetCookie(await app.inject({ url: '/set_session', headers: { 'x-forwarded-proto': 'https' } }))
    const http = sessionSetCookie(await app.inject('/set_session'))
    t.equal(https?.secure, true)
    t.notOk(http?.secure)
  })

  t.test('SESSION_COOKIE_SAMESITE=false: no SameSite attribute', async (t) => {
    const cookie = sessionSetCookie(await demo(t, { SESSION_COOKIE_SAMESITE: 'false' }).inject('/set_session'))
    t.notMatch(cookie?.header, /samesite/i)
  })

  t.test('a cookie from another secret is ignored', async (t) => {
    const other = new Browser(demo(t, { SESSION_SECRET: 'x'.repeat(40) }))
    await other.get('/set_session')
    const cookie = await other.cookie()
    const response = await demo(t).inject({ url: '/get_session', headers: { cookie: `session=${cookie?.value}` } })
    t.equal(response.body, 'Hello, Guest! Your age is 0.')
  })
})

t.test('SESSION_FORMAT goes to the plugin, which rejects unknown formats at start', async (t) => {
  const app = demo(t, { SESSION_FORMAT: 'signed' })
  t.equal((await app.inject('/set_session')).body, 'Session data set!')
  const unknownFormat = demo(t, { SESSION_FORMAT: 'no-such-format' })
  await t.rejects(async () => { await unknownFormat.ready() }, { code: 'FST_SESSION_INVALID_OPTION', message: /"format"/ })
})
