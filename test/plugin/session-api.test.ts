import t from 'tap'
import type { CookieOverrides, Session } from '../../plugin/index.js'
import { buildApp, Browser, cookiePair, sessionSetCookie } from '../helpers.js'

// The session object as handlers use it, checked over real requests and cookies.

t.test('the README example: property access, get/set/pop/delete/clear', async (t) => {
  const app = await buildApp({}, (app) => {
    app.get('/set', async (request) => {
      request.session.username = 'Kimi'
      request.session.set('age', 25)
      return 'set'
    })
    app.get('/get', async (request) => {
      const name = request.session.get('username', 'Guest')
      return `${name} ${String(request.session.age)} ${Object.keys(request.session).join(',')}`
    })
    app.get('/pop', async (request) => {
      const popped = request.session.pop('username')
      const missing = request.session.pop('nope', 'default')
      return `${String(popped)} ${String(missing)} ${String(request.session.pop('username', 'fallback'))}`
    })
    app.get('/delete', async (request) => {
      delete request.session.age
      return Object.keys(request.session).join(',')
    })
  })
  t.teardown(() => app.close())
  const browser = new Browser(app)

  t.equal((await browser.get('/get')).body, 'Guest undefined ')
  await browser.get('/set')
  t.equal((await browser.get('/get')).body, 'Kimi 25 username,age')
  t.equal((await browser.get('/pop')).body, 'Kimi default fallback')
  t.equal((await browser.get('/get')).body, 'Guest 25 age')
  t.equal((await browser.get('/delete')).body, '')
  t.equal(await browser.cookie(), undefined, 'emptied session: the browser dropped the cookie')
})

t.test('has, data(), toJSON() and `in`', async (t) => {
  const app = await buildApp({}, (app) => {
    app.get('/', async (request) => {
      request.session.when = new Date('2024-01-02T03:04:05.678Z')
      request.session.list = [1, { a: 'b' }]
      const copy = request.session.data()
      ;(copy.list as unknown[]).push('changed copy only')
      return {
        has: request.session.has('when'),
        hasNot: request.session.has('nope'),
        inData: 'list' in request.session,
        inMethod: 'get' in request.session,
        inFlag: 'permanent' in request.session,
        copyIsDate: copy.when instanceof Date,
        listLength: (request.session.list as unknown[]).length,
        json: JSON.parse(JSON.stringify(request.session))
      }
    })
  })
  t.teardown(() => app.close())
  const body = (await app.inject('/')).json()
  t.same(body, {
    has: true,
    hasNot: false,
    inData: true,
    inMethod: false,
    inFlag: false,
    copyIsDate: true,
    listLength: 2,
    json: { when: '2024-01-02T03:04:05.678Z', list: [1, { a: 'b' }] }
  })
})

t.test('method names are reserved for property syntax, but get/set still reach them', async (t) => {
  const app = await buildApp({}, (app) => {
    app.get('/assign', async (request) => {
      (request.session as Record<string, unknown>).get = 1
      return 'not reached'
    })
    app.get('/methods', async (request) => {
      request.session.set('get', 'stored under get')
      request.session.set('modified', 1)
      return { get: request.session.get('get'), modified: request.session.get('modified'), keys: Object.keys(request.session) }
    })
  })
  t.teardown(() => app.close())
  const assign = await app.inject('/assign')
  t.equal(assign.statusCode, 500)
  t.equal(assign.json().code, 'FST_SESSION_INVALID_KEY')
  t.match(assign.json().message, /session\.set\('get', value\)/)
  t.same((await app.inject('/methods')).json(), { get: 'stored under get', modified: 1, keys: ['get', 'modified'] })
})

t.test('set(key, undefined) and assigning undefined remove the key', async (t) => {
  const app = await buildApp({}, (app) => {
    app.get('/', async (request) => {
      request.session.a = 1
      request.session.b = 2
      request.session.set('a', undefined)
      request.session.b = undefined
      return Object.keys(request.session)
    })
  })
  t.teardown(() => app.close())
  const response = await app.inject('/')
  t.same(response.json(), [])
  t.equal(sessionSetCookie(response), undefined, 'nothing stored, nothing sent')
})

