// A TypeScript user's ES module (module: nodenext): imports, the SessionData augmentation, a request.
import Fastify, { type FastifyInstance } from 'fastify'
import cookieSession, { cookieSession as named, FST_SESSION_INVALID_KEY, type Session } from 'fastify-cookie-session'

declare module 'fastify-cookie-session' {
  interface SessionData {
    user: string
  }
}

// Never called: what the compiler must refuse.
export async function typeErrors (session: Session, app: FastifyInstance): Promise<void> {
  // @ts-expect-error a declared key keeps its type
  session.user = 42
  // @ts-expect-error the error classes are typed: statusCode is 500, not a string (were their
  // declarations unresolved, skipLibCheck would hide why and they would be `any`)
  session.user = new FST_SESSION_INVALID_KEY('x').statusCode
  // @ts-expect-error the options are typed: format is 'signed', 'encrypted' or 'flask'
  await app.register(cookieSession, { secret: 'a secret of at least thirty-two bytes', format: 'plain' })
}

const app = Fastify()
await app.register(cookieSession, { secret: 'a secret of at least thirty-two bytes' })
app.get('/login', async (request) => {
  request.session.user = 'ada'
  return 'ok'
})
app.get('/whoami', async (request) => {
  const user: string | null = request.session.get('user') ?? null
  return { user }
})

const login = await app.inject('/login')
const [cookie] = login.cookies
if (cookie === undefined) throw new Error('no cookie')
const whoami = await app.inject({ url: '/whoami', cookies: { [cookie.name]: cookie.value } })
console.log(JSON.stringify({
  status: login.statusCode,
  cookie: cookie.name,
  user: whoami.json<{ user: string | null }>().user,
  error: new FST_SESSION_INVALID_KEY('x').code,
  sameExport: named === cookieSession
}))
