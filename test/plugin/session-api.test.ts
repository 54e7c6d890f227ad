import t from 'tap'
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
    inMethod: true,
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