t.test('flags: accessed, modified, isNew', async (t) => {
  const app = await buildApp({}, (app) => {
    app.get('/flags', async (request) => {
      const before = { accessed: request.session.accessed }
      const isNew = request.session.isNew
      const modifiedBefore = request.session.modified
      request.session.count = ((request.session.count as number | undefined) ?? 0) + 1
      return { ...before, isNew, modifiedBefore, accessed: request.session.accessed, modified: request.session.modified }
    })
    app.get('/same', async (request) => {
      request.session.count = request.session.count as number
      return { modified: request.session.modified }
    })
  })
  t.teardown(() => app.close())
  const first = await app.inject('/flags')
  t.same(first.json(), { accessed: true, isNew: true, modifiedBefore: false, modified: true })
  const cookie = cookiePair(first)
  const second = await app.inject({ url: '/flags', headers: { cookie } })
  t.same(second.json(), { accessed: true, isNew: false, modifiedBefore: false, modified: true })
  const same = await app.inject({ url: '/same', headers: { cookie } })
  t.same(same.json(), { modified: false }, 'assigning an equal value is not a change')
  t.equal(sessionSetCookie(same), undefined)
})

t.test('touch() re-issues an unchanged session', async (t) => {
  const app = await buildApp({}, (app) => {
    app.get('/set', async (request) => { request.session.a = 1; return 'ok' })
    app.get('/touch', async (request) => { request.session.touch(); return String(request.session.modified) })
  })
  t.teardown(() => app.close())
  const cookie = cookiePair(await app.inject('/set'))
  const touched = await app.inject({ url: '/touch', headers: { cookie } })
  t.equal(touched.body, 'true')
  t.ok(sessionSetCookie(touched), 'Set-Cookie sent')
})

t.test('regenerate(keep) drops other keys, changes the id and marks the session new', async (t) => {
  const app = await buildApp({}, (app) => {
    app.get('/before', async (request) => {
      request.session.cartId = 'c1'
      request.session.tracking = 'x'
      return request.session.sessionId
    })
    app.get('/login', async (request) => {
      const old = request.session.sessionId
      await request.session.regenerate(['cartId', 'absent'])
      request.session.user = 'kimi'
      return { old, now: request.session.sessionId, isNew: request.session.isNew, keys: Object.keys(request.session) }
    })
    app.get('/id', async (request) => request.session.sessionId)
  })
  t.teardown(() => app.close())
  const browser = new Browser(app)
  const firstId = (await browser.get('/before')).body
  t.match(firstId, /^[A-Za-z0-9_-]{22}$/)
  const login = (await browser.get('/login')).json()
  t.equal(login.old, firstId)
  t.not(login.now, firstId)
  t.equal(login.isNew, true)
  t.same(login.keys, ['cartId', 'user'])
  t.equal((await browser.get('/id')).body, login.now, 'the new id is what the cookie carries')
})

t.test('regenerate() without arguments empties the session and still re-issues when data is set', async (t) => {
  const app = await buildApp({}, (app) => {
    app.get('/set', async (request) => { request.session.a = 1; return 'ok' })
    app.get('/regen', async (request) => { await request.session.regenerate(); return Object.keys(request.session) })
  })
  t.teardown(() => app.close())
  const browser = new Browser(app)
  await browser.get('/set')
  const response = await browser.get('/regen')
  t.same(response.json(), [])
  t.match(sessionSetCookie(response), { value: '', maxAge: 0 }, 'an emptied session deletes the cookie')
})

t.test('`in`, has, Object.keys, spreading and JSON.stringify agree: data keys only', async (t) => {
  const NAMES = ['get', 'set', 'permanent', 'modified', 'sessionId', 'toJSON', 'user', 'n', 'constructor', 'toString', 'hasOwnProperty']
  const app = await buildApp({}, (app) => {
    app.post('/', async (request) => {
      const session = request.session
      for (const key of request.body as string[]) session.set(key, 1)
      return NAMES.map((name) => ({
        name,
        in: name in session,
        has: session.has(name),
        keys: Object.keys(session).includes(name),
        spread: Object.hasOwn({ ...session }, name),
        json: Object.hasOwn(JSON.parse(JSON.stringify(session)) as object, name)
      }))
    })
  })
  t.teardown(() => app.close())
  for (const stored of [[], ['user'], ['get', 'permanent', 'n'], NAMES]) {
    const answers = (await app.inject({ method: 'POST', url: '/', payload: stored })).json() as Array<Record<string, unknown>>
    for (const { name, ...views } of answers) {
      const expected = stored.includes(name as string)
      t.same(views, { in: expected, has: expected, keys: expected, spread: expected, json: expected }, `${String(name)} with [${stored.join(', ')}] stored`)
    }
  }
})

