import t, { type Test } from 'tap'
import fc from 'fast-check'
import Fastify from 'fastify'
import cookieSession, { FST_SESSION_INVALID_OPTION, type CookieSessionOptions } from '../../plugin/index.js'
import { SECRET, serializeCookie, setCookieHeaders } from '../helpers.js'

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
  ['unknown cookie attribute', { secret: SECRET, cookie: { colour: 'blue' } }, /unknown option "cookie.colour"; valid options are path, domain/],
  ['cookie.maxAge', { secret: SECRET, cookie: { maxAge: 5 } }, /unknown option "cookie.maxAge" \(the cookie's lifetime is the top-level "maxAge" option, in seconds\)/],
  ['bad priority', { secret: SECRET, cookie: { priority: 'urgent' } }, /"cookie.priority" must be 'low', 'medium' or 'high', got urgent/],
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
  ['__Secure- without secure', { secret: SECRET, cookieName: '__Secure-s' }, /__Secure- prefix requires Secure/],
  // Browsers match the prefixes case-insensitively: Chromium silently drops `__HOST-sid` without Secure.
  ['__HOST- without secure', { secret: SECRET, cookieName: '__HOST-sid' }, /__Host- prefix requires all three/],
  ['__host- with a path', { secret: SECRET, cookieName: '__host-sid', cookie: { secure: true, path: '/app' } }, /__Host-/],
  ['__SECURE- without secure', { secret: SECRET, cookieName: '__SECURE-sid' }, /__Secure- prefix requires Secure/],
  ['__secure- without secure', { secret: SECRET, cookieName: '__secure-sid', cookie: { secure: 'auto' } }, /__Secure- prefix/]
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
    { secret: SECRET, cookie: { sameSite: 'Strict', priority: 'High' } },
    { secret: SECRET, cookieName: '__HOST-sid', cookie: { secure: true } },
    { secret: SECRET, maxAge: 400 * 24 * 3600, absoluteMaxAge: 60, refresh: 0, permanent: true },
    { secret: SECRET, refresh: false, onInvalidCookie: () => {} }
  ]) {
    await t.resolves(register(options), JSON.stringify(options))
  }
})

// Path and domain are checked by @fastify/cookie's own serializer, the code that writes them: a
// value accepted at register can always be written and deleted. Candidates include what a looser
// check let through ('<', non-ASCII, U+2028), and random strings; the expectation is computed from
// the serializer itself, not from a copy of its rules.
function serializerAccepts (attribute: Record<string, string>): boolean {
  try {
    serializeCookie('x', '', attribute)
    return true
  } catch {
    return false
  }
}

const pathUnit = fc.oneof(fc.constantFrom(...'/abc=;<>"\\ %~é\u2028\t\r\n\u007f\u0000'), fc.nat(0xffff).map((c) => String.fromCharCode(c)))
const PATHS = ['/a<b', '/é', '/a\u2028b', '/a b', '/a=b', '/a>b', '/a;b', '/a\tb', '/ok/x', '/', '/a"b', '/~x%20']
  .concat(fc.sample(fc.string({ unit: pathUnit, maxLength: 6 }).map((tail) => `/${tail}`), { seed: 1, numRuns: 60 }))
const DOMAINS = ['example.com', '.example.com', 'ex_ample.com', 'exämple.com', 'a..b', '-a.com', 'a-.com', 'localhost', 'a.b.c.d', 'example.com.', 'EXAMPLE.COM', `${'a'.repeat(64)}.com`]
  .concat(fc.sample(fc.string({ unit: fc.constantFrom(...'ab-._9é '), minLength: 1, maxLength: 8 }), { seed: 2, numRuns: 40 }))

/** A printable ASCII name for a candidate: a raw U+2028 or CR in a test name would break TAP's lines. */
function label (text: string): string {
  return JSON.stringify(text).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

async function writeAndDelete (t: Test, options: CookieSessionOptions) {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(cookieSession, options)
  app.get('/write', async (request) => { request.session.n = 1; return 'ok' })
  app.get('/clear', async (request) => { request.session.clear(); return 'ok' })
  await app.ready()
  const written = await app.inject('/write')
  const cookie = (setCookieHeaders(written)[0] ?? '').split(';')[0] as string
  const deleted = await app.inject({ url: '/clear', headers: { cookie } })
  return { written, deleted }
}

t.test('cookie.path is accepted exactly when the serializer accepts it, and then always works', async (t) => {
  for (const path of new Set(PATHS)) {
    const expected = path.startsWith('/') && serializerAccepts({ path })
    const name = label(path)
    if (!expected) {
      await t.rejects(register({ secret: SECRET, cookie: { path } }), { code: 'FST_SESSION_INVALID_OPTION', message: /"cookie.path"/ }, name)
      continue
    }
    const { written, deleted } = await writeAndDelete(t, { secret: SECRET, cookie: { path } })
    t.equal(written.statusCode, 200, `${name}: a write is sent`)
    t.match(setCookieHeaders(written)[0], `; Path=${path}`, `${name}: with that path`)
    t.equal(deleted.statusCode, 200, `${name}: and the cookie can be deleted`)
    t.match(setCookieHeaders(deleted)[0], /Max-Age=0/)
  }
})

t.test('cookie.domain is accepted exactly when the serializer accepts it, and then always works', async (t) => {
  for (const domain of new Set(DOMAINS)) {
    const expected = serializerAccepts({ domain })
    const name = label(domain)
    if (!expected) {
      await t.rejects(register({ secret: SECRET, cookie: { domain } }), { code: 'FST_SESSION_INVALID_OPTION', message: /"cookie.domain"/ }, name)
      continue
    }
    const { written, deleted } = await writeAndDelete(t, { secret: SECRET, cookie: { domain } })
    t.equal(written.statusCode, 200, `${name}: a write is sent`)
    t.equal(deleted.statusCode, 200, `${name}: and the cookie can be deleted`)
  }
})

t.test('registering twice in one context, or again in a child, is a typed error', async (t) => {
  const twice = Fastify()
  t.teardown(() => twice.close())
  twice.register(cookieSession, { secret: SECRET })
  twice.register(cookieSession, { secret: SECRET, cookieName: 'other' })
  await t.rejects(async () => { await twice.ready() }, { code: 'FST_SESSION_ALREADY_REGISTERED', message: /register it once per encapsulation tree, or in sibling contexts with different cookie names/ })

  const nested = Fastify()
  t.teardown(() => nested.close())
  nested.register(cookieSession, { secret: SECRET })
  nested.register(async (child) => { child.register(cookieSession, { secret: SECRET, cookieName: 'child' }) })
  await t.rejects(async () => { await nested.ready() }, { code: 'FST_SESSION_ALREADY_REGISTERED' })

  // What the message recommends works: sibling contexts, each with its own cookie.
  const siblings = Fastify()
  t.teardown(() => siblings.close())
  for (const name of ['a', 'b']) {
    siblings.register(async (child) => {
      await child.register(cookieSession, { secret: SECRET, cookieName: name })
      child.get(`/${name}`, async (request) => { request.session.n = name; return 'ok' })
    })
  }
  await siblings.ready()
  t.match(setCookieHeaders(await siblings.inject('/a'))[0], /^a=/)
  t.match(setCookieHeaders(await siblings.inject('/b'))[0], /^b=/)
})
