import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { setTimeout as delay } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { buildApp } from '../../example/app.js'
import { readConfig, type Environment } from '../../example/config.js'
import { MemoryValidAfterStore, sessionValidator } from '../../example/revocation.js'
import { Browser, SECRET, pinClock } from '../helpers.js'
import { inspector, redisServerSkip, startRedisServer } from '../fixtures/redis-server.js'

// "Log out everywhere" in the example: REDIS_URL in the config, the login recording who logged in,
// POST /logout_everywhere writing the user's "valid after" time (in memory, or in a real Redis),
// the built server with REDIS_URL, and two processes sharing one Redis.

const skipRedis = redisServerSkip(t)
const BUILT = new URL('../../dist/example/server.js', import.meta.url)
const skipBuilt = !existsSync(BUILT) && 'dist/ is missing: run `npm run build` (npm test does) before this test'
const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
const NAVIGATION = {
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'sec-fetch-site': 'same-origin',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-dest': 'document'
}
const CURL = { accept: '*/*', 'user-agent': 'curl/8.14.1' }
const KEY = 'session-valid-after:admin'

function demo (t: Test, env: Environment = {}, store?: MemoryValidAfterStore) {
  const app = buildApp(readConfig({ SESSION_SECRET: SECRET, ...env }), {}, store)
  t.teardown(() => app.close())
  return app
}

function formToken (html: string): string {
  return /<input type="hidden" name="_csrf" value="([^"]*)">/.exec(html)?.[1] ?? ''
}

/** Logs in as curl does: the token from GET /login, then the credentials with it. */
async function curlLogin (browser: Browser, credentials = 'username=admin&password=secret') {
  const token = (await browser.request({ method: 'GET', url: '/login', headers: CURL })).body.trim()
  const response = await browser.request({ method: 'POST', url: '/login', payload: `${credentials}&_csrf=${token}`, headers: { ...CURL, ...FORM } })
  if (response.statusCode !== 303) throw new Error(`login failed: ${response.statusCode} ${response.body}`)
}

/** The dashboard as a browser gets it, and the token of its forms. */
async function dashboardToken (browser: Browser): Promise<string> {
  const dashboard = await browser.request({ method: 'GET', url: '/dashboard', headers: NAVIGATION })
  if (dashboard.statusCode !== 200) throw new Error(`not logged in: ${dashboard.statusCode}`)
  return formToken(dashboard.body)
}

function logoutEverywhere (browser: Browser, token: string, headers: Record<string, string> = NAVIGATION) {
  return browser.request({ method: 'POST', url: '/logout_everywhere', payload: `_csrf=${token}`, headers: { ...FORM, ...headers } })
}

async function session (browser: Browser): Promise<Record<string, unknown>> {
  return (await browser.get('/')).json().session
}

t.test('REDIS_URL: a redis:// or rediss:// URL, never echoed back', async (t) => {
  t.equal(readConfig({}).redisUrl, undefined, 'unset: in memory')
  t.equal(readConfig({ REDIS_URL: '' }).redisUrl, undefined, 'empty counts as unset')
  for (const url of ['redis://localhost:6379', 'redis://:pa55@10.0.0.2:6380/3', 'rediss://user:pa55@redis.example', 'redis://[::1]:6379/0']) {
    t.equal(readConfig({ REDIS_URL: url }).redisUrl, url, url)
  }
  const refused: Array<[string, RegExp]> = [
    ['localhost:6379', /starting with "localhost:"/],
    ['http://pa55word@localhost:6379', /starting with "http:"/],
    ['redis://pa55word@localhost:99999', /this is not a URL/],
    ['redis:///0', /no host/],
    ['redis://:pa55word@localhost/cache', /the path must be a database number/]
  ]
  for (const [url, reason] of refused) {
    t.throws(() => readConfig({ REDIS_URL: url }), {
      name: 'ConfigError',
      variable: 'REDIS_URL',
      message: /^REDIS_URL must be a URL like redis:\/\/localhost:6379 /
    }, url)
    const message = (() => { try { readConfig({ REDIS_URL: url }) } catch (error) { return (error as Error).message } })()
    t.match(message, reason, `${url}: says what is wrong`)
    t.notMatch(message, /pa55/, `${url}: the password is not repeated`)
  }
})

