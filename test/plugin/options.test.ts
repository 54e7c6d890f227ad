import t from 'tap'
import Fastify from 'fastify'
import cookieSession, { FST_SESSION_INVALID_OPTION, type CookieSessionOptions } from '../../plugin/index.js'
import { SECRET } from '../helpers.js'

// Every misconfiguration fails at register with a message that says what to change.

async function register (options: unknown) {
  const app = Fastify()
  try {
    await app.register(cookieSession, options as CookieSessionOptions)
    await app.ready()
  } finally {
    await app.close()
  }
}

const cases: Array<[string, unknown, RegExp]> = [
  ['no options', undefined, /"secret" option is required/],
  ['missing secret', {}, /"secret" option is required.*at least 32/],
  ['short string secret', { secret: 'too-short' }, /"secret" is 9 bytes; it must be at least 32 bytes/],
  ['short Buffer secret', { secret: Buffer.alloc(31) }, /"secret" is 31 bytes/],
  ['short fallback', { secret: [SECRET, 'short'] }, /"secret\[1\]" is 5 bytes/],
  ['empty secret array', { secret: [] }, /"secret" array is empty/],
  ['non-string secret', { secret: 12345 }, /"secret" must be a string or a Buffer/],
  ['unknown option (typo)', { secret: SECRET, maxage: 10 }, /unknown option "maxage"; valid options are .*maxAge/],
  ['unknown format', { secret: SECRET, format: 'jwt' }, /"format" must be one of 'signed', 'encrypted', 'flask', got jwt/],
  ['absoluteMaxAge with flask', { secret: SECRET, format: 'flask', absoluteMaxAge: 60 }, /"absoluteMaxAge" cannot be used with format 'flask'/],
  ['empty flask secret', { secret: '', format: 'flask' }, /"secret" is 0 bytes; it must be at least 1 bytes/],
  ['zero maxAge', { secret: SECRET, maxAge: 0 }, /"maxAge" must be a positive whole number of seconds, got 0/],
  ['negative maxAge', { secret: SECRET, maxAge: -5 }, /"maxAge" must be a positive/],
  ['fractional maxAge', { secret: SECRET, maxAge: 1.5 }, /"maxAge" must be a positive whole/],
  ['maxAge in milliseconds', { secret: SECRET, maxAge: 31 * 24 * 3600 * 1000 }, /over the 400 days browsers allow; it is in seconds, not milliseconds/],
  ['bad absoluteMaxAge', { secret: SECRET, absoluteMaxAge: 'a day' }, /"absoluteMaxAge" must be a positive/],
  ['bad refresh', { secret: SECRET, refresh: -1 }, /"refresh" must be true, false or a whole number of seconds/],
  ['bad permanent', { secret: SECRET, permanent: 'yes' }, /"permanent" must be true or false/],
  ['bad onInvalidCookie', { secret: SECRET, onInvalidCookie: 'log' }, /"onInvalidCookie" must be a function/],
  ['empty cookie name', { secret: SECRET, cookieName: '' }, /"cookieName" must be a non-empty cookie token/],
  ['cookie name with ;', { secret: SECRET, cookieName: 'a;b' }, /"cookieName" must be a non-empty cookie token/],
  ['cookie name with CRLF', { secret: SECRET, cookieName: 'a\r\nSet-Cookie: x' }, /"cookieName"/],
  ['cookie not an object', { secret: SECRET, cookie: 'secure' }, /"cookie" must be an object/],
  ['unknown cookie attribute', { secret: SECRET, cookie: { maxAge: 5 } }, /unknown option "cookie.maxAge"/],
  ['path without /', { secret: SECRET, cookie: { path: 'app' } }, /"cookie.path" must start with "\/"/],
  ['path with ;', { secret: SECRET, cookie: { path: '/a;Domain=evil' } }, /"cookie.path"/],
  ['path with CR/LF', { secret: SECRET, cookie: { path: '/a\r\nX: y' } }, /"cookie.path"/],
  ['domain with ;', { secret: SECRET, cookie: { domain: 'example.com;x' } }, /"cookie.domain" must be a host name/],
  ['domain with CR/LF', { secret: SECRET, cookie: { domain: 'example.com\r\n' } }, /"cookie.domain"/],
  ['bad secure', { secret: SECRET, cookie: { secure: 'yes' } }, /"cookie.secure" must be true, false or 'auto'/],
  ['bad sameSite', { secret: SECRET, cookie: { sameSite: 'sometimes' } }, /"cookie.sameSite" must be 'lax', 'strict', 'none' or false/],
  ['bad httpOnly', { secret: SECRET, cookie: { httpOnly: 1 } }, /"cookie.httpOnly" must be true or false/],
  ['sameSite none without secure', { secret: SECRET, cookie: { sameSite: 'none' } }, /needs "cookie.secure: true"/],
  ["sameSite none with secure 'auto'", { secret: SECRET, cookie: { sameSite: 'none', secure: 'auto' } }, /needs "cookie.secure: true"/],
  ['partitioned without secure', { secret: SECRET, cookie: { partitioned: true } }, /"cookie.partitioned: true" needs "cookie.secure: true"/],
  ['__Host- without secure', { secret: SECRET, cookieName: '__Host-s' }, /__Host- prefix requires all three/],
  ['__Host- with domain', { secret: SECRET, cookieName: '__Host-s', cookie: { secure: true, domain: 'example.com' } }, /__Host-/],
  ['__Host- with a path', { secret: SECRET, cookieName: '__Host-s', cookie: { secure: true, path: '/app' } }, /__Host-/],
  ['__Secure- without secure', { secret: SECRET, cookieName: '__Secure-s' }, /__Secure- prefix requires Secure/]
]

for (const [name, options, message] of cases) {
  t.test(name, async (t) => {
    await t.rejects(register(options), { code: 'FST_SESSION_INVALID_OPTION', message })
  })
}

t.test('the error is exported, typed and a TypeError', async (t) => {
  const error = await register({}).catch((e: unknown) => e)
  t.type(error, FST_SESSION_INVALID_OPTION)
  t.type(error, TypeError)
})

t.test('valid configurations register', async (t) => {
  for (const options of [
    { secret: SECRET },
    { secret: Buffer.alloc(32, 7) },
    { secret: new Uint8Array(40) },
    { secret: [SECRET, Buffer.alloc(32, 1)] },
    { secret: SECRET, cookieName: '__Host-session', cookie: { secure: true } },
    { secret: SECRET, cookieName: '__Secure-session', cookie: { secure: true, domain: 'example.com' } },
    { secret: SECRET, cookie: { sameSite: 'None', secure: true, partitioned: true } },
    { secret: SECRET, cookie: { sameSite: false, domain: '.example.co.uk', path: '/app/x' } },
    { secret: SECRET, maxAge: 400 * 24 * 3600, absoluteMaxAge: 60, refresh: 0, permanent: true },
    { secret: SECRET, refresh: false, onInvalidCookie: () => {} }
  ]) {
    await t.resolves(register(options), JSON.stringify(options))
  }
})
