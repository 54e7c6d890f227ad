import { randomBytes } from 'node:crypto'
import t from 'tap'
import { INDEX_BYTES, MEMORY_BYTES } from '../../plugin/codecs/verified-cache.js'
import { buildApp, Browser, cookiePair, pinClock, sessionSetCookie, SECRET, OTHER_SECRET, resolveTestOptions } from '../helpers.js'

// When the cookie is written, deleted or left alone, and what comes with it (Vary, expiry).

const T0 = 1_800_000_000

function counterRoutes (app: import('fastify').FastifyInstance) {
  app.get('/write', async (request) => { request.session.n = ((request.session.n as number | undefined) ?? 0) + 1; return request.session.n })
  app.get('/read', async (request) => request.session.get('n', 0))
  app.get('/untouched', async () => 'no session use')
  app.get('/cart/add', async (request) => {
    const cart = (request.session.cart ?? (request.session.cart = { items: [] as number[] })) as { items: number[] }
    cart.items.push(cart.items.length + 1)
    return cart.items.length
  })
  app.get('/cart/noop', async (request) => {
    const cart = request.session.cart as { items: number[] }
    cart.items.push(99)
    cart.items.pop()
    return 'same value'
  })
  app.get('/clear', async (request) => { request.session.clear(); return 'cleared' })
  app.get('/permanent', async (request) => { request.session.permanent = true; request.session.n = 1; return 'permanent' })
  app.get('/vary', async (request, reply) => { reply.header('vary', 'Accept-Encoding'); return request.session.get('n', 0) })
}

t.test('Set-Cookie only when the session changed, by value', async (t) => {
  const app = await buildApp({}, counterRoutes)
  t.teardown(() => app.close())
  const browser = new Browser(app)

  const first = await browser.get('/write')
  t.ok(sessionSetCookie(first), 'a new non-empty session is written')
  const read = await browser.get('/read')
  t.equal(read.body, '1')
  t.equal(sessionSetCookie(read), undefined, 'reading does not rewrite')
  t.equal(read.headers.vary, 'Cookie', 'reading adds Vary: Cookie')

  const untouched = await browser.get('/untouched')
  t.equal(sessionSetCookie(untouched), undefined)
  t.equal(untouched.headers.vary, undefined, 'a route that never touches the session gets no Vary')

  t.equal((await browser.get('/cart/add')).body, '1')
  const nested = await browser.get('/cart/add')
  t.equal(nested.body, '2')
  t.ok(sessionSetCookie(nested), 'a nested mutation is saved')
  const noop = await browser.get('/cart/noop')
  t.equal(sessionSetCookie(noop), undefined, 'a nested change that restores the value is not a change')
  t.same((await browser.get('/cart/add')).body, '3', 'the nested change survived in the cookie')
})

t.test('an empty new session never sends a cookie; emptying a stored one deletes it', async (t) => {
  const app = await buildApp({ cookie: { path: '/', domain: 'example.com' } }, counterRoutes)
  t.teardown(() => app.close())
  const emptyNew = await app.inject('/clear')
  t.equal(sessionSetCookie(emptyNew), undefined)
  t.equal(emptyNew.headers.vary, 'Cookie')

  const browser = new Browser(app, 'http://www.example.com')
  await browser.get('/write')
  t.ok(await browser.cookie())
  const cleared = await browser.get('/clear')
  const deletion = sessionSetCookie(cleared)
  t.match(deletion, { value: '', maxAge: 0, path: '/', domain: 'example.com', httpOnly: true, sameSite: 'lax' })
  t.equal(deletion?.expires?.getTime(), 0, 'Expires in the past')
  t.equal(await browser.cookie(), undefined, 'the browser dropped it')
})

t.test('Vary keeps what the route set, without repeating Cookie or adding to *', async (t) => {
  const app = await buildApp({}, (app) => {
    counterRoutes(app)
    app.get('/vary/:value', async (request, reply) => {
      const { value } = request.params as { value: string }
      reply.header('vary', value === 'list' ? ['Accept', 'Origin'] : value)
      return request.session.get('n', 0)
    })
  })
  t.teardown(() => app.close())
  t.equal((await app.inject('/vary')).headers.vary, 'Accept-Encoding, Cookie')
  t.equal((await app.inject('/vary/list')).headers.vary, 'Accept, Origin, Cookie')
  t.equal((await app.inject('/vary/*')).headers.vary, '*')
  t.equal((await app.inject('/vary/Accept,%20cookie')).headers.vary, 'Accept, cookie')
})

