import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { chromium } from 'playwright-core'
import t from 'tap'
import { buildApp } from '../../example/app.js'
import { readConfig } from '../../example/config.js'
import { SECRET } from '../helpers.js'

// The example as a person uses it: Debian's Chromium, a fresh profile, the login flow end to end,
// and another site's pages trying to log the visitor in or out. Set KEEP_SCREENSHOTS=1 to keep
// the PNGs (their folder is printed).

const CHROMIUM = '/usr/bin/chromium'
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run']
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

const missing = !existsSync(CHROMIUM)
const ci = process.env.CI === 'true'
if (missing && ci) {
  t.fail(`${CHROMIUM} is missing: CI must install chromium (apt-get install chromium) to run the browser test`)
}

/**
 * Pages of another origin on the same site (127.0.0.1, another port: SameSite=Lax sends the
 * cookie to the demo from them, as from a sibling subdomain) that reach for the demo's logout
 * and login: an image, a link, and forms without a token.
 */
async function startOtherSite (demo: string): Promise<{ app: FastifyInstance, origin: string }> {
  const app = Fastify()
  const html = (body: string) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Another site</title></head><body>${body}</body></html>`
  app.get('/image', async (_request, reply) => reply.type('text/html').send(html(`<img src="${demo}/logout" alt="">`)))
  app.get('/link', async (_request, reply) => reply.type('text/html').send(html(`<a href="${demo}/logout">See the photos</a>`)))
  app.get('/forms', async (_request, reply) => reply.type('text/html').send(html(`
<form method="post" action="${demo}/logout"><button>Claim your prize</button></form>
<form method="post" action="${demo}/login"><input type="hidden" name="username" value="admin">
<input type="hidden" name="password" value="secret"><button>Log in as me</button></form>`)))
  await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, origin: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` }
}

/** Width and height from a PNG's header chunk, or undefined when the bytes are not a PNG. */
function pngSize (bytes: Buffer): { width: number, height: number } | undefined {
  if (bytes.length < 24 || !bytes.subarray(0, 8).equals(PNG_SIGNATURE)) return undefined
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) }
}

