import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createInterface } from 'node:readline'
import t from 'tap'
import Fastify from 'fastify'
import { buildApp } from '../../example/app.js'
import { describeStartError, readConfig, type Environment } from '../../example/config.js'
import cookieSession, { type CookieSessionOptions } from '../../plugin/index.js'
import { SECRET } from '../helpers.js'

// Start-up: the environment read into a config, then the built server as `npm start` runs it,
// in a child process on a free port.

const SERVER = new URL('../../dist/example/server.js', import.meta.url)
const VARIABLES = ['HOST', 'PORT', 'SESSION_SECRET', 'SESSION_FORMAT', 'SESSION_LIFETIME', 'SESSION_PERMANENT',
  'SESSION_COOKIE_SECURE', 'SESSION_COOKIE_SAMESITE', 'SESSION_MAX_COOKIES', 'SESSION_COMPRESS', 'DEMO_USERNAME', 'DEMO_PASSWORD']

t.test('readConfig: defaults', async (t) => {
  const config = readConfig({})
  t.match(config, {
    host: '127.0.0.1',
    port: 3000,
    format: undefined,
    lifetime: 31 * 24 * 3600,
    permanent: false,
    cookieSecure: 'auto',
    cookieSameSite: 'lax',
    maxCookies: 1,
    username: 'admin',
    password: 'secret'
  })
  t.equal(config.compress, undefined, "no SESSION_COMPRESS: the plugin's default for the format")
  t.ok(Buffer.byteLength(config.secret) >= 32, 'a random secret long enough for the plugin')
  t.not(readConfig({}).secret, config.secret, 'a new one on every start')
  t.equal(config.warnings.length, 1)
  t.match(config.warnings[0], /SESSION_SECRET is not set.*will not survive a restart/)
})

t.test('readConfig: values from the environment', async (t) => {
  const config = readConfig({
    HOST: '::1',
    PORT: '0',
    SESSION_SECRET: SECRET,
    SESSION_FORMAT: 'signed',
    SESSION_LIFETIME: '3600',
    SESSION_PERMANENT: 'TRUE',
    SESSION_COOKIE_SECURE: 'true',
    SESSION_COOKIE_SAMESITE: 'None',
    SESSION_MAX_COOKIES: '3',
    SESSION_COMPRESS: 'no',
    DEMO_USERNAME: 'alice',
    DEMO_PASSWORD: 'wonderland'
  })
  t.same(config, {
    host: '::1',
    port: 0,
    secret: SECRET,
    format: 'signed',
    lifetime: 3600,
    permanent: true,
    cookieSecure: true,
    cookieSameSite: 'none',
    maxCookies: 3,
    compress: false,
    username: 'alice',
    password: 'wonderland',
    warnings: []
  })
  t.equal(readConfig({ SESSION_SECRET: '', SESSION_PERMANENT: '0' }).warnings.length, 1, 'empty counts as unset')
  t.equal(readConfig({ SESSION_PERMANENT: 'off' }).permanent, false)
  t.equal(readConfig({ SESSION_COOKIE_SECURE: 'AUTO' }).cookieSecure, 'auto')
  t.equal(readConfig({ SESSION_COOKIE_SAMESITE: 'false' }).cookieSameSite, false)
  t.equal(readConfig({ SESSION_COMPRESS: 'On' }).compress, true)
  t.equal(readConfig({ SESSION_COMPRESS: '' }).compress, undefined, 'empty counts as unset')
  t.equal(readConfig({ SESSION_MAX_COOKIES: '2' }).maxCookies, 2)
})

t.test('readConfig: a default password on a public address is worth a warning', async (t) => {
  const config = readConfig({ SESSION_SECRET: SECRET, HOST: '0.0.0.0' })
  t.equal(config.warnings.length, 1)
  t.match(config.warnings[0], /DEMO_PASSWORD/)
  t.same(readConfig({ SESSION_SECRET: SECRET, HOST: '0.0.0.0', DEMO_PASSWORD: 'long and chosen' }).warnings, [])
})