t.test('default cookie attributes: HttpOnly, SameSite=Lax, Path=/, Secure only over https', async (t) => {
  const app = await buildApp({}, counterRoutes, { trustProxy: true })
  t.teardown(() => app.close())
  const plain = sessionSetCookie(await app.inject('/write'))
  t.match(plain, { httpOnly: true, sameSite: 'lax', path: '/' })
  t.notOk(plain?.secure, 'no Secure over http')
  t.notOk(plain?.expires ?? plain?.maxAge, 'not permanent: a browser-session cookie')
  t.notOk(plain?.partitioned)

  const https = new Browser(app, 'https://localhost')
  const secure = sessionSetCookie(await https.get('/write'))
  t.equal(secure?.secure, true, "secure: 'auto' sets Secure on https requests")
  t.equal((await https.get('/read')).body, '1', 'the browser sends the Secure cookie back over https')
  t.notOk(sessionSetCookie(await app.inject('/write'))?.secure, 'and again none over http after an https response')
})

t.test('configured attributes: secure, sameSite, partitioned, httpOnly false, sameSite false', async (t) => {
  const app = await buildApp({ cookieName: '__Host-sid', cookie: { secure: true, sameSite: 'none', partitioned: true } }, counterRoutes)
  t.teardown(() => app.close())
  const header = sessionSetCookie(await app.inject('/write'), '__Host-sid')
  t.match(header, { secure: true, sameSite: 'none', partitioned: true, path: '/' })

  const loose = await buildApp({ cookie: { httpOnly: false, sameSite: false, secure: false } }, counterRoutes)
  t.teardown(() => loose.close())
  const looseHeader = sessionSetCookie(await loose.inject('/write'))
  t.notOk(looseHeader?.httpOnly)
  t.notOk(looseHeader?.sameSite)
  t.notMatch(looseHeader?.header, /SameSite/i)
})

t.test('the cookie name is configurable and other cookies are ignored', async (t) => {
  const app = await buildApp({ cookieName: 'sid' }, counterRoutes)
  t.teardown(() => app.close())
  const browser = new Browser(app)
  const response = await browser.get('/write')
  t.ok(sessionSetCookie(response, 'sid'))
  t.equal(sessionSetCookie(response, 'session'), undefined)
  t.equal((await browser.get('/write')).body, '2')
})

t.test('permanent sessions with refresh: true are re-issued on every request', async (t) => {
  const clock = pinClock(t, T0)
  const app = await buildApp({ maxAge: 3600, refresh: true }, counterRoutes)
  t.teardown(() => app.close())
  const browser = new Browser(app)
  const first = sessionSetCookie(await browser.get('/permanent'))
  t.equal(first?.maxAge, 3600)
  t.equal(first?.expires?.getTime(), (T0 + 3600) * 1000)
  clock.advance(10)
  const refreshed = sessionSetCookie(await browser.get('/read'))
  t.equal(refreshed?.expires?.getTime(), (T0 + 3610) * 1000, 'a read re-issues with a later Expires')

  // Keeps going past maxAge as long as the user is active.
  for (let i = 0; i < 3; i++) {
    clock.advance(3000)
    t.equal((await browser.get('/read')).body, '1')
  }
})

t.test('by default a permanent session is re-issued once its cookie is a day old (or half of maxAge)', async (t) => {
  const DAY = 24 * 3600
  for (const [maxAge, after] of [[31 * DAY, DAY], [3600, 1800], [7, 4]] as const) {
    const clock = pinClock(t, T0)
    const app = await buildApp({ maxAge }, counterRoutes)
    const browser = new Browser(app)
    await browser.get('/permanent')
    clock.advance(after - 1)
    t.equal(sessionSetCookie(await browser.get('/read')), undefined, `maxAge ${maxAge}: not re-issued at ${after - 1} s`)
    clock.advance(1)
    t.ok(sessionSetCookie(await browser.get('/read')), `maxAge ${maxAge}: re-issued at ${after} s`)
    t.equal((await browser.get('/read')).body, '1', 'the session lives on')
    await app.close()
  }
  const flask = await buildApp({ format: 'flask', maxAge: 3600 }, counterRoutes)
  t.teardown(() => flask.close())
  const browser = new Browser(flask)
  await browser.get('/permanent')
  t.ok(sessionSetCookie(await browser.get('/read')), "format 'flask' keeps Flask's refresh on every request")
})