t.test('log in and out with a real Chromium', { skip: missing && (ci ? 'Chromium is missing (failed above)' : `${CHROMIUM} not found: install Debian's chromium to run the browser test`) }, async (t) => {
  const app = buildApp(readConfig({ SESSION_SECRET: SECRET }))
  // What Chromium sends to the demo's /login and /logout: the app's rules rest on these headers.
  const seen: Array<{ method: string, url: string, headers: Record<string, string | string[] | undefined> }> = []
  app.addHook('onRequest', async (request) => {
    if (/^\/log(in|out)/.test(request.url)) seen.push({ method: request.method, url: request.url, headers: request.headers })
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const other = await startOtherSite(origin)
  t.teardown(() => other.app.close())

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

  t.match(await page.locator('input[type=hidden][name=_csrf]').getAttribute('value'), /^[\w-]{20,}$/, 'the form carries a CSRF token')

  // A 6,000-character name: its first 100 characters come back (the whole name made the cookie too large).
  await page.getByLabel('Username').fill('x'.repeat(6000))
  await page.getByLabel('Password').fill('not the password')
  await Promise.all([page.waitForURL(`${origin}/login`), page.getByRole('button', { name: 'Log in' }).click()])
  t.equal(await page.getByRole('alert').textContent(), 'Invalid credentials!', 'a long name is just a wrong name')
  t.equal(await page.getByLabel('Username').inputValue(), 'x'.repeat(100), 'its first 100 characters are kept')

  await page.getByLabel('Username').fill('admin')
  await page.getByLabel('Password').fill('not the password')
  await Promise.all([page.waitForURL(`${origin}/login`), page.getByRole('button', { name: 'Log in' }).click()])
  t.equal(await page.getByRole('alert').textContent(), 'Invalid credentials!')
  t.equal(await page.getByLabel('Username').inputValue(), 'admin', 'the username is kept')
  await page.screenshot({ path: join(shots, 'login-failed.png'), fullPage: true })

  await page.getByLabel('Password').fill('secret')
  await Promise.all([page.waitForURL(`${origin}/dashboard`), page.getByRole('button', { name: 'Log in' }).click()])
  t.equal(await page.locator('h1').textContent(), 'Welcome to the dashboard!', 'logged in through the protected form')
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

  // The other site's attempts. Each ends with the visitor still logged in.
  async function stillLoggedIn (what: string) {
    await page.goto(`${origin}/dashboard`)
    t.equal(await page.locator('h1').textContent(), 'Welcome to the dashboard!', `${what}: still logged in`)
  }
  await page.goto(`${other.origin}/image`)
  const image = seen.find((request) => request.headers['sec-fetch-dest'] === 'image')
  t.equal(image?.url, '/logout', 'the image asked for /logout')
  t.equal(image?.headers['sec-fetch-site'], 'same-site', 'with the cookie, from the same site')
  t.notMatch(image?.headers.accept, /text\/html/, 'an image does not ask for HTML: Accept alone would take it for curl')
  await stillLoggedIn('an image pointing at /logout')

  await page.goto(`${other.origin}/link`)
  await Promise.all([page.waitForURL(`${origin}/logout`), page.getByRole('link').click()])
  t.equal(await page.locator('h1').textContent(), 'Log out?', 'a link to /logout only shows the button')
  await page.screenshot({ path: join(shots, 'logout.png'), fullPage: true })
  await stillLoggedIn('a link to /logout')

  await page.goto(`${other.origin}/forms`)
  await Promise.all([page.waitForURL(`${origin}/logout`), page.getByRole('button', { name: 'Claim your prize' }).click()])
  t.equal(await page.locator('h1').textContent(), 'Form refused', 'a POST /logout without the token is refused')
  const forged = seen.filter((request) => request.method === 'POST').at(-1)
  t.match(forged?.headers.accept, /^text\/html,/, "a form sends the browser's own Accept, with text/html")
  t.equal(forged?.headers['sec-fetch-site'], 'same-site')
  t.equal(forged?.headers.origin, other.origin)
  t.match(forged?.headers.cookie, /session=/, 'SameSite=Lax did send the cookie: the token is what refused it')
  await page.screenshot({ path: join(shots, 'refused.png'), fullPage: true })
  await stillLoggedIn('a forged POST /logout')

  t.match(await page.locator('#logout-note').textContent(), /a copy of your\s+session cookie saved before you log out still opens this dashboard/,
    'the logout button comes with its limit')
  const saved = await context.cookies(origin)
  await Promise.all([page.waitForURL(`${origin}/login`), page.getByRole('button', { name: 'Log out' }).click()])
  t.equal(await page.locator('h1').textContent(), 'Log in', "the dashboard's button logs out and lands on the form")
  await page.goto(`${origin}/dashboard`)
  t.equal(new URL(page.url()).pathname, '/login', 'the dashboard is closed again')

  // As the note says: a copy taken before logging out (another profile here) still gets in.
  const elsewhere = await browser.newContext()
  await elsewhere.addCookies(saved)
  const copy = await elsewhere.newPage()
  await copy.goto(`${origin}/dashboard`)
  t.equal(await copy.locator('h1').textContent(), 'Welcome to the dashboard!', 'a copy of the cookie outlives the logout')
  await elsewhere.close()

  await page.goto(`${other.origin}/forms`)
  await Promise.all([page.waitForURL(`${origin}/login`), page.getByRole('button', { name: 'Log in as me' }).click()])
  t.equal(await page.locator('h1').textContent(), 'Form refused', "another site's login form is refused")
  await page.goto(`${origin}/dashboard`)
  t.equal(new URL(page.url()).pathname, '/login', 'nobody was logged in')

  await page.goto(`${origin}/set_session`)
  t.equal(await page.locator('body').textContent(), 'Session data set!', 'the tutorial routes answer plain text')
  await page.goto(`${origin}/`)
  t.match(await page.locator('#session').textContent(), /"username": "Kimi"/, 'the index page shows the session')
  t.match(await page.locator('#cookie').textContent(), /HttpOnly/, 'and the cookie attributes')
  await page.screenshot({ path: join(shots, 'index.png'), fullPage: true })

  for (const name of ['login.png', 'login-failed.png', 'dashboard.png', 'logout.png', 'refused.png', 'index.png']) {
    const size = pngSize(await readFile(join(shots, name)))
    t.ok(size !== undefined && size.width > 0 && size.height > 0, `${name} is a non-empty PNG (${JSON.stringify(size)})`)
  }
})