t.test('the login records who logged in; logging out removes it', async (t) => {
  const browser = new Browser(demo(t, { DEMO_USERNAME: 'alice', DEMO_PASSWORD: 'wonderland' }))
  await curlLogin(browser, 'username=alice&password=wonderland')
  t.match(await session(browser), { logged_in: true, logged_in_as: 'alice' })
  await browser.get('/set_session')
  await browser.get('/delete_session')
  t.match(await session(browser), { logged_in_as: 'alice' }, "the tutorial's username routes do not touch it")
  await browser.request({ method: 'GET', url: '/logout', headers: CURL })
  t.same(Object.keys(await session(browser)), ['age'], 'logged_in and logged_in_as are gone')
})

t.test('the dashboard has an "End all sessions" button with the CSRF token', async (t) => {
  const browser = new Browser(demo(t))
  await curlLogin(browser)
  const dashboard = await browser.request({ method: 'GET', url: '/dashboard', headers: NAVIGATION })
  t.match(dashboard.body, /<form method="post" action="\/logout_everywhere"><input type="hidden" name="_csrf" value="[\w-]{20,}"><button type="submit">End all sessions<\/button><\/form>/)
  t.match(dashboard.body, /<p id="logout-everywhere-note">Unlike logging out, this is recorded on the server: it ends every\s+session of your account at once/)
  t.equal(dashboard.body.match(/>Log out</g)?.length, 1, 'one button named "Log out" (the browser test finds it by that name)')
})

t.test('POST /logout_everywhere moves the user\'s "valid after" to now and logs this browser out', async (t) => {
  const clock = pinClock(t, 1_700_000_000)
  const store = new MemoryValidAfterStore(3660)
  const app = demo(t, {}, store)
  const isSessionValid = sessionValidator(store)

  const here = new Browser(app)
  const elsewhere = new Browser(app)
  await curlLogin(elsewhere)
  const elsewhereSession = { createdAt: clock.now, data: await session(elsewhere) }
  clock.advance(60)
  await curlLogin(here)
  const token = await dashboardToken(here)
  t.equal(await isSessionValid(elsewhereSession), true, 'before: the other session is valid')

  clock.advance(60)
  const refused = await logoutEverywhere(here, 'forged')
  t.equal(refused.statusCode, 403, 'without the form\'s token: refused')
  t.equal(await store.getValidAfter('admin'), undefined, 'and nothing was recorded')

  const done = await logoutEverywhere(here, token)
  t.equal(done.statusCode, 303)
  t.equal(done.headers.location, '/login')
  t.equal(await store.getValidAfter('admin'), clock.now, 'the valid-after time is now')
  t.equal((await here.get('/dashboard')).statusCode, 302, 'this browser is logged out')
  t.same(Object.keys(await session(here)), ['_csrf'], 'it keeps its CSRF secret, as after POST /logout')

  t.equal(await isSessionValid(elsewhereSession), false, 'the other session is refused by the check the plugin runs')
  const stale = await elsewhere.get('/dashboard')
  t.equal(stale.statusCode, 302, 'and the app refuses it: the other browser is sent to the login form')
  t.match(stale.headers['set-cookie'], /^session=; Max-Age=0/, 'its cookie deleted')
  t.equal(await isSessionValid({ createdAt: clock.now - 60, data: { logged_in: true, logged_in_as: 'admin' } }), false,
    "and so is this browser's earlier one")
  t.equal(await isSessionValid({ createdAt: clock.now, data: await session(here) }), true, "this browser's new cookie is not logged in: valid")

  clock.advance(1)
  await curlLogin(here)
  t.equal(await isSessionValid({ createdAt: clock.now, data: await session(here) }), true, 'a login after it is valid')
})

