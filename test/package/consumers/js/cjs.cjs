// A JavaScript user's CommonJS file: require() returns the plugin itself, its exports ride along.
const Fastify = require('fastify')
const cookieSession = require('fastify-cookie-session')
const { cookieSession: named, FST_SESSION_INVALID_KEY } = require('fastify-cookie-session')

async function main () {
  const app = Fastify()
  await app.register(cookieSession, { secret: 'a secret of at least thirty-two bytes' })
  app.get('/login', async (request) => {
    request.session.user = 'ada'
    return 'ok'
  })
  app.get('/whoami', async (request) => ({ user: request.session.user ?? null }))

  const login = await app.inject('/login')
  const [cookie] = login.cookies
  const whoami = await app.inject({ url: '/whoami', cookies: { [cookie.name]: cookie.value } })
  console.log(JSON.stringify({
    status: login.statusCode,
    cookie: cookie.name,
    user: whoami.json().user,
    error: new FST_SESSION_INVALID_KEY('x').code,
    sameExport: named === cookieSession && cookieSession.default === cookieSession
  }))
}

main()
