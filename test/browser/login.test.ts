import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import t from 'tap'
import { buildApp } from '../../example/app.js'
import { readConfig } from '../../example/config.js'
import { SECRET } from '../helpers.js'

// The example as a person uses it: Debian's Chromium, a fresh profile, the login flow end to end.
// Set KEEP_SCREENSHOTS=1 to keep the PNGs (their folder is printed).

const CHROMIUM = '/usr/bin/chromium'
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run']
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

const missing = !existsSync(CHROMIUM)
const ci = process.env.CI === 'true'
if (missing && ci) {
  t.fail(`${CHROMIUM} is missing: CI must install chromium (apt-get install chromium) to run the browser test`)
}

/** Width and height from a PNG's header chunk, or undefined when the bytes are not a PNG. */
function pngSize (bytes: Buffer): { width: number, height: number } | undefined {
  if (bytes.length < 24 || !bytes.subarray(0, 8).equals(PNG_SIGNATURE)) return undefined
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) }
}

t.test('log in and out with a real Chromium', { skip: missing && (ci ? 'Chromium is missing (failed above)' : `${CHROMIUM} not found: install Debian's chromium to run the browser test`) }, async (t) => {
  const app = buildApp(readConfig({ SESSION_SECRET: SECRET }))
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`

  const shots = await mkdtemp(join(tmpdir(), 'cookie-session-screenshots-'))
  if (process.env.KEEP_SCREENSHOTS === undefined) t.teardown(() => rm(shots, { recursive: true, force: true }))
  else t.comment(`screenshots kept in ${shots}`)

  // launch() gives every run its own temporary profile, removed on close.
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true })
  t.teardown(() => browser.close())
  const context = await browser.newContext()
  const page = await context.newPage()
  page.setDefaultTimeout(15_000)

  await page.goto(`${origin}/dashboard`)
  t.equal(new URL(page.url()).pathname, '/login', 'the dashboard sends a stranger to the login form')
  t.equal(await page.locator('h1').textContent(), 'Log in')
  t.equal(await page.evaluate(() => document.activeElement?.id), 'username', 'the username field has the focus')
  await page.screenshot({ path: join(shots, 'login.png'), fullPage: true })

  await page.getByLabel('Username').fill('admin')
  await page.getByLabel('Password').fill('not the password')
  await Promise.all([page.waitForURL(`${origin}/login`), page.getByRole('button', { name: 'Log in' }).click()])
  t.equal(await page.getByRole('alert').textContent(), 'Invalid credentials!')
  t.equal(await page.getByLabel('Username').inputValue(), 'admin', 'the username is kept')
  await page.screenshot({ path: join(shots, 'login-failed.png'), fullPage: true })

  await page.getByLabel('Password').fill('secret')
  await Promise.all([page.waitForURL(`${origin}/dashboard`), page.getByRole('button', { name: 'Log in' }).click()])
  t.equal(await page.locator('h1').textContent(), 'Welcome to the dashboard!')
  await page.screenshot({ path: join(shots, 'dashboard.png'), fullPage: true })

  t.notMatch(await page.evaluate(() => document.cookie), /session=/, 'scripts cannot see the session cookie')
  const cookies = await context.cookies(origin)
  const session = cookies.find((cookie) => cookie.name === 'session')
  t.ok(session, 'the browser stores the session cookie')
  t.equal(session?.httpOnly, true)
  t.equal(session?.sameSite, 'Lax')
  t.equal(session?.expires, -1, 'a browser-session cookie')

  await page.reload()
  t.equal(await page.locator('h1').textContent(), 'Welcome to the dashboard!', 'still logged in after a reload')

  await Promise.all([page.waitForURL(`${origin}/login`), page.getByRole('button', { name: 'Log out' }).click()])
  t.equal(await page.locator('h1').textContent(), 'Log in', 'logging out lands on the form')
  await page.goto(`${origin}/dashboard`)
  t.equal(new URL(page.url()).pathname, '/login', 'the dashboard is closed again')

  await page.goto(`${origin}/set_session`)
  t.equal(await page.locator('body').textContent(), 'Session data set!', 'the tutorial routes answer plain text')
  await page.goto(`${origin}/`)
  t.match(await page.locator('#session').textContent(), /"username": "Kimi"/, 'the index page shows the session')
  t.match(await page.locator('#cookie').textContent(), /HttpOnly/, 'and the cookie attributes')
  await page.screenshot({ path: join(shots, 'index.png'), fullPage: true })

  for (const name of ['login.png', 'login-failed.png', 'dashboard.png', 'index.png']) {
    const size = pngSize(await readFile(join(shots, name)))
    t.ok(size !== undefined && size.width > 0 && size.height > 0, `${name} is a non-empty PNG (${JSON.stringify(size)})`)
  }
})