// Two requests in flight with the same cookie (a page and its XHR, two tabs): the write answers
// first, the read-only request answers last. A browser stores Set-Cookie headers in the order the
// responses arrive.
t.test('refresh race: a late read-only response overwrites a write with refresh: true, not by default', async (t) => {
  for (const refresh of [true, undefined]) {
    pinClock(t, T0)
    const app = await buildApp({ maxAge: 3600, ...(refresh === undefined ? {} : { refresh }) }, counterRoutes)
    const browser = new Browser(app)
    await browser.get('/permanent')
    const cookie = (await browser.cookie())?.cookieString() as string
    const [read, write] = await Promise.all([
      app.inject({ url: '/read', headers: { cookie } }),
      app.inject({ url: '/write', headers: { cookie } })
    ])
    for (const response of [write, read]) {
      for (const header of [response.headers['set-cookie']].flat()) {
        if (header !== undefined) await browser.jar.setCookie(header, 'http://localhost/')
      }
    }
    const after = (await browser.get('/read')).body
    if (refresh === true) t.equal(after, '1', 'refresh: true: the read re-sent the old data and the write is lost')
    else t.equal(after, '2', 'default: the read sent no cookie, the write survives')
    await app.close()
  }
})

t.test('permanent sessions with refresh: false are re-issued only when changed', async (t) => {
  pinClock(t, T0)
  const app = await buildApp({ maxAge: 3600, refresh: false }, counterRoutes)
  t.teardown(() => app.close())
  const browser = new Browser(app)
  await browser.get('/permanent')
  t.equal(sessionSetCookie(await browser.get('/read')), undefined)
  t.ok(sessionSetCookie(await browser.get('/write')))
})

t.test('permanent sessions with refresh: n are re-issued once the cookie is n seconds old', async (t) => {
  const clock = pinClock(t, T0)
  const app = await buildApp({ maxAge: 3600, refresh: 600 }, counterRoutes)
  t.teardown(() => app.close())
  const browser = new Browser(app)
  await browser.get('/permanent')
  clock.advance(599)
  t.equal(sessionSetCookie(await browser.get('/read')), undefined, '599 s: not yet')
  clock.advance(1)
  t.ok(sessionSetCookie(await browser.get('/read')), '600 s: re-issued')
  t.equal(sessionSetCookie(await browser.get('/read')), undefined, 'and the clock starts again')
})

t.test('the permanent option makes every new session permanent; setting it false ends that', async (t) => {
  pinClock(t, T0)
  const app = await buildApp({ permanent: true, maxAge: 600 }, (app) => {
    counterRoutes(app)
    app.get('/transient', async (request) => { request.session.permanent = false; return 'ok' })
  })
  t.teardown(() => app.close())
  const browser = new Browser(app)
  t.equal(sessionSetCookie(await browser.get('/write'))?.maxAge, 600)
  const transient = sessionSetCookie(await browser.get('/transient'))
  t.ok(transient, 'changing permanent is a change')
  t.equal(transient?.maxAge, undefined)
  t.equal(transient?.expires, undefined)
})

t.test('server-side lifetime: every cookie carries a signed issue time checked against maxAge', async (t) => {
  const clock = pinClock(t, T0)
  const app = await buildApp({ maxAge: 100 }, counterRoutes)
  t.teardown(() => app.close())
  const cookie = cookiePair(await app.inject('/write'))
  clock.advance(100)
  t.equal((await app.inject({ url: '/read', headers: { cookie } })).body, '1', 'an age equal to maxAge is still valid')
  clock.advance(1)
  const expired = await app.inject({ url: '/read', headers: { cookie } })
  t.equal(expired.statusCode, 200)
  t.equal(expired.body, '0', 'one second later the non-permanent cookie is an empty session')
  t.equal(sessionSetCookie(expired), undefined, 'and nothing is written for it')
})

t.test('a cookie issued in the future beyond 60 s of skew is rejected', async (t) => {
  const clock = pinClock(t, T0 + 61)
  const app = await buildApp({}, counterRoutes)
  t.teardown(() => app.close())
  const farFuture = cookiePair(await app.inject('/write'))
  clock.advance(-61)
  t.equal((await app.inject({ url: '/read', headers: { cookie: farFuture } })).body, '0')
  clock.advance(61 - 60)
  const nearFuture = farFuture // issued at T0+61, now T0+1: 60 s ahead, within skew
  t.equal((await app.inject({ url: '/read', headers: { cookie: nearFuture } })).body, '1')
})

