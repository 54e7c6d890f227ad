import { readFile } from 'node:fs/promises'
import t, { type Test } from 'tap'
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

// What clients send, as seen from Chromium 156 and curl (test/browser/login.test.ts records
// Chromium's): browsers add Sec-Fetch-* to every request, and pages cannot change or remove them.
const CURL = { accept: '*/*', 'user-agent': 'curl/8.14.1' }
const NAVIGATION = { accept: BROWSER_ACCEPT, 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' }
const IMAGE = {
  accept: 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8',
  'sec-fetch-site': 'same-site',
  'sec-fetch-mode': 'no-cors',
  'sec-fetch-dest': 'image'
}

function login (browser: Browser, body: string, headers: Record<string, string> = {}) {
  return browser.request({ method: 'POST', url: '/login', payload: body, headers: { ...FORM, ...headers } })
}

/** The token in a page's hidden _csrf field ('' when the page has none). */
function formToken (html: string): string {
  return /<input type="hidden" name="_csrf" value="([^"]*)">/.exec(html)?.[1] ?? ''
}

/** Logs in as curl does (README): the token from GET /login, then the credentials with it. */
async function curlLogin (browser: Browser, credentials = 'username=admin&password=secret') {
  const token = (await browser.request({ method: 'GET', url: '/login', headers: CURL })).body.trim()
  return login(browser, `${credentials}&_csrf=${encodeURIComponent(token)}`, CURL)
}

/** Submits the login form as a browser does: the form's page first, then its fields. */
async function browserLogin (browser: Browser, credentials: string) {
  const form = await browser.request({ method: 'GET', url: '/login', headers: NAVIGATION })
  return login(browser, `${credentials}&_csrf=${formToken(form.body)}`, NAVIGATION)
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

t.test('GET /login is a form with labels, autofocus, an error area and a CSRF token', async (t) => {
  const browser = new Browser(demo(t))
  const response = await browser.request({ method: 'GET', url: '/login', headers: NAVIGATION })
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^text\/html; charset=utf-8/)
  t.match(response.headers['content-security-policy'], /default-src 'none'/)
  t.equal(response.headers.vary, 'Accept, Cookie')
  t.match(response.body, /<form method="post" action="\/login">\s*<input type="hidden" name="_csrf" value="[\w-]{20,}">/)
  t.ok(sessionSetCookie(response), "the token's secret is stored in the session cookie")
  t.match(response.body, /<label for="username">Username<\/label>/)
  t.match(response.body, /<label for="password">Password<\/label>/)
  t.match(response.body, /<input id="username" name="username"[^>]* autofocus>/)
  t.match(response.body, /<input id="password" name="password" type="password"/)
  t.match(response.body, /<p id="error" class="error" role="alert"><\/p>/, 'the error area is there, empty')

  const again = await browser.request({ method: 'GET', url: '/login', headers: NAVIGATION })
  t.not(formToken(again.body), formToken(response.body), 'every form gets a fresh token')
  t.equal(sessionSetCookie(again), undefined, 'from the same secret: the cookie is not rewritten')

  const curl = await browser.request({ method: 'GET', url: '/login', headers: CURL })
  t.match(curl.headers['content-type'], /^text\/plain/)
  t.match(curl.body, /^[\w-]{20,}\n$/, 'curl gets the token alone, on one line')
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
    const response = await curlLogin(browser, body)
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
  const response = await browserLogin(browser, 'username=%3Cscript%3Ealert(1)%3C%2Fscript%3E&password=x')
  t.equal(response.statusCode, 303, 'post/redirect/get')
  t.equal(response.headers.location, '/login')
  t.equal(response.headers.vary, 'Accept, Cookie', 'the answer depends on Accept')
  t.ok(sessionSetCookie(response), 'the flash rides in the session cookie')

  const form = await browser.request({ method: 'GET', url: '/login', headers: NAVIGATION })
  t.match(form.headers['content-type'], /^text\/html/)
  t.match(form.body, /<p id="error" class="error" role="alert">Invalid credentials!<\/p>/)
  t.match(form.body, /value="&lt;script&gt;alert\(1\)&lt;\/script&gt;"/)
  t.notMatch(form.body, /<script>/)
  t.match(form.body, /type="password"[^>]* autofocus>/, 'the password field takes the focus after a failure')
  t.ok(sessionSetCookie(form), 'read once, the flash leaves the cookie')
  t.same(Object.keys((await browser.get('/')).json().session), ['_csrf'], 'only the CSRF secret stays')

  const again = await browser.request({ method: 'GET', url: '/login', headers: NAVIGATION })
  t.notMatch(again.body, /Invalid credentials!/, 'a flash is shown once')
  t.equal(sessionSetCookie(again), undefined, 'and a form without a flash does not rewrite the cookie')
})