t.test('a write after the session was saved throws FST_SESSION_ALREADY_SAVED instead of vanishing', async (t) => {
  const WRITES: Record<string, (session: Session) => unknown> = {
    property: (session) => { session.late = 1 },
    set: (session) => session.set('late', 1),
    delete: (session) => { delete session.n },
    pop: (session) => session.pop('n'),
    clear: (session) => session.clear(),
    touch: (session) => session.touch(),
    permanent: (session) => { session.permanent = true },
    options: (session) => session.options({ path: '/x' }),
    regenerate: (session) => session.regenerate()
  }
  for (const usedBefore of [true, false]) {
    for (const [name, write] of Object.entries(WRITES)) {
      const outcome: Record<string, unknown> = {}
      const app = await buildApp({}, (app) => {
        // Registered after the plugin, so it runs after the plugin's own onSend.
        app.addHook('onSend', async (request) => {
          try {
            await write(request.session)
            outcome.threw = false
          } catch (error) {
            outcome.threw = (error as { code?: string }).code
            outcome.message = (error as Error).message
          }
          outcome.reads = request.session.n
        })
        app.get('/', async (request) => {
          if (usedBefore) return String(request.session.n)
          return 'untouched'
        })
      })
      t.teardown(() => app.close())
      const seeded = await buildApp({}, (app) => { app.get('/', async (request) => { request.session.n = 7; return 'ok' }) })
      const cookie = cookiePair(await seeded.inject('/'))
      await seeded.close()
      const response = await app.inject({ url: '/', headers: { cookie } })
      const what = `${name}, session ${usedBefore ? 'used' : 'first used'} before onSend`
      t.equal(outcome.threw, 'FST_SESSION_ALREADY_SAVED', `${what}: throws`)
      t.match(outcome.message, /before onSend/, `${what}: and says where to write`)
      t.equal(outcome.reads, 7, `${what}: reads still work`)
      t.equal(sessionSetCookie(response), undefined, `${what}: nothing half-written`)
    }
  }
})

t.test('options() accepts every attribute reply.setCookie accepts, and ignores other keys', async (t) => {
  const lines: string[] = []
  const stream = { write (line: string) { lines.push(line) } }
  const app = await buildApp({ maxAge: 7200 }, (app) => {
    app.post('/', async (request) => {
      const body = request.body as CookieOverrides
      // JSON has no Date: an ISO text in the body stands for one.
      if (typeof body.expires === 'string') body.expires = new Date(body.expires)
      request.session.options(body)
      request.session.n = 1
      return 'ok'
    })
    app.post('/caught', async (request) => {
      try {
        request.session.options(request.body as CookieOverrides)
        return 'accepted'
      } catch (error) {
        return (error as { code?: string }).code
      }
    })
  }, { logger: { level: 'debug', stream } })
  t.teardown(() => app.close())
  const send = async (body: unknown, url = '/') => app.inject({ method: 'POST', url, payload: body as Record<string, unknown> })
  const now = Math.floor(Date.now() / 1000)

  const lasting = sessionSetCookie(await send({ maxAge: 3600, priority: 'high', sameSite: 'strict' }))
  t.equal(lasting?.maxAge, 3600, 'maxAge in seconds, as @fastify/cookie')
  t.ok(Math.abs((lasting?.expires?.getTime() ?? 0) / 1000 - (now + 3600)) <= 2, 'with a matching Expires')
  t.match(lasting?.header, /; Priority=High/)
  t.match(lasting?.header, /; SameSite=Strict/)

  const capped = sessionSetCookie(await send({ maxAge: 10 * 24 * 3600 }))
  t.equal(capped?.maxAge, 7200, 'never past what the server would accept (maxAge 7200)')
  const byDate = sessionSetCookie(await send({ expires: new Date((now + 600) * 1000).toISOString() }))
  t.ok(byDate?.maxAge !== undefined && byDate.maxAge >= 598 && byDate.maxAge <= 600, 'expires as a date')
  const byNumber = sessionSetCookie(await send({ expires: (now + 900) * 1000 }))
  t.ok(byNumber?.maxAge !== undefined && byNumber.maxAge >= 898 && byNumber.maxAge <= 900, 'expires in milliseconds, as @fastify/cookie')

  const foreign = await send({ userInfo: 'kimi', signed: true, sameSite: 'lax' })
  t.equal(foreign.statusCode, 200, 'keys that are not cookie attributes are ignored')
  t.ok(lines.some((line) => /"ignored":\["userInfo","signed"\].*not cookie attributes/.test(line)), 'and named in a debug log')

  t.match(sessionSetCookie(await send({ sameSite: true }))?.header, /; SameSite=Strict/, 'sameSite: true is strict, as @fastify/cookie')
  for (const bad of [null, { path: '/a<b' }, { domain: 'exa mple.com' }, { maxAge: -1 }, { maxAge: 1.5 }, { expires: 'soon' }, { priority: 'urgent' }, { sameSite: 'none' }]) {
    t.equal((await send(bad, '/caught')).body, 'FST_SESSION_INVALID_OPTION', `${JSON.stringify(bad)} throws where options() is called`)
  }
})