t.test('absoluteMaxAge ends a session however active, and caps the browser expiry', async (t) => {
  const clock = pinClock(t, T0)
  const app = await buildApp({ maxAge: 1000, absoluteMaxAge: 2500 }, counterRoutes)
  t.teardown(() => app.close())
  const browser = new Browser(app)
  await browser.get('/permanent')
  clock.advance(900)
  await browser.get('/read')
  clock.advance(900)
  const late = sessionSetCookie(await browser.get('/read'))
  t.equal(late?.maxAge, 700, 'Max-Age never reaches past createdAt + absoluteMaxAge')
  t.equal(late?.expires?.getTime(), (T0 + 2500) * 1000)

  // Replay the last cookie by hand: the server refuses it once the absolute limit passed.
  const cookie = `session=${late?.value}`
  clock.advance(700)
  t.equal((await app.inject({ url: '/read', headers: { cookie } })).body, '1', 'at the limit: still valid')
  clock.advance(1)
  t.equal((await app.inject({ url: '/read', headers: { cookie } })).body, '0', 'past it: empty, despite constant activity')
})

t.test('key rotation: the first secret signs, fallbacks verify, and are re-issued under the first', async (t) => {
  const clock = pinClock(t, T0)
  const oldApp = await buildApp({ secret: OTHER_SECRET }, counterRoutes)
  t.teardown(() => oldApp.close())
  const oldCookie = cookiePair(await oldApp.inject('/write'))

  const rotated = await buildApp({ secret: [SECRET, OTHER_SECRET] }, (app) => {
    counterRoutes(app)
    app.get('/created', async (request) => request.session.sessionId)
  })
  t.teardown(() => rotated.close())
  clock.advance(5)
  const response = await rotated.inject({ url: '/read', headers: { cookie: oldCookie } })
  t.equal(response.body, '1', 'a cookie signed with a fallback is accepted')
  const reissued = cookiePair(response)
  t.not(reissued, oldCookie, 'and re-issued on a read')

  const currentOnly = await buildApp({ secret: SECRET }, counterRoutes)
  t.teardown(() => currentOnly.close())
  t.equal((await currentOnly.inject({ url: '/read', headers: { cookie: reissued } })).body, '1', 're-issued under the current secret')
  t.equal((await currentOnly.inject({ url: '/read', headers: { cookie: oldCookie } })).body, '0', 'a retired secret no longer verifies')
  const again = await rotated.inject({ url: '/read', headers: { cookie: reissued } })
  t.equal(sessionSetCookie(again), undefined, 'a current-key cookie is not re-issued')
})

t.test('rotation keeps the creation time (absoluteMaxAge still counts from the first login)', async (t) => {
  const clock = pinClock(t, T0)
  const oldApp = await buildApp({ secret: OTHER_SECRET }, counterRoutes)
  t.teardown(() => oldApp.close())
  const oldCookie = cookiePair(await oldApp.inject('/write'))
  const rotated = await buildApp({ secret: [SECRET, OTHER_SECRET], absoluteMaxAge: 100 }, counterRoutes)
  t.teardown(() => rotated.close())
  clock.advance(60)
  const reissued = cookiePair(await rotated.inject({ url: '/read', headers: { cookie: oldCookie } }))
  clock.advance(41)
  t.equal((await rotated.inject({ url: '/read', headers: { cookie: reissued } })).body, '0')
})

