/* eslint-disable @typescript-eslint/no-unused-vars -- values here exist only to be type-checked */
// Compile-time checks of the public types, run by `tsc --noEmit` (npm test's type-check step):
// each line below fails the build if the API's types drift. Nothing here runs.
import Fastify from 'fastify'
import cookieSession, {
  cookieSession as named,
  FST_SESSION_TOO_LARGE,
  type CookieSessionOptions,
  type InvalidReason,
  type Session,
  type SessionContents
} from '../../plugin/index.js'

declare module '../../plugin/index.js' {
  interface SessionData {
    // Names unique to this file: augmentation is program-wide, and other tests use plain keys.
    typedName: string
    typedAge: number
    typedCart: { items: string[] }
  }
}

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
function expectType<T> (_value: T): void {}
function assertEqual<A, B> (_proof: Equal<A, B>): void {}

const app = Fastify()
await app.register(cookieSession, { secret: 'x'.repeat(32) })
await app.register(named, { secret: [Buffer.alloc(32), 'y'.repeat(32)], cookie: { secure: 'auto', sameSite: 'strict' } })

app.get('/', async (request) => {
  const session = request.session
  expectType<Session>(session)
  // Declared keys are typed and optional.
  assertEqual<typeof session.typedName, string | undefined>(true)
  const age: number = session.get('typedAge', 0)
  const name = session.get('typedName')
  assertEqual<typeof name, string | undefined>(true)
  const popped = session.pop('typedName', 'Guest')
  assertEqual<typeof popped, string>(true)
  session.typedName = 'Kimi'
  session.set('typedAge', 25)
  session.set('typedAge', undefined)
  // @ts-expect-error a declared key keeps its type
  session.typedAge = 'twenty'
  // @ts-expect-error a declared key keeps its type through set()
  session.set('typedName', 42)
  // Undeclared keys are allowed and `unknown`, never `any`.
  const other = session.get('undeclared')
  const withDefault = session.get('undeclared', 1)
  assertEqual<typeof withDefault, unknown>(true)
  // @ts-expect-error the default of a declared key has its type
  session.get('typedAge', 'zero')
  assertEqual<typeof other, unknown>(true)
  assertEqual<typeof session.undeclared, unknown>(true)
  session.typedCart?.items.push('book')
  // Flags and methods.
  assertEqual<typeof session.modified, boolean>(true)
  assertEqual<typeof session.isNew, boolean>(true)
  assertEqual<typeof session.sessionId, string>(true)
  session.permanent = true
  // @ts-expect-error flags are read-only
  session.modified = true
  expectType<Promise<void>>(session.regenerate(['typedCart']))
  session.options({ sameSite: 'lax', path: '/' })
  // @ts-expect-error only real cookie attributes
  session.options({ sameSite: 'sometimes' })
  expectType<SessionContents>(session.data())
  return age
})

const options: CookieSessionOptions = {
  secret: 'x'.repeat(32),
  maxAge: 3600,
  refresh: 600,
  onInvalidCookie (reason, request) {
    assertEqual<typeof reason, InvalidReason>(true)
    request.log.info(reason)
  }
}
const asyncOptions: CookieSessionOptions = {
  secret: 'x'.repeat(32),
  async onInvalidCookie (reason) {
    await Promise.resolve(reason)
  }
}
// @ts-expect-error secret is required
const missingSecret: CookieSessionOptions = { maxAge: 1 }

const error = new FST_SESSION_TOO_LARGE('cookie "session" would be 5000 bytes')
assertEqual<typeof error.code, 'FST_SESSION_TOO_LARGE'>(true)

export { options, asyncOptions, missingSecret, error }