t.test('POST /logout_everywhere from curl, and from a visitor who is not logged in', async (t) => {
  const store = new MemoryValidAfterStore(3660)
  const browser = new Browser(demo(t, {}, store))
  const anonymous = (await browser.request({ method: 'GET', url: '/login', headers: CURL })).body.trim()
  const nobody = await logoutEverywhere(browser, anonymous, CURL)
  t.equal(nobody.statusCode, 303, 'not logged in: nothing to end, back to the form')
  t.equal(await store.getValidAfter('admin'), undefined)

  await curlLogin(browser)
  const token = (await browser.request({ method: 'GET', url: '/login', headers: CURL })).body.trim()
  const before = Math.floor(Date.now() / 1000)
  t.equal((await logoutEverywhere(browser, token, CURL)).statusCode, 303)
  const validAfter = await store.getValidAfter('admin')
  t.ok(validAfter !== undefined && validAfter >= before && validAfter <= Math.floor(Date.now() / 1000), 'now, in whole seconds')
})

t.test('in Redis', { skip: skipRedis }, async (t) => {
  t.test('the key is written with the session lifetime plus the margin as its expiry', async (t) => {
    const server = await startRedisServer(t)
    const redis = await inspector(t, server)
    const browser = new Browser(demo(t, { REDIS_URL: server.url, SESSION_LIFETIME: '7200' }))
    await curlLogin(browser)
    const before = Math.floor(Date.now() / 1000)
    t.equal((await logoutEverywhere(browser, await dashboardToken(browser))).statusCode, 303)
    const value = Number(await redis.get(KEY))
    t.ok(value >= before && value <= Math.floor(Date.now() / 1000), 'now, in whole seconds')
    t.equal(await redis.ttl(KEY), 7260)
  })

  t.test('the app connects to Redis when it starts and lets go when it closes', async (t) => {
    const server = await startRedisServer(t)
    const redis = await inspector(t, server)
    const app = buildApp(readConfig({ SESSION_SECRET: SECRET, REDIS_URL: server.url }))
    await app.ready()
    t.equal((await redis.clientList()).length, 2, "the inspector's connection and the app's")
    await app.close()
    // Redis notices a closed connection on its own schedule: give it a moment.
    let clients = (await redis.clientList()).length
    for (const end = Date.now() + 2000; clients > 1 && Date.now() < end; await delay(20)) clients = (await redis.clientList()).length
    t.equal(clients, 1, "the app's is gone")
  })

  t.test('Redis gone: logged-in requests fail closed and the server stays up; Redis back: sessions and logins work again', async (t) => {
    const server = await startRedisServer(t)
    const app = demo(t, { REDIS_URL: server.url })
    const browser = new Browser(app)
    await curlLogin(browser)
    const token = await dashboardToken(browser)

    await server.stop()
    const start = performance.now()
    const dashboard = await browser.get('/dashboard')
    const ms = performance.now() - start
    t.equal(dashboard.statusCode, 302, 'the session cannot be checked: an empty session, sent to the login form')
    t.ok(ms < 1000, `answered in ${ms.toFixed(1)} ms`)
    t.same(dashboard.headers['set-cookie'], undefined, 'the cookie is not deleted: an outage logs nobody out for good')
    const failed = await logoutEverywhere(browser, token, CURL)
    t.equal(failed.statusCode, 403, 'nor can a session that cannot be checked end others (its CSRF secret is unread too)')
    await curlLogin(browser)
    t.equal((await browser.get('/dashboard')).statusCode, 302, 'a login now does not last past the next request either')

    await server.start()
    let back = await browser.get('/dashboard')
    for (const end = Date.now() + 10_000; back.statusCode !== 200 && Date.now() < end; await delay(50)) back = await browser.get('/dashboard')
    t.equal(back.statusCode, 200, 'Redis back: the same cookie is a valid session again, without a restart')
    const later = new Browser(app)
    await curlLogin(later)
    t.equal((await later.get('/dashboard')).statusCode, 200, 'and logins work')
  })

  t.test('a copied cookie is refused after "End all sessions", also by another instance on the same Redis', async (t) => {
    const server = await startRedisServer(t)
    const a = demo(t, { REDIS_URL: server.url })
    const b = demo(t, { REDIS_URL: server.url })
    await Promise.all([a.ready(), b.ready()])
    const browser = new Browser(a)
    await curlLogin(browser)
    const copy = (await browser.cookie())?.cookieString() as string
    const onB = () => b.inject({ url: '/dashboard', headers: { cookie: copy, ...CURL } })
    t.equal((await onB()).statusCode, 200, 'the copy opens the dashboard on instance B')
    await delay(1000) // a session created in the same second as the logout counts as before it
    t.equal((await logoutEverywhere(browser, await dashboardToken(browser))).statusCode, 303)
    t.equal((await onB()).statusCode, 302, 'after "End all sessions" on A, B refuses the copy')
    t.equal((await a.inject({ url: '/dashboard', headers: { cookie: copy, ...CURL } })).statusCode, 302, 'and so does A')
  })
})