t.test('readConfig: an invalid value throws, naming the variable', async (t) => {
  const cases: Array<[string, string, Record<string, string>?]> = [
    ['PORT', 'http'],
    ['PORT', '65536'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['SESSION_LIFETIME', '0'],
    ['SESSION_LIFETIME', '1e3'],
    ['SESSION_LIFETIME', ' 60'],
    ['SESSION_PERMANENT', 'maybe'],
    ['SESSION_COOKIE_SECURE', 'sometimes'],
    ['SESSION_COOKIE_SAMESITE', 'loose'],
    ['SESSION_COOKIE_SAMESITE', 'none', { SESSION_COOKIE_SECURE: 'auto' }],
    ['SESSION_MAX_COOKIES', '0'],
    ['SESSION_MAX_COOKIES', '4'],
    ['SESSION_MAX_COOKIES', 'two'],
    ['SESSION_MAX_COOKIES', '1.5'],
    ['SESSION_COMPRESS', 'gzip']
  ]
  for (const [variable, value, others] of cases) {
    t.throws(() => readConfig({ ...others, [variable]: value }),
      { name: 'ConfigError', variable, message: new RegExp(`^${variable} `) }, `${variable}=${value}`)
  }
})

t.test('describeStartError names the variable behind an option the plugin refused', async (t) => {
  const cases: Array<[string, Environment]> = [
    ['SESSION_SECRET', { SESSION_SECRET: 'too short' }],
    ['SESSION_FORMAT', { SESSION_FORMAT: 'no-such-format' }],
    ['SESSION_LIFETIME', { SESSION_LIFETIME: String(10 * 365 * 24 * 3600) }],
    // Within the variable's range, but Flask reads one cookie: the plugin refuses the pair.
    ['SESSION_MAX_COOKIES', { SESSION_FORMAT: 'flask', SESSION_MAX_COOKIES: '2' }]
  ]
  for (const [variable, env] of cases) {
    const app = buildApp(readConfig({ SESSION_SECRET: SECRET, ...env }))
    const error = await app.ready().then(() => undefined, (error: unknown) => error)
    await app.close()
    t.match(describeStartError(error), new RegExp(`^Invalid ${variable}: fastify-cookie-session: `), variable)
  }
  // The config reader lets no bad SESSION_COMPRESS through; the plugin's own refusal still maps.
  const plugin = Fastify()
  plugin.register(cookieSession, { secret: SECRET, compress: 'yes' } as unknown as CookieSessionOptions)
  const compressError = await plugin.ready().then(() => undefined, (error: unknown) => error)
  await plugin.close()
  t.match(describeStartError(compressError), /^Invalid SESSION_COMPRESS: fastify-cookie-session: "compress" must be true or false/)
  t.equal(describeStartError(Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' })),
    'PORT: cannot listen (EADDRINUSE): listen EADDRINUSE')
  t.equal(describeStartError(new Error('something else')), 'something else')
})

interface Started {
  url: string
  output: () => string
  stop: () => Promise<void>
}

/** Everything the child wrote, and how it ended (or the first "Server listening at" URL). */
function run (env: Record<string, string>): Promise<Started | { code: number | null, output: string }> {
  // Only what the test sets: a SESSION_SECRET exported in the developer's shell must not leak in.
  const inherited: Record<string, string | undefined> = { ...process.env }
  for (const name of VARIABLES) delete inherited[name]
  const child = spawn(process.execPath, [SERVER.pathname], {
    env: { ...inherited, HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))

  return new Promise((resolve) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      output += line + '\n'
      const url = /"msg":"Server listening at (http:\/\/[^"]+)"/.exec(line)?.[1]
      if (url === undefined) return
      resolve({
        url,
        output: () => output,
        async stop () {
          child.kill('SIGTERM')
          await exited
        }
      })
    })
    exited.then((code) => resolve({ code, output }), () => {})
  })
}

async function started (t: { teardown: (fn: () => unknown) => void }, env: Record<string, string>): Promise<Started> {
  const result = await run(env)
  if (!('url' in result)) throw new Error(`the server did not start (exit ${String(result.code)}):\n${result.output}`)
  t.teardown(result.stop)
  return result
}

t.test('the built server', { skip: !existsSync(SERVER) && 'dist/example/server.js is missing: run `npm run build`' }, async (t) => {
  t.test('answers on a free port, and warns that SESSION_SECRET is unset', async (t) => {
    const server = await started(t, {})
    t.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/)
    const response = await fetch(`${server.url}/get_session`)
    t.equal(response.status, 200)
    t.equal(await response.text(), 'Hello, Guest! Your age is 0.')

    const set = await fetch(`${server.url}/set_session`)
    const cookie = set.headers.getSetCookie()[0]?.split(';')[0] ?? ''
    t.match(cookie, /^session=./)
    const again = await fetch(`${server.url}/get_session`, { headers: { cookie } })
    t.equal(await again.text(), 'Hello, Kimi! Your age is 25.', 'the cookie round-trips over real HTTP')

    t.match(server.output(), /"level":40,[^\n]*"msg":"WARNING: SESSION_SECRET is not set/)
    t.match(server.output(), `Demo running: open ${server.url}/`)
  })

  t.test('no warning when SESSION_SECRET is set', async (t) => {
    const server = await started(t, { SESSION_SECRET: SECRET })
    t.equal(await (await fetch(`${server.url}/get_session`)).text(), 'Hello, Guest! Your age is 0.')
    t.notMatch(server.output(), /WARNING/)
  })

  // One refusal by the config reader, one by the plugin: the other variables take the same paths.
  const refusals: Array<[string, Record<string, string>]> = [
    ['PORT', { PORT: 'eighty' }],
    ['SESSION_FORMAT', { SESSION_SECRET: SECRET, SESSION_FORMAT: 'no-such-format' }]
  ]
  for (const [variable, env] of refusals) {
    t.test(`an invalid ${variable} stops it with a message naming the variable`, async (t) => {
      const result = await run(env)
      if ('url' in result) {
        await result.stop()
        t.fail(`it started at ${result.url}`)
        return
      }
      t.equal(result.code, 1)
      t.match(result.output, new RegExp(`^Cannot start the demo: (Invalid )?${variable}\\b`, 'm'))
      t.notMatch(result.output, /Server listening/)
    })
  }
})