t.test('a session too large for a cookie is an error and keeps the previous cookie', async (t) => {
  const app = await buildApp({}, (app) => {
    counterRoutes(app)
    // Random text: compression cannot make it fit.
    app.get('/grow', async (request) => {
      request.session.big = randomBytes(3000).toString('base64')
      request.session.small = 'y'.repeat(300)
      return 'grown'
    })
  })
  t.teardown(() => app.close())
  const browser = new Browser(app)
  await browser.get('/write')
  const before = await browser.cookie()
  const grow = await browser.get('/grow')
  t.equal(grow.statusCode, 500)
  t.equal(grow.json().code, 'FST_SESSION_TOO_LARGE')
  t.match(grow.json().message, /cookie "session" would be \d{4} bytes, over one cookie's 4096-byte browser limit/)
  t.match(grow.json().message, /largest keys \(bytes of JSON, before compression\): "big" \(4008 bytes\), "small" \(310 bytes\), "n" \(5 bytes\)$/,
    'the message lists the top-level keys, largest first')
  t.equal(sessionSetCookie(grow), undefined, 'no Set-Cookie at all')
  t.equal((await browser.cookie())?.value, before?.value, 'the browser keeps its previous cookie')
  t.equal((await browser.get('/read')).body, '1', 'which still works')
})

t.test('an unstorable value fails loudly at assignment, or at save when nested', async (t) => {
  const app = await buildApp({}, (app) => {
    counterRoutes(app)
    app.get('/assign', async (request) => { request.session.fn = () => 1; return 'not reached' })
    app.get('/nested', async (request) => {
      request.session.obj = { ok: true }
      ;(request.session.obj as Record<string, unknown>).bad = 10n
      return 'handler finished'
    })
  })
  t.teardown(() => app.close())
  const browser = new Browser(app)
  await browser.get('/write')
  const assign = await browser.get('/assign')
  t.equal(assign.statusCode, 500)
  t.equal(assign.json().code, 'FST_SESSION_UNSTORABLE_VALUE')
  t.match(assign.json().message, /session\.fn is a function/)
  const nested = await browser.get('/nested')
  t.equal(nested.statusCode, 500)
  t.equal(nested.json().code, 'FST_SESSION_UNSTORABLE_VALUE')
  t.match(nested.json().message, /session\.obj\.bad is a bigint/)
  t.equal(sessionSetCookie(nested), undefined)
  t.equal((await browser.get('/read')).body, '1', 'the previous cookie is intact')
})

t.test('invalid cookies: logged at debug without the value, counted by onInvalidCookie', async (t) => {
  const reasons: string[] = []
  const lines: string[] = []
  const stream = { write (line: string) { lines.push(line) } }
  const app = await buildApp({
    onInvalidCookie (reason) {
      reasons.push(reason)
      if (reason === 'malformed') throw new Error('a counting hook that throws')
    }
  }, counterRoutes, { logger: { level: 'debug', stream } })
  t.teardown(() => app.close())
  const garbage = 'not-a-session-value-SECRETMARKER'
  const response = await app.inject({ url: '/read', headers: { cookie: `session=${garbage}` } })
  t.equal(response.statusCode, 200)
  t.equal(response.body, '0')
  t.same(reasons, ['malformed'])
  t.ok(lines.some((line) => /"reason":"malformed".*session cookie ignored/.test(line)))
  t.ok(lines.some((line) => /onInvalidCookie threw/.test(line)), 'a throwing hook is logged, not a 500')
  t.notOk(lines.some((line) => line.includes('SECRETMARKER')), 'the cookie value is never logged')
})

t.test('an async onInvalidCookie that rejects is logged, never an unhandled rejection', async (t) => {
  const lines: string[] = []
  const stream = { write (line: string) { lines.push(line) } }
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown) => { unhandled.push(reason) }
  process.on('unhandledRejection', onUnhandled)
  t.teardown(() => { process.off('unhandledRejection', onUnhandled) })
  let settled!: () => void
  const rejected = new Promise<void>((resolve) => { settled = resolve })
  const app = await buildApp({
    async onInvalidCookie (reason) {
      setImmediate(settled)
      throw new Error(`async hook failed for ${reason}`)
    }
  }, counterRoutes, { logger: { level: 'error', stream } })
  t.teardown(() => app.close())
  const response = await app.inject({ url: '/read', headers: { cookie: 'session=garbage' } })
  t.equal(response.statusCode, 200, 'the request goes on with an empty session')
  t.equal(response.body, '0')
  await rejected
  await new Promise((resolve) => setImmediate(resolve))
  t.same(unhandled, [], 'no unhandled rejection')
  t.ok(lines.some((line) => /onInvalidCookie.*rejected/.test(line) && /async hook failed for malformed/.test(line)),
    'the rejection is logged with its error')
})

t.test('a response that sets the session cookie is kept from shared caches', async (t) => {
  const lines: string[] = []
  const stream = { write (line: string) { lines.push(line) } }
  const app = await buildApp({}, (app) => {
    counterRoutes(app)
    app.get('/given', async (request, reply) => {
      const { cc } = request.query as { cc: string }
      reply.header('cache-control', cc)
      request.session.n = 1
      return 'ok'
    })
    app.get('/read-public', async (request, reply) => {
      reply.header('cache-control', 'public, max-age=60')
      return request.session.get('n', 0)
    })
  }, { logger: { level: 'warn', stream } })
  t.teardown(() => app.close())
  const browser = new Browser(app)

  const write = await browser.get('/write')
  t.equal(write.headers['cache-control'], 'private', 'no Cache-Control from the route: private')
  const cleared = await browser.get('/clear')
  t.equal(cleared.headers['cache-control'], 'private', 'a deleting cookie too')
  t.equal((await browser.get('/read')).headers['cache-control'], undefined, 'no Set-Cookie: the route\'s caching is left alone')
  await browser.get('/write')
  t.equal((await browser.get('/read-public')).headers['cache-control'], 'public, max-age=60', 'a read sending no cookie keeps any header')

  for (const strict of ['no-store', 'private, max-age=60', 'no-cache, no-store, must-revalidate', 'Private']) {
    const response = await app.inject(`/given?cc=${encodeURIComponent(strict)}`)
    t.equal(response.headers['cache-control'], strict, `the route's stricter "${strict}" is kept`)
  }
  t.equal(lines.length, 0, 'without a warning')
  for (let i = 0; i < 3; i++) {
    const response = await app.inject(`/given?cc=${encodeURIComponent('public, max-age=300')}`)
    t.equal(response.headers['cache-control'], 'public, max-age=300', 'a cacheable header the route chose is kept')
    t.ok(sessionSetCookie(response))
  }
  const warnings = lines.filter((line) => /lets shared caches store it/.test(line))
  t.equal(warnings.length, 1, 'and warned about once per route')
  t.match(warnings[0], /"route":"\/given"/)
})

