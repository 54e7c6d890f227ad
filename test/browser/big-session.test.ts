import { existsSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import t, { type Test } from 'tap'
import { buildApp } from '../../example/app.js'
import { readConfig, type Environment } from '../../example/config.js'
import { SECRET } from '../helpers.js'

// A session too large for one cookie, in Debian's Chromium: with SESSION_MAX_COOKIES=3 the demo
// stores 10 KiB, the browser keeps it in three cookies and sends them back after a reload; dropping
// the value deletes the extra two. With the default of one cookie the browser is told why nothing
// was saved and keeps its session.

const CHROMIUM = '/usr/bin/chromium'
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run']
/** What a browser keeps of one cookie: name and value together (RFC 6265bis, Chromium). */
const COOKIE_LIMIT = 4096

const missing = !existsSync(CHROMIUM)
const ci = process.env.CI === 'true'
if (missing && ci) {
  t.fail(`${CHROMIUM} is missing: CI must install chromium (apt-get install chromium) to run the browser test`)
}
const skip = missing && (ci ? 'Chromium is missing (failed above)' : `${CHROMIUM} not found: install Debian's chromium to run the browser test`)

/** The demo on a free port of 127.0.0.1, as the login test starts it. */
async function startDemo (t: Test, env: Environment): Promise<string> {
  const app = buildApp(readConfig({ SESSION_SECRET: SECRET, ...env }))
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
}

async function openBrowser (t: Test): Promise<{ context: BrowserContext, page: Page }> {
  // launch() gives every run its own temporary profile, removed on close.
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true })
  t.teardown(() => browser.close())
  const context = await browser.newContext()
  const page = await context.newPage()
  page.setDefaultTimeout(15_000)
  return { context, page }
}

/** The length and SHA-256 a big-value page shows. */
async function shown (page: Page): Promise<{ characters: string | null, sha256: string | null }> {
  return { characters: await page.locator('#characters').textContent(), sha256: await page.locator('#sha256').textContent() }
}

t.test('SESSION_MAX_COOKIES=3: Chromium keeps 10 KiB in three cookies, across a reload, until it is dropped', { skip }, async (t) => {
  const origin = await startDemo(t, { SESSION_MAX_COOKIES: '3' })
  const { context, page } = await openBrowser(t)

  await page.goto(`${origin}/set_session`)
  const store = await page.goto(`${origin}/big_session`)
  t.equal(store?.status(), 200)
  t.equal(await page.locator('h1').textContent(), 'Big value stored')
  const stored = await shown(page)
  t.equal(stored.characters, String(10 * 1024), '10 KiB stored')
  t.match(stored.sha256, /^[0-9a-f]{64}$/)

  const cookies = await context.cookies(origin)
  t.same(cookies.map((cookie) => cookie.name).sort(), ['session', 'session.1', 'session.2'], 'the jar holds three session cookies')
  for (const cookie of cookies) {
    const bytes = Buffer.byteLength(cookie.name + cookie.value)
    t.ok(bytes <= COOKIE_LIMIT, `${cookie.name}: ${bytes} bytes of name and value, within ${COOKIE_LIMIT}`)
    t.equal(cookie.httpOnly, true)
    t.equal(cookie.sameSite, 'Lax')
  }
  t.ok(cookies.reduce((sum, cookie) => sum + cookie.value.length, 0) > 2 * COOKIE_LIMIT, 'more than two cookies could carry')

  await page.goto(`${origin}/get_big_session`)
  t.equal(await page.locator('h1').textContent(), 'Big value')
  t.same(await shown(page), stored, 'read back: same length and SHA-256')
  t.same(await page.locator('#cookies li').allTextContents(), ['session', 'session.1', 'session.2'], 'sent in three cookies')

  await page.reload()
  t.same(await shown(page), stored, 'the same after a reload')
  t.same(await page.locator('#cookies li').allTextContents(), ['session', 'session.1', 'session.2'])

  await page.goto(`${origin}/drop_big_session`)
  t.equal(await page.locator('body').textContent(), 'Big value dropped!')
  t.same((await context.cookies(origin)).map((cookie) => cookie.name), ['session'], 'session.1 and session.2 are gone from the jar')
  await page.goto(`${origin}/get_session`)
  t.equal(await page.locator('body').textContent(), 'Hello, Kimi! Your age is 25.', 'the rest of the session stayed')
  await page.goto(`${origin}/get_big_session`)
  t.equal(await page.locator('h1').textContent(), 'No big value')
})

t.test('SESSION_MAX_COOKIES=1 (the default): Chromium gets a page saying why, and keeps its session', { skip }, async (t) => {
  const origin = await startDemo(t, {})
  const { context, page } = await openBrowser(t)

  await page.goto(`${origin}/set_session`)
  const before = await context.cookies(origin)
  const refused = await page.goto(`${origin}/big_session`)
  t.equal(refused?.status(), 413)
  t.equal(await page.locator('h1').textContent(), 'Session not saved')
  t.match(await page.locator('#too-large').textContent(), /Start the demo with SESSION_MAX_COOKIES=3/)
  t.same(await context.cookies(origin), before, 'the cookie jar is unchanged')
  await page.goto(`${origin}/get_session`)
  t.equal(await page.locator('body').textContent(), 'Hello, Kimi! Your age is 25.')
})
