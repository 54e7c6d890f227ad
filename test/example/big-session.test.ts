import { createHash } from 'node:crypto'
import { Writable } from 'node:stream'
import t, { type Test } from 'tap'
import type { FastifyServerOptions, LightMyRequestResponse } from 'fastify'
import { buildApp } from '../../example/app.js'
import { readConfig, type Environment } from '../../example/config.js'
import { Browser, SECRET, setCookieHeaders } from '../helpers.js'

// Large sessions in the example: /big_session stores 10 KiB of random text, which takes three
// cookies (SESSION_MAX_COOKIES=3); with one cookie (the default) it is refused with a page that
// says what to change, and the browser keeps its session. SESSION_COMPRESS reaches the plugin.

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'
const CURL = { accept: '*/*', 'user-agent': 'curl/8.14.1' }
const NAVIGATION = { accept: BROWSER_ACCEPT, 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' }
/** What stays in the session beside the big value: the tutorial's /set_session. */
const KIMI = 'Hello, Kimi! Your age is 25.'

function demo (t: Test, env: Environment = {}, fastifyOptions: FastifyServerOptions = {}) {
  const app = buildApp(readConfig({ SESSION_SECRET: SECRET, ...env }), fastifyOptions)
  t.teardown(() => app.close())
  return app
}

/** The app's log lines, parsed, for a check on what the operator is told. */
function capturedLog (): { lines: Array<Record<string, unknown>>, options: FastifyServerOptions } {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>)
      done()
    }
  })
  return { lines, options: { logger: { level: 'info', stream } } }
}

function get (browser: Browser, url: string, headers: Record<string, string> = CURL): Promise<LightMyRequestResponse> {
  return browser.request({ method: 'GET', url, headers })
}

/** `name=value` of every Set-Cookie, in order, with whether it deletes the cookie. */
function written (response: LightMyRequestResponse): Array<{ name: string, bytes: number, deletes: boolean, header: string }> {
  return setCookieHeaders(response).map((header) => {
    const pair = header.split(';')[0] as string
    return { name: pair.slice(0, pair.indexOf('=')), bytes: Buffer.byteLength(pair), deletes: /;\s*Max-Age=0\b/i.test(header), header }
  })
}

/** The names of the cookies the tough-cookie jar would send now. */
async function jarNames (browser: Browser): Promise<string[]> {
  const names: string[] = []
  for (const name of ['session', 'session.1', 'session.2']) if (await browser.cookie(name) !== undefined) names.push(name)
  return names
}

/** Length and SHA-256 from the plain-text answers of /big_session and /get_big_session. */
function facts (body: string): { characters: number, sha256: string } {
  const match = /(\d+) (?:random )?characters, SHA-256 ([0-9a-f]{64})/.exec(body)
  if (match === null) throw new Error(`no length and SHA-256 in ${JSON.stringify(body)}`)
  return { characters: Number(match[1]), sha256: match[2] as string }
}