t.test('works when the app registered @fastify/cookie itself, even with its parsing hook off', async (t) => {
  const { default: Fastify } = await import('fastify')
  const { default: fastifyCookie } = await import('@fastify/cookie')
  const { default: cookieSession } = await import('../../plugin/index.js')
  for (const hook of ['onRequest', false] as const) {
    const app = Fastify()
    await app.register(fastifyCookie, { hook })
    await app.register(cookieSession, { secret: SECRET })
    counterRoutes(app)
    app.get('/other', async (_request, reply) => { reply.setCookie('other', 'x'); return 'ok' })
    t.teardown(() => app.close())
    const browser = new Browser(app)
    await browser.get('/write')
    t.equal((await browser.get('/write')).body, '2', `hook ${String(hook)}: the session round-trips`)
    const other = await browser.get('/other')
    t.match(other.headers['set-cookie'], /other=x/, 'the app keeps using reply.setCookie')
  }
})

t.test('errors and 404s: the session is still saved once, never twice', async (t) => {
  const app = await buildApp({}, (app) => {
    app.get('/throw-after-write', async (request) => {
      request.session.n = 5
      throw new Error('boom')
    })
    app.get('/throw-after-clear', async (request) => {
      request.session.clear()
      throw new Error('boom')
    })
    counterRoutes(app)
  })
  t.teardown(() => app.close())
  const thrown = await app.inject('/throw-after-write')
  t.equal(thrown.statusCode, 500)
  t.equal([thrown.headers['set-cookie']].flat().filter(Boolean).length, 1, 'one Set-Cookie on the error response')

  const browser = new Browser(app)
  await browser.get('/write')
  const cleared = await browser.get('/throw-after-clear')
  t.equal(cleared.statusCode, 500)
  t.match(sessionSetCookie(cleared), { value: '', maxAge: 0 })
  const notFound = await browser.get('/nope')
  t.equal(notFound.statusCode, 404)
  t.equal(sessionSetCookie(notFound), undefined)
})

t.test('a repeat of a verified cookie reads the same, and changes are still detected', async (t) => {
  // Cookies that verified are remembered by their text (verified-cache.ts): a repeat must
  // behave exactly like the first sight, with its own copy of the data.
  for (const format of ['signed', 'encrypted', 'flask'] as const) {
    const clock = pinClock(t, T0)
    const app = await buildApp({ format, maxAge: 100 }, counterRoutes)
    t.teardown(() => app.close())
    const browser = new Browser(app)
    await browser.get('/cart/add')
    const cookie = cookiePair(await browser.get('/cart/add'))
    for (let i = 0; i < 3; i++) {
      const response = await app.inject({ url: '/cart/noop', headers: { cookie } })
      t.equal(sessionSetCookie(response), undefined, `${format}: repeat ${i} unchanged`)
    }
    const changed = await app.inject({ url: '/cart/add', headers: { cookie } })
    t.equal(changed.body, '3', `${format}: a repeat gets a fresh copy (the earlier push is not shared)`)
    const again = await app.inject({ url: '/cart/add', headers: { cookie } })
    t.equal(again.body, '3', `${format}: and so does the next one`)
    clock.advance(101)
    t.equal((await app.inject({ url: '/read', headers: { cookie } })).body, '0', `${format}: a remembered cookie still expires`)
  }
})