interface Child {
  process: ChildProcess
  output: () => string
  /** The next line the child writes to stdout (lines are kept until asked for). */
  nextLine: (what: string) => Promise<string>
}

/** A built JavaScript file in a process of its own, without tap's loader; ended when `t` ends. */
function spawnBuilt (t: Test, file: URL, env: Record<string, string>): Child {
  const { NODE_OPTIONS: _tapLoaders, ...inherited } = process.env
  for (const name of ['HOST', 'PORT', 'SESSION_SECRET', 'SESSION_FORMAT', 'SESSION_LIFETIME', 'SESSION_PERMANENT',
    'SESSION_COOKIE_SECURE', 'SESSION_COOKIE_SAMESITE', 'DEMO_USERNAME', 'DEMO_PASSWORD', 'REDIS_URL']) delete inherited[name]
  const child = spawn(process.execPath, [fileURLToPath(file)], { env: { ...inherited, ...env }, stdio: ['pipe', 'pipe', 'pipe'] })
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  let output = ''
  const unread: string[] = []
  const waiting: Array<(line: string | undefined) => void> = []
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  createInterface({ input: child.stdout }).on('line', (line) => {
    output += line + '\n'
    const waiter = waiting.shift()
    if (waiter === undefined) unread.push(line)
    else waiter(line)
  })
  child.once('exit', () => { for (const waiter of waiting.splice(0)) waiter(undefined) })
  return {
    process: child,
    output: () => output,
    async nextLine (what) {
      const line = unread.shift() ?? (child.exitCode === null && child.signalCode === null
        ? await new Promise<string | undefined>((resolve) => waiting.push(resolve))
        : undefined)
      if (line === undefined) throw new Error(`exited before ${what}:\n${output}`)
      return line
    }
  }
}

t.test('two processes sharing one Redis see each other\'s writes', { skip: skipRedis || skipBuilt }, async (t) => {
  const server = await startRedisServer(t)
  const script = new URL('../fixtures/valid-after-process.js', import.meta.url)
  const [a, b] = [spawnBuilt(t, script, { REDIS_URL: server.url }), spawnBuilt(t, script, { REDIS_URL: server.url })] as [Child, Child]
  t.equal(await a.nextLine('ready'), 'ready')
  t.equal(await b.nextLine('ready'), 'ready')
  async function send (child: Child, command: string): Promise<string> {
    child.process.stdin?.write(`${command}\n`)
    return child.nextLine(command)
  }
  t.equal(await send(b, 'get admin'), 'none')
  t.equal(await send(a, 'set admin 1700000000'), 'ok')
  t.equal(await send(b, 'get admin'), '1700000000', 'B reads what A wrote')
  t.equal(await send(b, 'set admin 1700000100'), 'ok')
  t.equal(await send(a, 'get admin'), '1700000100', 'and A what B wrote')
  await server.stop()
  t.match(await send(a, 'get admin'), /^error /, 'Redis gone: A fails closed')
  t.equal(a.process.exitCode, null, 'and keeps running')
  await server.start()
  let answer = await send(b, 'set admin 1700000200')
  for (const end = Date.now() + 10_000; answer !== 'ok' && Date.now() < end; await delay(50)) answer = await send(b, 'set admin 1700000200')
  t.equal(answer, 'ok', 'Redis back: B writes again')
  t.equal(await send(a, 'get admin'), '1700000200', 'and A reads it')
})