t.test('options() overrides cookie attributes for this response only', async (t) => {
  const app = await buildApp({}, (app) => {
    app.get('/strict', async (request) => {
      request.session.options({ sameSite: 'strict', path: '/app' })
      request.session.a = 1
      return 'ok'
    })
    app.get('/bad', async (request) => {
      request.session.options({ sameSite: 'none' })
      return 'not reached'
    })
    app.get('/plain', async (request) => { request.session.b = 2; return 'ok' })
  })
  t.teardown(() => app.close())
  t.match(sessionSetCookie(await app.inject('/strict')), { sameSite: 'strict', path: '/app' })
  t.match(sessionSetCookie(await app.inject('/plain')), { sameSite: 'lax', path: '/' })
  const bad = await app.inject('/bad')
  t.equal(bad.statusCode, 500)
  t.equal(bad.json().code, 'FST_SESSION_INVALID_OPTION')
})

t.test('session.permanent makes a cookie with Expires and Max-Age', async (t) => {
  const app = await buildApp({ maxAge: 3600 }, (app) => {
    app.get('/', async (request) => {
      request.session.permanent = true
      request.session.a = 1
      return String(request.session.permanent)
    })
    app.get('/bad', async (request) => {
      (request.session as Record<string, unknown>).permanent = 'yes'
      return 'not reached'
    })
  })
  t.teardown(() => app.close())
  const before = Date.now()
  const response = await app.inject('/')
  t.equal(response.body, 'true')
  const cookie = sessionSetCookie(response)
  t.equal(cookie?.maxAge, 3600)
  const expires = cookie?.expires?.getTime() ?? 0
  t.ok(expires >= Math.floor(before / 1000) * 1000 + 3600_000 && expires <= Date.now() + 3600_000, 'Expires = now + maxAge')
  t.equal((await app.inject('/bad')).json().code, 'FST_SESSION_INVALID_KEY')
})

t.test('odd property operations on the session object', async (t) => {
  const app = await buildApp({}, (app) => {
    app.get('/', async (request) => {
      const session = request.session as Record<string | symbol, unknown>
      Object.defineProperty(session, 'defined', { value: 'via defineProperty', enumerable: true })
      const errors: string[] = []
      for (const attempt of [
        () => { session[Symbol('x')] = 1 },
        () => { Object.defineProperty(session, 'getter', { get: () => 1 }) },
        () => { Object.setPrototypeOf(session, {}) },
        () => { Object.preventExtensions(session) },
        () => { session.__proto__ = { polluted: true } } // eslint-disable-line no-proto
      ]) {
        try { attempt() } catch (error) { errors.push((error as { code?: string }).code ?? (error as Error).name) }
      }
      delete session.get // reserved: a no-op
      return {
        errors,
        defined: session.defined,
        symbol: session[Symbol.iterator] === undefined,
        hasSymbol: Symbol.iterator in session,
        descriptorOfMissing: Object.getOwnPropertyDescriptor(session, 'missing') === undefined,
        descriptorOfSymbol: Object.getOwnPropertyDescriptor(session, Symbol.iterator) === undefined,
        getStillWorks: typeof session.get === 'function',
        polluted: ({} as Record<string, unknown>).polluted === undefined
      }
    })
  })
  t.teardown(() => app.close())
  t.same((await app.inject('/')).json(), {
    errors: ['FST_SESSION_INVALID_KEY', 'FST_SESSION_INVALID_KEY', 'TypeError', 'TypeError', 'FST_SESSION_INVALID_KEY'],
    defined: 'via defineProperty',
    symbol: true,
    hasSymbol: false,
    descriptorOfMissing: true,
    descriptorOfSymbol: true,
    getStillWorks: true,
    polluted: true
  })
})
