// Imported first on purpose: where @fastify/session or @fastify/secure-session is installed,
// @fastify/passport's types load theirs, and the first `FastifyRequest.session` declaration wins.
import cookieSession, { type Session } from 'fastify-cookie-session'
import csrf from '@fastify/csrf-protection'
import flash from '@fastify/flash'
import { Authenticator } from '@fastify/passport'
import Fastify from 'fastify'
import { Strategy as LocalStrategy } from 'passport-local'

declare module 'fastify-cookie-session' {
  interface SessionData {
    username: string
    cart: string[]
  }
}

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
function assertEqual<A, B> (_proof: Equal<A, B>): void {}

const passport = new Authenticator()
passport.use('local', new LocalStrategy((username, _password, done) => done(null, { username })))
passport.registerUserSerializer(async (user: { username: string }) => user.username)
passport.registerUserDeserializer(async (username: string) => ({ username }))

const app = Fastify()
await app.register(cookieSession, { secret: 'x'.repeat(32) })
await app.register(csrf, { sessionPlugin: '@fastify/session' })
await app.register(passport.initialize()) // registers @fastify/flash too
await app.register(passport.secureSession())

app.post('/login', passport.authenticate('local', { successRedirect: '/', failureRedirect: '/login', failureFlash: 'Invalid credentials!' }))

app.get('/', async (request, reply) => {
  // request.session is ours, with the augmented keys typed, next to all three plugins.
  assertEqual<typeof request.session, Session>(true)
  assertEqual<typeof request.session.username, string | undefined>(true)
  const cart: string[] = request.session.get('cart', [])
  request.session.set('cart', [...cart, 'book'])
  // @ts-expect-error a declared key keeps its type
  request.session.username = 42
  request.flash('info', 'added to your cart')
  const errors = reply.flash('error')
  const token: string = reply.generateCsrf()
  return { user: request.user, errors, token, authenticated: request.isAuthenticated(), id: request.session.sessionId }
})

// Without passport, @fastify/flash is registered by the app itself.
export async function flashOnly () {
  const app = Fastify()
  await app.register(cookieSession, { secret: 'x'.repeat(32) })
  await app.register(flash)
  app.get('/', async (request, reply) => {
    request.flash('error', 'Invalid credentials!')
    const messages: string[] = reply.flash('error') as string[]
    return { messages, user: request.session.get('username', 'Guest') }
  })
  return app
}