// Item 9 of issue 14: the flash carried the whole typed name, so a long one made the cookie too
// large (FST_SESSION_TOO_LARGE, a 500). Names that JSON escapes to 6 or 12 bytes a character are
// the worst case for each format's size.
t.test('a failed browser login with a 6,000-character username flashes back its first 100 characters', async (t) => {
  const names = {
    letters: 'a'.repeat(6000),
    'control characters': '\u0001'.repeat(6000),
    emoji: '\u{1F600}'.repeat(3000) // 6,000 UTF-16 code units; never cut inside a pair
  }
  for (const format of ['signed', 'encrypted', 'flask']) {
    for (const [kind, name] of Object.entries(names)) {
      const browser = new Browser(demo(t, { SESSION_FORMAT: format }))
      const password = `not the password ${'p'.repeat(6000)}`
      const response = await browserLogin(browser, new URLSearchParams({ username: name, password }).toString())
      t.equal(response.statusCode, 303, `${format}, ${kind}: back to the form, not a 500`)
      const cookie = sessionSetCookie(response)
      t.ok(cookie !== undefined && Buffer.byteLength(`${cookie.name}=${cookie.value}`) < 4096, `${format}, ${kind}: the cookie fits`)
      const stored = JSON.stringify((await browser.get('/')).json().session)
      t.notOk(stored.includes('not the password'), `${format}, ${kind}: the password is not in the session`)

      const form = await browser.request({ method: 'GET', url: '/login', headers: NAVIGATION })
      const kept = Array.from(name).slice(0, 100).join('')
      t.match(form.body, `value="${kept}"`, `${format}, ${kind}: the first 100 characters are kept`)
      t.notMatch(form.body, `value="${kept}${Array.from(name)[100]}`, `${format}, ${kind}: and no more`)
    }
  }
})

t.test('logging in regenerates the session, then the dashboard and logout work', async (t) => {
  const browser = new Browser(demo(t))

  const toLogin = await browser.get('/dashboard')
  t.equal(toLogin.statusCode, 302, 'not logged in: sent to the login form (a GET route here)')
  t.equal(toLogin.headers.location, '/login')
  t.equal(toLogin.headers.vary, 'Cookie')

  await browser.get('/set_session')
  const before = (await browser.cookie())?.value

  const loggedIn = await curlLogin(browser)
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

  const html = await browser.request({ method: 'GET', url: '/dashboard', headers: NAVIGATION })
  t.match(html.headers['content-type'], /^text\/html/)
  t.match(html.body, /<h1>Welcome to the dashboard!<\/h1>/)
  t.match(html.body, /<form method="post" action="\/logout"><input type="hidden" name="_csrf" value="[\w-]{20,}">/)
  t.equal(html.headers.vary, 'Accept, Cookie')

  // Logout removes logged_in only: the rest of the session stays.
  await browser.get('/set_session')
  const out = await browser.get('/logout')
  t.equal(out.statusCode, 302)
  t.equal(out.headers.location, '/login')
  t.equal(out.headers.vary, 'Accept, Sec-Fetch-Site, Cookie')
  t.equal((await browser.get('/dashboard')).headers.location, '/login', 'logged out')
  t.equal((await browser.get('/get_session')).body, 'Hello, Kimi! Your age is 25.')
})