t.test('the built server with REDIS_URL', { skip: skipRedis || skipBuilt }, async (t) => {
  /** Starts dist/example/server.js; resolves with its URL once it listens. */
  async function startServer (t: Test, env: Record<string, string>) {
    const child = spawnBuilt(t, BUILT, { HOST: '127.0.0.1', PORT: '0', SESSION_SECRET: SECRET, ...env })
    let url: string | undefined
    while (url === undefined) url = /"msg":"Server listening at (http:\/\/[^"]+)"/.exec(await child.nextLine('listening'))?.[1]
    return { child, url }
  }

  t.test('logs where the times are kept, writes them, and exits promptly on SIGTERM', async (t) => {
    const server = await startRedisServer(t)
    const redis = await inspector(t, server)
    const { child, url } = await startServer(t, { REDIS_URL: server.url })
    t.match(child.output(), `"msg":"Valid-after times (\\"log out everywhere\\") are kept in Redis at ${server.url}"`)
    t.match(child.output(), `"msg":"Valid-after store: connected to Redis at ${server.url}"`)

    // A real browser's round trip, over HTTP: the form's token, the login, the dashboard's button.
    let cookie = ''
    async function send (method: string, path: string, body?: string) {
      const response = await fetch(url + path, {
        method,
        redirect: 'manual',
        headers: { ...NAVIGATION, ...(body === undefined ? {} : FORM), ...(cookie === '' ? {} : { cookie }) },
        body
      })
      const set = response.headers.getSetCookie().find((header) => header.startsWith('session='))
      if (set !== undefined) cookie = set.split(';')[0] as string
      return { status: response.status, text: await response.text() }
    }
    const form = await send('GET', '/login')
    t.equal((await send('POST', '/login', `username=admin&password=secret&_csrf=${formToken(form.text)}`)).status, 303)
    const dashboard = await send('GET', '/dashboard')
    t.equal((await send('POST', '/logout_everywhere', `_csrf=${formToken(dashboard.text)}`)).status, 303)
    t.equal(await redis.exists(KEY), 1, 'the time is in Redis')

    const start = performance.now()
    const exited = new Promise<number | null>((resolve) => child.process.once('exit', (code) => resolve(code)))
    child.process.kill('SIGTERM')
    t.equal(await exited, 0, 'a clean exit')
    t.comment(`exit took ${(performance.now() - start).toFixed(0)} ms`)
  })

  t.test('Redis down at start: the server starts anyway, warns, and refuses to end sessions', async (t) => {
    const server = await startRedisServer(t)
    await server.stop()
    const { child, url } = await startServer(t, { REDIS_URL: server.url })
    t.match(child.output(), /"level":40,[^\n]*"msg":"Valid-after store: Redis at redis:\/\/127\.0\.0\.1:\d+ is unreachable/)
    const response = await fetch(`${url}/get_session`)
    t.equal(await response.text(), 'Hello, Guest! Your age is 0.', 'pages that need no store work')
    const exited = new Promise<number | null>((resolve) => child.process.once('exit', (code) => resolve(code)))
    child.process.kill('SIGTERM')
    t.equal(await exited, 0, 'and it still shuts down cleanly')
  })
})
