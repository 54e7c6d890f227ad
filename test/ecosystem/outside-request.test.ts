import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import websocket from '@fastify/websocket'
import t from 'tap'
import WebSocket from 'ws'
import { buildApp, cookiePair, SECRET } from '../helpers.js'

// Sessions where there is no ordinary Fastify request: a WebSocket route (the real
// @fastify/websocket, a real ws client over a socket) and a plain node:http process using the
// standalone codec of the built package.

t.test('@fastify/websocket: the session comes with the upgrade request, and a revoked one is refused there', async (t) => {
  const revoked = new Set<string>()
  const app = await buildApp({ validate: (session) => !revoked.has(session.sessionId) }, (app) => {
    app.register(websocket)
    app.register(async (app) => {
      app.get('/ws', { websocket: true }, (socket, request) => {
        socket.send(JSON.stringify({ user: request.session.user ?? null, id: request.session.sessionId }))
        socket.close()
      })
    })
    app.get('/login', async (request) => { request.session.user = 'kimi'; return request.session.sessionId })
  })
  t.teardown(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as { port: number }
  const login = await app.inject('/login')
  const cookie = cookiePair(login)

  async function greet (headers: Record<string, string>): Promise<{ user: string | null, id: string }> {
    const client = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers })
    const [message] = await once(client, 'message') as [Buffer]
    return JSON.parse(message.toString())
  }
  t.same(await greet({ cookie }), { user: 'kimi', id: login.body }, 'the WebSocket sees the logged-in session')
  t.match(await greet({}), { user: null }, 'no cookie: an empty session')
  revoked.add(login.body)
  t.match(await greet({ cookie }), { user: null }, 'revoked: refused in the WebSocket route too')
})

t.test('a plain node:http process reads the app\'s cookie with the codec, and mints one the app accepts', async (t) => {
  const { NODE_OPTIONS: _tapLoaders, ...env } = process.env
  const child = spawn(process.execPath, [fileURLToPath(new URL('./plain-http-server.js', import.meta.url))], {
    env: { ...env, SESSION_SECRET: SECRET },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  t.teardown(() => { child.kill() })
  const [line] = await Promise.race([
    once(createInterface({ input: child.stdout }), 'line') as Promise<[string]>,
    once(child, 'exit').then(([code]) => { throw new Error(`the service exited (${String(code)}); is dist/ built? (npm test builds it)`) })
  ])
  const origin = `http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`

  const app = await buildApp({ maxCookies: 3 }, (app) => {
    app.get('/login', async (request) => { request.session.user = 'kimi'; return request.session.sessionId })
    app.get('/whoami', async (request) => ({ user: request.session.user ?? null }))
  })
  t.teardown(() => app.close())
  const login = await app.inject('/login')
  const fromService = await (await fetch(`${origin}/whoami`, { headers: { cookie: cookiePair(login) } })).json()
  t.same(fromService, { user: 'kimi', sessionId: login.body }, 'the service reads the session the app wrote')
  t.equal(await (await fetch(`${origin}/whoami`, { headers: { cookie: 'session=forged' } })).json(), null, 'and refuses a forged one')

  const minted = await fetch(`${origin}/magic-link/ana`)
  const cookie = minted.headers.getSetCookie().map((header) => header.slice(0, header.indexOf(';'))).join('; ')
  t.same((await app.inject({ url: '/whoami', headers: { cookie } })).json(), { user: 'ana' }, 'the app accepts the cookie the service minted')
})