t.test('on a repeat, a Date or bytes changed in place is saved, and the remembered cookie is unchanged', async (t) => {
  // Repeats get copies of data parsed once: a copy sharing a Date or Buffer with that parse
  // would let one request's in-place change leak into the next, and hide the change itself.
  for (const format of ['signed', 'encrypted', 'flask'] as const) {
    const app = await buildApp({ format }, (app) => {
      app.get('/seed', async (request) => { Object.assign(request.session, { when: new Date(1_700_000_000_000), bytes: Buffer.from([1, 2, 3]) }); return 'ok' })
      app.get('/later', async (request) => { (request.session.when as Date).setTime(1_700_000_060_000); return 'ok' })
      app.get('/flip', async (request) => { (request.session.bytes as Buffer)[0] = 9; return 'ok' })
      app.get('/dump', async (request) => ({ when: (request.session.when as Date).toISOString(), bytes: [...(request.session.bytes as Buffer)] }))
    })
    t.teardown(() => app.close())
    const cookie = cookiePair(await app.inject('/seed'))
    for (let i = 0; i < 3; i++) await app.inject({ url: '/dump', headers: { cookie } })
    t.ok(sessionSetCookie(await app.inject({ url: '/later', headers: { cookie } })), `${format}: a Date moved in place is saved`)
    t.ok(sessionSetCookie(await app.inject({ url: '/flip', headers: { cookie } })), `${format}: bytes changed in place are saved`)
    t.same((await app.inject({ url: '/dump', headers: { cookie } })).json(), { when: '2023-11-14T22:13:20.000Z', bytes: [1, 2, 3] },
      `${format}: the cookie still reads as it was written`)
  }
})

t.test('a cookie that differs from a remembered one in any character is verified, not remembered', async (t) => {
  // The memory finds entries by the value's tail (its MAC or tag); the whole value must match.
  for (const format of ['signed', 'encrypted', 'flask'] as const) {
    const reasons: string[] = []
    const app = await buildApp({ format, onInvalidCookie: (reason) => { reasons.push(reason) } }, counterRoutes)
    t.teardown(() => app.close())
    const [name, value] = cookiePair(await app.inject('/write')).split(/=(.*)/s) as [string, string]
    t.equal((await app.inject({ url: '/read', headers: { cookie: `${name}=${value}` } })).body, '1', `${format}: remembered`)
    // Each character in turn: whatever tail the memory is keyed by, most of these keep it.
    const flips = [...value].map((char, i) => value.slice(0, i) + (char === 'A' ? 'B' : 'A') + value.slice(i + 1))
    for (const forged of flips) {
      const response = await app.inject({ url: '/read', headers: { cookie: `${name}=${forged}` } })
      if (response.body !== '0') t.fail(`${format}: ${forged} was read as ${response.body}`)
    }
    t.equal(reasons.length, flips.length, `${format}: all ${flips.length} altered values were refused`)
    t.notOk(reasons.includes('expired'), `${format}: refused for their shape or MAC, not their age`)
  }
})

t.test('the verified-cookie memory keeps cookies in use while others come and go', async (t) => {
  pinClock(t, T0)
  const app = await buildApp({}, counterRoutes)
  t.teardown(() => app.close())
  const first = cookiePair(await app.inject('/write'))
  const inUse = cookiePair(await app.inject('/write'))
  let inUseReads = 0
  for (let i = 0; i < 600; i++) {
    const cookie = cookiePair(await app.inject('/write'))
    await app.inject({ url: '/read', headers: { cookie } })
    // Read now and then while hundreds of others are remembered: kept, or moved to the newer half.
    if (i % 50 === 0 && (await app.inject({ url: '/read', headers: { cookie: inUse } })).body === '1') inUseReads++
  }
  t.equal(inUseReads, 12, 'a cookie in use reads the same all along')
  t.equal((await app.inject({ url: '/read', headers: { cookie: first } })).body, '1', 'an old cookie reads the same')
})