t.test('POST /logout (the dashboard button) answers 303 to the form', async (t) => {
  const browser = new Browser(demo(t))
  await curlLogin(browser)
  const dashboard = await browser.request({ method: 'GET', url: '/dashboard', headers: NAVIGATION })
  t.equal(dashboard.statusCode, 200)
  const out = await browser.request({ method: 'POST', url: '/logout', payload: `_csrf=${formToken(dashboard.body)}`, headers: { ...FORM, ...NAVIGATION } })
  t.equal(out.statusCode, 303)
  t.equal(out.headers.location, '/login')
  t.same(Object.keys((await browser.get('/')).json().session), ['_csrf'], 'logged_in is gone, the CSRF secret stays')
  t.equal((await browser.get('/dashboard')).statusCode, 302)
})

t.test('a JSON body logs in too, with the token in it or in a header', async (t) => {
  const browser = new Browser(demo(t))
  const token = (await browser.request({ method: 'GET', url: '/login', headers: CURL })).body.trim()
  const response = await browser.request({ method: 'POST', url: '/login', payload: { username: 'admin', password: 'secret', _csrf: token } })
  t.equal(response.statusCode, 303)
  t.equal((await browser.get('/dashboard')).body, 'Welcome to the dashboard!')

  const other = new Browser(browser.app)
  const header = (await other.request({ method: 'GET', url: '/login', headers: CURL })).body.trim()
  const viaHeader = await other.request({ method: 'POST', url: '/login', payload: { username: 'admin', password: 'secret' }, headers: { 'x-csrf-token': header } })
  t.equal(viaHeader.statusCode, 303, 'X-CSRF-Token works too (@fastify/csrf-protection reads both)')
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

// Item 10 of issue 14: SameSite=Lax still sends the cookie with a top-level GET from another
// site, and with anything from another origin of the same site (a sibling subdomain, another
// port). Every POST that changes the session now needs the token of a form this session was
// shown; GET /logout logs out only clients that are not browsers (curl, the tutorial's way).
t.test('a POST without the token of a form shown to this session is refused and changes nothing', async (t) => {
  const app = demo(t)
  const browser = new Browser(app)
  t.equal((await curlLogin(browser)).statusCode, 303, 'curl logs in with the token from GET /login')
  t.equal((await browser.get('/dashboard')).statusCode, 200)

  const dashboard = await browser.request({ method: 'GET', url: '/dashboard', headers: NAVIGATION })
  const token = formToken(dashboard.body)
  const other = new Browser(app)
  const othersToken = (await other.request({ method: 'GET', url: '/login', headers: CURL })).body.trim()
  const forgeries: Array<[string, string]> = [
    ['no token', ''],
    ['an empty token', '_csrf='],
    ['a tampered token', `_csrf=${token}x`],
    ["another session's token", `_csrf=${othersToken}`]
  ]
  for (const [what, payload] of forgeries) {
    const refused = await browser.request({ method: 'POST', url: '/logout', payload, headers: { ...FORM, ...NAVIGATION } })
    t.equal(refused.statusCode, 403, `POST /logout with ${what} is refused`)
    t.match(refused.headers['content-type'], /^text\/html/, what)
    t.match(refused.headers['content-security-policy'], /default-src 'none'/, what)
    t.match(refused.body, /<h1>Form refused<\/h1>/, what)
    t.equal(sessionSetCookie(refused), undefined, `${what}: the cookie is not touched`)
    t.equal((await browser.get('/dashboard')).statusCode, 200, `${what}: still logged in`)
  }

  const stranger = new Browser(app)
  const noSession = await login(stranger, 'username=admin&password=secret', CURL)
  t.equal(noSession.statusCode, 403, 'POST /login with the right credentials but no session and no token')
  t.equal(noSession.body, 'Invalid or missing CSRF token: GET /login gives one.')
  t.match(noSession.headers['content-type'], /^text\/plain/)
  await stranger.request({ method: 'GET', url: '/login', headers: CURL })
  const noToken = await login(stranger, 'username=admin&password=secret', CURL)
  t.equal(noToken.statusCode, 403, 'POST /login with a session but no token')
  t.equal((await stranger.get('/dashboard')).statusCode, 302, 'nobody was logged in')

  const before = (await stranger.request({ method: 'GET', url: '/login', headers: CURL })).body.trim()
  t.equal((await login(stranger, `username=admin&password=secret&_csrf=${before}`, CURL)).statusCode, 303)
  const stale = await browser.request({ method: 'POST', url: '/logout', payload: `_csrf=${before}`, headers: FORM })
  t.equal(stale.statusCode, 403, 'logging in regenerated the session: a token from before it is void')

  const out = await browser.request({ method: 'POST', url: '/logout', payload: `_csrf=${token}`, headers: { ...FORM, ...NAVIGATION } })
  t.equal(out.statusCode, 303, "the dashboard form's own token logs out")
  t.equal((await browser.get('/dashboard')).statusCode, 302)
})

t.test('GET /logout asks a browser to confirm with a POST form, and logs curl out', async (t) => {
  const browser = new Browser(demo(t))
  await curlLogin(browser)
  const browsers: Array<[string, Record<string, string>]> = [
    ['a link from another page of the site', NAVIGATION],
    ['an image on another page of the site', IMAGE],
    ['a link in a browser without Sec-Fetch headers', { accept: BROWSER_ACCEPT }]
  ]
  let token = ''
  for (const [what, headers] of browsers) {
    const response = await browser.request({ method: 'GET', url: '/logout', headers })
    t.equal(response.statusCode, 200, `${what}: a page, not a redirect`)
    t.match(response.headers['content-type'], /^text\/html/, what)
    t.match(response.headers['content-security-policy'], /default-src 'none'/, what)
    t.match(response.headers.vary, /Accept, Sec-Fetch-Site/, what)
    t.match(response.body, /<form method="post" action="\/logout">/, what)
    token = formToken(response.body)
    t.match(token, /^[\w-]{20,}$/, `${what}: the form carries a token`)
    t.equal((await browser.get('/dashboard')).statusCode, 200, `${what}: still logged in`)
  }

  const confirmed = await browser.request({ method: 'POST', url: '/logout', payload: `_csrf=${token}`, headers: { ...FORM, ...NAVIGATION } })
  t.equal(confirmed.statusCode, 303, 'the confirmation form logs out')
  t.equal(confirmed.headers.location, '/login')
  t.equal((await browser.get('/dashboard')).statusCode, 302)

  await curlLogin(browser)
  const curl = await browser.request({ method: 'GET', url: '/logout', headers: CURL })
  t.equal(curl.statusCode, 302, "curl gets the tutorial's redirect")
  t.equal(curl.headers.location, '/login')
  t.equal((await browser.get('/dashboard')).statusCode, 302, 'and is logged out')
})

const README = new URL('../../README.md', import.meta.url)

/**
 * The curl commands of the README's "Try it" section, run through inject with what curl sends.
 * Knows only the flags the README uses, so a new one fails here instead of being half-run.
 */
async function runReadmeCurl (t: Test, browser: Browser, line: string, variables: Map<string, string>) {
  const [command = '', comment] = line.split(/\s+#\s+/, 2)
  const capture = /^(\w+)=\$\((.*)\)$/.exec(command.trim())
  const words = (capture?.[2] ?? command).trim().split(/\s+/)
    .map((word) => word.replace(/"?\$(\w+)"?/g, (_match, name: string) => variables.get(name) ?? ''))
  t.equal(words.shift(), 'curl', line)
  const form: string[] = []
  let url = ''
  let jar = 0
  while (words.length > 0) {
    const word = words.shift() as string
    if (word === '-b' || word === '-c') {
      t.equal(words.shift(), 'jar', `${line}: one cookie jar`)
      jar++
    } else if (word === '-d') form.push(words.shift() as string)
    else if (word === '-s' || word === '-i') continue
    else if (/^https?:\/\//.test(word)) url = word
    else throw new Error(`the README's curl line uses ${word}, which this test does not know: ${line}`)
  }
  t.equal(jar, 2, `${line}: reads and writes the jar`)
  const response = await browser.request(form.length === 0
    ? { method: 'GET', url, headers: CURL }
    : { method: 'POST', url, headers: { ...CURL, ...FORM }, payload: form.join('&') })
  if (capture !== null) {
    variables.set(capture[1] as string, response.body.trim())
    t.match(response.body.trim(), /^[\w-]{20,}$/, `${line}: captures a bare token`)
  } else if (comment?.startsWith('HTTP/1.1 ')) {
    const [, status, location] = /^HTTP\/1\.1 (\d{3}) [\w ]+, location: (\S+)$/.exec(comment) ?? []
    t.equal(response.statusCode, Number(status), line)
    t.equal(response.headers.location, location, line)
  } else if (comment !== undefined) {
    t.equal(response.body, comment, line)
  }
  return response
}

t.test("the README's curl session works as written", async (t) => {
  const readme = await readFile(README, 'utf8')
  const tryIt = readme.slice(readme.indexOf('## Try it'), readme.indexOf('\n## ', readme.indexOf('## Try it') + 1))
  const block = /```sh\n((?:curl|\w+=\$\(curl)[^`]*)```/.exec(tryIt)?.[1]
  t.ok(block, 'the "Try it" section has a block of curl commands')
  const lines = (block ?? '').trim().split('\n')
  t.ok(lines.length >= 6, 'from setting the session to logging out')

  const browser = new Browser(demo(t), 'http://127.0.0.1:3000')
  const variables = new Map<string, string>()
  const paths: string[] = []
  for (const line of lines) {
    const response = await runReadmeCurl(t, browser, line, variables)
    paths.push(`${response.statusCode} ${new URL(line.match(/http[^\s)]+/)?.[0] ?? '').pathname}`)
  }
  t.same(paths, ['200 /set_session', '200 /get_session', '200 /login', '303 /login', '200 /dashboard', '302 /logout'],
    'set, read, a token, log in, the dashboard, log out')
  t.equal((await browser.request({ method: 'GET', url: '/dashboard', headers: CURL })).statusCode, 302, 'logged out at the end')
})

// Item 11 of issue 14: logging out rewrites the cookie this browser holds; a copy saved before it
// still says logged_in = true, and a stateless cookie cannot be recalled. The pages say so.
t.test('logging out says that a copy of the cookie saved before still opens the dashboard, and it does', async (t) => {
  const lifetimes: Array<[Environment, string]> = [
    [{}, '31 days'],
    [{ SESSION_LIFETIME: '86400' }, '1 day'],
    [{ SESSION_LIFETIME: '7200' }, '2 hours'],
    [{ SESSION_LIFETIME: '5400' }, '90 minutes'],
    [{ SESSION_LIFETIME: '61' }, '61 seconds']
  ]
  for (const [env, lifetime] of lifetimes) {
    const app = demo(t, env)
    const browser = new Browser(app)
    await curlLogin(browser)
    const copy = `session=${(await browser.cookie())?.value}`

    const dashboard = await browser.request({ method: 'GET', url: '/dashboard', headers: NAVIGATION })
    const confirm = await browser.request({ method: 'GET', url: '/logout', headers: NAVIGATION })
    for (const [page, response] of [['the dashboard', dashboard], ['the logout page', confirm]] as const) {
      const note = /<p id="logout-note">([^]*?)<\/p>/.exec(response.body)?.[1]?.replace(/\s+/g, ' ')
      t.match(note, /a copy of your session cookie saved before you log out still opens this dashboard/, `${page} says it`)
      t.match(note, `up to ${lifetime} after it was issued`, `${page}: how long (${lifetime})`)
    }

    const out = await browser.request({ method: 'POST', url: '/logout', payload: `_csrf=${formToken(dashboard.body)}`, headers: { ...FORM, ...NAVIGATION } })
    t.equal(out.statusCode, 303)
    t.equal((await browser.get('/dashboard')).statusCode, 302, 'this browser is logged out')
    const replayed = await app.inject({ url: '/dashboard', headers: { cookie: copy } })
    t.equal(replayed.statusCode, 200, 'the copy still opens the dashboard, as the note says')
    t.equal(replayed.body, 'Welcome to the dashboard!')
  }
})
