import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { CookieJar } from 'tough-cookie'

// Several server processes, one session: a signed cookie needs no shared store, only the same
// secrets. Real processes (test/ecosystem/instance-server.js, on the built package) over real
// HTTP, with a cookie jar shared across their ports as a browser behind a load balancer has.

const SERVER = new URL('./instance-server.js', import.meta.url)
const K1 = 'rotation-key-one-0123456789-abcdefghijklmnopqrstu'
const K2 = 'rotation-key-two-0123456789-abcdefghijklmnopqrstu'

interface Instance { name: string, origin: string, stop: () => Promise<void> }

t.before(() => {
  if (!existsSync(new URL('../../dist/plugin/index.js', import.meta.url))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does) before this test')
  }
})

/** Starts an instance on a free port; it is stopped by `stop()` or when the test ends. */
async function start (t: Test, name: string, secrets: string[]): Promise<Instance> {
  // Without tap's NODE_OPTIONS: the child runs plain built JavaScript, no loader, no coverage.
  const { NODE_OPTIONS: _tapLoaders, ...env } = process.env
  const child = spawn(process.execPath, [fileURLToPath(SERVER)], {
    env: { ...env, SESSION_SECRETS: JSON.stringify(secrets), INSTANCE_NAME: name },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const stop = () => stopChild(child)
  t.teardown(stop)
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${name} exited (${String(code)}) before listening: ${stderr}`)))
    createInterface({ input: child.stdout! }).once('line', (line) => resolve((JSON.parse(line) as { port: number }).port))
  })
  return { name, origin: `http://127.0.0.1:${port}`, stop }
}

function stopChild (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })
}

/** A browser: one cookie jar for every instance (cookies ignore ports), fetch for transport. */
class Client {
  readonly jar = new CookieJar()

  async send (instance: Instance, method: string, path: string) {
    const url = `${instance.origin}${path}`
    const cookie = await this.jar.getCookieString(url)
    const response = await fetch(url, { method, headers: cookie === '' ? {} : { cookie } })
    for (const header of response.headers.getSetCookie()) await this.jar.setCookie(header, url)
    return { status: response.status, body: await response.json() as { user: string | null, visits?: number } }
  }

  login (instance: Instance, user: string) { return this.send(instance, 'POST', `/login/${user}`) }
  visit (instance: Instance) { return this.send(instance, 'POST', '/visit') }
  whoami (instance: Instance) { return this.send(instance, 'GET', '/whoami') }
}

t.test('two processes with the same secret share sessions', async (t) => {
  const [a, b, stranger] = await Promise.all([start(t, 'A', [K1]), start(t, 'B', [K1]), start(t, 'C', [K2])])
  const client = new Client()
  t.equal((await client.login(a, 'kimi')).status, 200)
  t.same((await client.visit(b)).body, { instance: 'B', user: 'kimi', visits: 1 }, 'logged in on A, read on B')
  t.same((await client.visit(a)).body, { instance: 'A', user: 'kimi', visits: 2 }, 'written on B, read on A')
  t.same((await client.visit(b)).body, { instance: 'B', user: 'kimi', visits: 3 })
  t.same((await client.visit(stranger)).body, { instance: 'C', user: null }, 'an instance with another secret refuses it')
})

t.test('rolling key rotation loses no session and ends on the new key', async (t) => {
  let [a, b] = await Promise.all([start(t, 'A', [K1]), start(t, 'B', [K1])])
  const active = new Client() // bounces between the instances throughout
  const idle = new Client() // logs in before the rotation and comes back after it
  await active.login(a, 'active')
  await idle.login(b, 'idle')
  let visits = 0

  /** Restarts one instance with new secrets, then checks every session on both instances. */
  async function step (which: 'A' | 'B', secrets: string[]) {
    if (which === 'A') { await a.stop(); a = await start(t, 'A', secrets) } else { await b.stop(); b = await start(t, 'B', secrets) }
    for (const instance of [a, b, a, b]) {
      const { status, body } = await active.visit(instance)
      t.equal(status, 200, `${which} restarted: ${instance.name} still knows the active user`)
      t.equal(body.visits, ++visits, 'and sees its latest write')
    }
    const fresh = new Client()
    await fresh.login(b, 'fresh')
    t.same((await fresh.visit(a)).body.user, 'fresh', 'a login on B is read on A')
    await fresh.login(a, 'fresh')
    t.same((await fresh.visit(b)).body.user, 'fresh', 'a login on A is read on B')
  }

  // 1. Teach every instance k2 as a fallback, one at a time: k1 still signs everything.
  await step('B', [K1, K2])
  await step('A', [K1, K2])
  // 2. Make k2 current, one at a time: each instance still accepts the other's k1 cookies.
  await step('B', [K2, K1])
  const [newKeyOnly] = await Promise.all([start(t, 'K2-only', [K2]), step('A', [K2, K1])])
  t.equal((await active.whoami(newKeyOnly)).body.user, 'active', 'the active session is now signed with k2')
  t.equal((await idle.whoami(newKeyOnly)).body.user, null, 'the idle cookie is still signed with k1')
  t.equal((await idle.whoami(a)).body.user, 'idle', 'the idle session survived the rotation')
  t.equal((await idle.whoami(newKeyOnly)).body.user, 'idle', 'and reading it re-issued it with k2')
})

// The shortcut: one instance on [k1] while another already signs with k2. Sessions that start on
// B, or pass through it, are unreadable on A until A learns k2: hence step 1 above.
t.test('skipping the fallback step loses sessions that bounce back to an old instance', async (t) => {
  const [a, b] = await Promise.all([start(t, 'A', [K1]), start(t, 'B', [K2, K1])])
  const before = new Client()
  await before.login(a, 'before')
  t.equal((await before.visit(b)).body.user, 'before', 'B reads a k1 cookie (and re-signs it with k2)')
  t.equal((await before.visit(a)).status, 401, 'A cannot read the cookie B re-signed: the session is lost')
  const after = new Client()
  await after.login(b, 'after')
  t.equal((await after.visit(a)).status, 401, 'nor a login made on B')
})