t.test('the verified-cookie memory is bounded, whatever the number and size of cookies, and kept off the JavaScript heap', async (t) => {
  // Straight through the codec (no inject: its own per-request garbage would blur the heap).
  pinClock(t, T0)
  const { codec } = resolveTestOptions({ secret: SECRET })
  const issuer = resolveTestOptions({ secret: SECRET }).codec
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('run with node --expose-gc (.taprc sets it)')
  const memory = async () => {
    // Until two readings agree: V8 frees the memory of dead buffers on a background thread after a
    // GC, later on a loaded machine (other test files run beside this one).
    let last = { heap: NaN, buffers: NaN }
    for (let i = 0; i < 40; i++) {
      gc()
      await new Promise((resolve) => setTimeout(resolve, 50))
      const { heapUsed, arrayBuffers } = process.memoryUsage()
      const now = { heap: heapUsed / 1048576, buffers: arrayBuffers / 1048576 }
      if (Math.abs(now.buffers - last.buffers) < 0.05 && Math.abs(now.heap - last.heap) < 0.2) return now
      last = now
    }
    return last
  }
  const before = await memory()
  let verified = 0
  let value = ''
  const inUse = issuer.encode({ data: { inUse: true }, json: '{"inUse":true}', issuedAt: T0, createdAt: T0, id: 'B'.repeat(22), permanent: false })
  for (let i = 0; i < 12000; i++) {
    // One cookie read now and then: found in the older half of the ring, it is copied to the front.
    if (i % 300 === 0) t.match(codec.decode(inUse), { data: { inUse: true } }, `in use, read at ${i}`)
    // About 1 KB of JSON each: kept without a bound, 12,000 of them would hold about 25 MB of
    // records in each memory.
    const data = { i, note: `${i}:`.padEnd(1000, 'x') }
    value = issuer.encode({ data, json: JSON.stringify(data), issuedAt: T0, createdAt: T0, id: 'A'.repeat(22), permanent: false })
    for (let read = 0; read < 2; read++) if (typeof codec.decode(value) !== 'string') verified++
  }
  const after = await memory()
  const bound = (MEMORY_BYTES + INDEX_BYTES) / 1048576
  const buffers = after.buffers - before.buffers
  t.equal(verified, 24000, 'every cookie verified')
  // Both codecs remember (the issuer its issued values): two memories at most.
  t.ok(buffers > MEMORY_BYTES / 1048576, `the memories are in use: ${buffers.toFixed(1)} MB of buffers`)
  t.ok(buffers <= 2 * bound, `and bounded: ${buffers.toFixed(1)} MB for two memories of ${bound.toFixed(2)} MB`)
  // The records are not JavaScript objects: the garbage collector has nothing of them to mark.
  t.ok(after.heap - before.heap < 4, `the JavaScript heap grew by ${(after.heap - before.heap).toFixed(2)} MB only`)
  // Used after the measurement, so the memories were alive during it.
  t.match(codec.decode(value), { keyIndex: 0 }, 'the latest cookie is still read')
  t.match(issuer.decode(value), { keyIndex: 0 })
})

t.test('cookies re-read soon are kept parsed, within their own bound: older ones make way and still read', async (t) => {
  pinClock(t, T0)
  const { codec } = resolveTestOptions({ secret: SECRET })
  const issuer = resolveTestOptions({ secret: SECRET }).codec
  // About 1.5 KB each as estimated: 3,000 of them read three times (so each joins the parsed
  // ones) are twice what the parsed ones may hold, so their older half is dropped more than once.
  const values = Array.from({ length: 3000 }, (_, i) => {
    const data = { i, note: `${i}:`.padEnd(120, 'x') }
    return issuer.encode({ data, json: JSON.stringify(data), issuedAt: T0, createdAt: T0, id: 'D'.repeat(22), permanent: false })
  })
  let wrong = 0
  for (const [i, value] of values.entries()) {
    for (let read = 0; read < 3; read++) {
      const decoded = codec.decode(value)
      if (typeof decoded === 'string' || decoded.data.i !== i) wrong++
    }
    // One read early on stays in use: found among the older parsed ones, it moves to the newer.
    if (i % 100 === 0) {
      const first = codec.decode(values[0] as string)
      if (typeof first === 'string' || first.data.i !== 0) wrong++
    }
  }
  t.equal(wrong, 0, 'every read gave its own session back')
})

t.test('a value the memory could not store whole (an id not of 22 characters) is not remembered', async (t) => {
  pinClock(t, T0)
  const { codec } = resolveTestOptions({ secret: SECRET })
  // Only a holder of the secret could issue it; read, it is not the format's: malformed each time.
  const value = codec.encode({ data: { a: 1 }, json: '{"a":1}', issuedAt: T0, createdAt: T0, id: 'A'.repeat(21), permanent: false })
  for (let read = 0; read < 3; read++) t.equal(codec.decode(value), 'malformed', `read ${read + 1}`)
})

t.test('a remembered payload is parsed afresh for each read: no request sees the objects of another', async (t) => {
  pinClock(t, T0)
  const { codec } = resolveTestOptions({ secret: SECRET })
  const data = { list: Array.from({ length: 600 }, (_, i) => `item-${i % 7}`), user: { name: 'Kimi' } } // 6 KB of JSON, deflated into one cookie
  const value = resolveTestOptions({ secret: SECRET }).codec.encode({ data, json: JSON.stringify(data), issuedAt: T0, createdAt: T0, id: 'C'.repeat(22), permanent: false })
  t.ok(value.length < 4096 && JSON.stringify(data).length > 4096)
  let previous: unknown
  // Verified, then found in the ring on every repeat: its 6 KB of JSON are too long to be kept parsed.
  for (let read = 0; read < 5; read++) {
    const decoded = codec.decode(value)
    if (typeof decoded === 'string') throw new Error(`refused: ${decoded}`)
    t.same(decoded.data, data, `read ${read + 1}`)
    t.not(decoded.data.user, previous, 'a new object')
    previous = decoded.data.user
    ;(decoded.data.user as { name: string }).name = 'changed by this request'
  }
})