t.test('SESSION_MAX_COOKIES=3: 10 KiB split across three cookies, read back whole, dropped again', async (t) => {
  const browser = new Browser(demo(t, { SESSION_MAX_COOKIES: '3' }))
  await get(browser, '/set_session')

  const store = await get(browser, '/big_session')
  t.equal(store.statusCode, 200)
  t.match(store.headers['content-type'], /^text\/plain/)
  t.equal(store.headers.vary, 'Accept, Cookie')
  const stored = facts(store.body)
  t.equal(stored.characters, 10 * 1024, '10 KiB of text')
  const cookies = written(store)
  t.same(cookies.map(({ name, deletes }) => ({ name, deletes })),
    [{ name: 'session', deletes: false }, { name: 'session.1', deletes: false }, { name: 'session.2', deletes: false }],
    'three Set-Cookie headers: session, session.1, session.2')
  for (const cookie of cookies) {
    t.ok(cookie.bytes <= 4096, `${cookie.name}: ${cookie.bytes} bytes of name=value, within a browser's 4096`)
    t.match(cookie.header, /; Path=\/; HttpOnly; SameSite=Lax$/, `${cookie.name} has the session cookie's attributes`)
  }
  t.ok(cookies[0]!.bytes + cookies[1]!.bytes > 2 * 4000, 'the first two are full: it really needs the third')
  t.same(await jarNames(browser), ['session', 'session.1', 'session.2'], 'the jar keeps all three')

  // The index page shows the value itself: the checksum computed here matches the route's.
  const index = await get(browser, '/', { accept: 'application/json' })
  const value = index.json().session.big_value as string
  t.equal(value.length, 10 * 1024)
  t.match(value, /^[\w-]+$/, 'random base64url text')
  t.equal(createHash('sha256').update(value).digest('hex'), stored.sha256, 'the SHA-256 is that of the value')
  t.equal(index.json().session.username, 'Kimi', 'the rest of the session is still there')

  const read = await get(browser, '/get_big_session')
  t.equal(read.statusCode, 200)
  t.same(facts(read.body), stored, 'read back: same length and SHA-256')
  t.match(read.body, /your browser sent it in 3 cookies: session, session\.1, session\.2\.$/)
  t.same(written(read), [], 'reading sends no cookie')
  t.equal((await get(browser, '/get_session')).body, KIMI)

  const again = facts((await get(browser, '/big_session')).body)
  t.not(again.sha256, stored.sha256, 'each visit stores new random text')
  t.same(facts((await get(browser, '/get_big_session')).body), again)

  const drop = await get(browser, '/drop_big_session')
  t.equal(drop.body, 'Big value dropped!')
  t.same(written(drop).map(({ name, deletes }) => ({ name, deletes })),
    [{ name: 'session', deletes: false }, { name: 'session.1', deletes: true }, { name: 'session.2', deletes: true }],
    'session is rewritten, session.1 and session.2 deleted')
  t.same(await jarNames(browser), ['session'], 'the extra cookies are gone from the jar')
  t.equal((await get(browser, '/get_session')).body, KIMI, 'the rest of the session stays')
  t.equal((await get(browser, '/get_big_session')).body, 'No big value in the session: GET /big_session stores one.')

  await get(browser, '/big_session')
  const clear = await get(browser, '/clear_session')
  t.same(written(clear).map(({ name, deletes }) => ({ name, deletes })),
    [{ name: 'session', deletes: true }, { name: 'session.1', deletes: true }, { name: 'session.2', deletes: true }],
    '/clear_session deletes all three')
  t.same(await jarNames(browser), [])
})

t.test('browsers get pages: what was stored, what came back and in which cookies', async (t) => {
  const browser = new Browser(demo(t, { SESSION_MAX_COOKIES: '3' }))
  const none = await get(browser, '/get_big_session', NAVIGATION)
  t.match(none.headers['content-type'], /^text\/html; charset=utf-8/)
  t.match(none.body, /<h1>No big value<\/h1>/)
  t.match(none.body, /<a href="\/big_session">/)

  const store = await get(browser, '/big_session', NAVIGATION)
  t.equal(store.statusCode, 200)
  t.match(store.headers['content-type'], /^text\/html; charset=utf-8/)
  t.match(store.headers['content-security-policy'], /default-src 'none'/)
  t.equal(store.headers.vary, 'Accept, Cookie')
  t.equal(written(store).length, 3)
  const characters = /<span id="characters">(\d+)<\/span>/.exec(store.body)?.[1]
  const sha256 = /<code id="sha256">([0-9a-f]{64})<\/code>/.exec(store.body)?.[1]
  t.equal(characters, String(10 * 1024))
  t.ok(sha256, 'the page shows the SHA-256')

  const read = await get(browser, '/get_big_session', NAVIGATION)
  t.match(read.body, /<h1>Big value<\/h1>/)
  t.match(read.body, `<span id="characters">${characters}</span>`)
  t.match(read.body, `<code id="sha256">${sha256}</code>`)
  t.match(read.body, '<ul id="cookies"><li><code>session</code></li><li><code>session.1</code></li><li><code>session.2</code></li></ul>')
})

