import Fastify from 'fastify'
import cookieSession from '../../dist/plugin/index.js'

// One instance of an app behind a load balancer, as the multi-process test starts it: the built
// package, the secrets it is given, a real port. Prints {"port": n} once it accepts connections.

const secrets = JSON.parse(process.env.SESSION_SECRETS ?? '[]')
const instance = process.env.INSTANCE_NAME ?? 'instance'

const app = Fastify()
await app.register(cookieSession, { secret: secrets })

app.post('/login/:user', async (request) => {
  await request.session.regenerate()
  request.session.user = request.params.user
  request.session.visits = 0
  return { instance, user: request.session.user }
})

// Writes on every request, so every response carries a cookie signed with this instance's key.
app.post('/visit', async (request, reply) => {
  if (request.session.user === undefined) return reply.code(401).send({ instance, user: null })
  request.session.visits += 1
  return { instance, user: request.session.user, visits: request.session.visits }
})

// Reads only: re-issues the cookie only when a fallback secret verified it.
app.get('/whoami', async (request) => ({ instance, user: request.session.user ?? null }))

await app.listen({ host: '127.0.0.1', port: 0 })
process.stdout.write(`${JSON.stringify({ port: app.server.address().port })}\n`)
