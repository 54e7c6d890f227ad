import t from 'tap'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'

// The built package as users load it: by name, through the exports map, with import and require.
// `npm test` builds dist/ before tap runs.

const run = promisify(execFile)
const root = fileURLToPath(new URL('..', import.meta.url))

const scenario = (load: string) => `
  ${load}
  const app = Fastify()
  await app.register(plugin, { secret: 'x'.repeat(32) })
  app.get('/', async (request) => { request.session.n = 1; return 'ok' })
  const response = await app.inject('/')
  console.log(JSON.stringify({
    status: response.statusCode,
    cookie: /^session=s1\\./.test(response.headers['set-cookie']),
    error: typeof errorClass === 'function' && new errorClass('m').code
  }))
`

t.test('dist/ is built', async (t) => {
  t.ok(existsSync(new URL('../dist/plugin/index.js', import.meta.url)), 'run `npm run build` first')
  t.ok(existsSync(new URL('../dist/plugin/index.d.ts', import.meta.url)), 'with type declarations')
})

t.test('import by package name (default and named exports)', async (t) => {
  const code = scenario(`
    import Fastify from 'fastify'
    import plugin, { cookieSession, FST_SESSION_INVALID_KEY as errorClass } from 'fastify-cookie-session'
    if (plugin !== cookieSession) throw new Error('default and named exports differ')`)
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], { cwd: root })
  t.same(JSON.parse(stdout), { status: 200, cookie: true, error: 'FST_SESSION_INVALID_KEY' })
})

t.test('require() by package name returns the plugin itself', async (t) => {
  const code = `(async () => { ${scenario(`
    const Fastify = require('fastify')
    const plugin = require('fastify-cookie-session')
    const errorClass = plugin.FST_SESSION_INVALID_KEY
    if (plugin.default !== plugin || plugin.cookieSession !== plugin) throw new Error('CommonJS aliases missing')`)} })()`
  const { stdout } = await run(process.execPath, ['--no-warnings', '-e', code], { cwd: root })
  t.same(JSON.parse(stdout), { status: 200, cookie: true, error: 'FST_SESSION_INVALID_KEY' })
})

t.test('plugin metadata: Fastify 5, named, one registration per scope', async (t) => {
  const { default: plugin } = await import('../plugin/index.js')
  const meta = (plugin as unknown as Record<symbol, { fastify: string, name: string }>)[Symbol.for('plugin-meta')]
  t.match(meta, { fastify: '5.x', name: 'fastify-cookie-session' })
})