t.test('SESSION_MAX_COOKIES=1 (the default): refused with 413 and advice, the old session and cookie kept', async (t) => {
  const log = capturedLog()
  const browser = new Browser(demo(t, {}, log.options))
  await get(browser, '/set_session')
  const before = (await browser.cookie())?.value

  const refused = await get(browser, '/big_session')
  t.equal(refused.statusCode, 413, 'not a raw 500')
  t.match(refused.headers['content-type'], /^text\/plain/)
  t.equal(refused.body, 'The session was not saved: it would not fit in one cookie (SESSION_MAX_COOKIES=1). ' +
    'Your browser keeps the session it had. Start the demo with SESSION_MAX_COOKIES=3 to let a session take up to three cookies.')
  t.equal(refused.headers['set-cookie'], undefined, 'no Set-Cookie at all')
  t.equal(refused.headers['cache-control'], 'no-store', "the route's headers stay")
  t.equal(refused.headers.vary, 'Accept, Cookie')

  const warning = log.lines.find((line) => (line.err as { code?: string } | undefined)?.code === 'FST_SESSION_TOO_LARGE')
  t.equal(warning?.level, 40, 'the operator gets a warning, not an error')
  t.match(warning?.msg, /did not fit/)
  t.match((warning?.err as { message?: string }).message, /"big_value" \(\d+ bytes\)/, "the log names the key (the visitor's page does not)")
  t.notMatch(refused.body, /big_value/)

  const page = await get(browser, '/big_session', NAVIGATION)
  t.equal(page.statusCode, 413)
  t.match(page.headers['content-type'], /^text\/html; charset=utf-8/)
  t.match(page.headers['content-security-policy'], /default-src 'none'/)
  t.match(page.body, /<h1>Session not saved<\/h1>/)
  t.match(page.body, /<p class="error" id="too-large">The session was not saved: [^<]*SESSION_MAX_COOKIES=3/)
  t.equal(page.headers['set-cookie'], undefined)

  t.equal((await browser.cookie())?.value, before, 'the browser keeps its cookie')
  t.same(await jarNames(browser), ['session'])
  t.equal((await get(browser, '/get_session')).body, KIMI, 'and its session')
  t.equal((await get(browser, '/get_big_session')).body, 'No big value in the session: GET /big_session stores one.')

  // A visitor without a session: nothing to keep, and still nothing set.
  const stranger = await demo(t).inject({ url: '/big_session', headers: CURL })
  t.equal(stranger.statusCode, 413)
  t.equal(stranger.headers['set-cookie'], undefined)
})

t.test('SESSION_COMPRESS reaches the plugin: the value fits three cookies only compressed', async (t) => {
  t.test('signed (compressed by default) with SESSION_COMPRESS=false: refused even in three cookies', async (t) => {
    const refused = await demo(t, { SESSION_MAX_COOKIES: '3', SESSION_COMPRESS: 'false' }).inject({ url: '/big_session', headers: CURL })
    t.equal(refused.statusCode, 413)
    t.equal(refused.headers['set-cookie'], undefined)
    t.match(refused.body, /in 3 cookies \(SESSION_MAX_COOKIES=3\)\. .* Three is the most\. .* only compressed: SESSION_COMPRESS=true /)
  })

  t.test('encrypted (not compressed by default): refused, then stored with SESSION_COMPRESS=true', async (t) => {
    const plain = await demo(t, { SESSION_FORMAT: 'encrypted', SESSION_MAX_COOKIES: '3' }).inject({ url: '/big_session', headers: CURL })
    t.equal(plain.statusCode, 413)
    t.match(plain.body, /SESSION_COMPRESS=true \(the default, except with SESSION_FORMAT=encrypted\)\.$/)
    const browser = new Browser(demo(t, { SESSION_FORMAT: 'encrypted', SESSION_MAX_COOKIES: '3', SESSION_COMPRESS: 'true' }))
    const store = await get(browser, '/big_session')
    t.equal(store.statusCode, 200)
    t.same(written(store).map(({ name }) => name), ['session', 'session.1', 'session.2'])
    t.same(facts((await get(browser, '/get_big_session')).body), facts(store.body))
  })

  t.test('SESSION_MAX_COOKIES=2 is not enough either', async (t) => {
    const refused = await demo(t, { SESSION_MAX_COOKIES: '2' }).inject({ url: '/big_session', headers: CURL })
    t.equal(refused.statusCode, 413)
    t.match(refused.body, /in 2 cookies \(SESSION_MAX_COOKIES=2\)\..*Start the demo with SESSION_MAX_COOKIES=3/)
  })

  t.test('flask: one cookie only, and the advice says so', async (t) => {
    const refused = await demo(t, { SESSION_FORMAT: 'flask' }).inject({ url: '/big_session', headers: CURL })
    t.equal(refused.statusCode, 413)
    t.match(refused.body, /with SESSION_FORMAT=flask it must fit one\.$/)
    t.notMatch(refused.body, /SESSION_MAX_COOKIES=3/)
  })
})
