import flash from '@fastify/flash'
import formbody from '@fastify/formbody'
import t from 'tap'
import { buildApp, Browser, cookiePair, sessionSetCookie } from '../helpers.js'

// @fastify/flash keeps its messages in session.get('flash') / session.set('flash', ...). Ours
// compares data by value, so handing an empty flash back unchanged writes nothing.

async function flashApp () {
  return buildApp({}, (app) => {
    app.register(formbody)
    app.register(flash)
    app.post('/login', async (request, reply) => {
      const { password } = request.body as { password?: string }
      if (password !== 'right') {
        request.flash('error', 'Invalid credentials!')
        return reply.redirect('/login', 303)
      }
      request.session.user = 'kimi'
      return reply.redirect('/', 303)
    })
    app.get('/login', async (_request, reply) => ({ errors: reply.flash('error') }))
    app.get('/note', async (request) => {
      request.flash('info', 'saved %s items', '3')
      return request.flash('info', ['and', 'more'])
    })
    app.get('/all', async (_request, reply) => reply.flash())
    app.get('/', async (request) => ({ user: request.session.user ?? null }))
  })
}

t.test('a flash message survives the redirect and is shown once', async (t) => {
  const app = await flashApp()
  t.teardown(() => app.close())
  const browser = new Browser(app)

  const failed = await browser.request({ method: 'POST', url: '/login', payload: { password: 'wrong' } })
  t.equal(failed.statusCode, 303)
  t.equal(failed.headers.location, '/login')
  t.ok(sessionSetCookie(failed), 'the message travels in the session cookie')

  const shown = await browser.get('/login')
  t.same(shown.json(), { errors: ['Invalid credentials!'] })
  t.ok(sessionSetCookie(shown), 'consuming the message rewrites the cookie without it')

  const again = await browser.get('/login')
  t.same(again.json(), { errors: [] }, 'shown once only')
  t.equal(sessionSetCookie(again), undefined, 'reading an empty flash leaves the cookie alone')
})

t.test('reading an empty flash sends no Set-Cookie once the flash was consumed', async (t) => {
  const app = await flashApp()
  t.teardown(() => app.close())
  const browser = new Browser(app)
  await browser.request({ method: 'POST', url: '/login', payload: { password: 'right' } })
  await browser.request({ method: 'POST', url: '/login', payload: { password: 'wrong' } })
  t.same((await browser.get('/login')).json(), { errors: ['Invalid credentials!'] })
  const before = (await browser.cookie())?.value

  for (const url of ['/login', '/all', '/login']) {
    const response = await browser.get(url)
    t.equal(response.statusCode, 200)
    t.equal(sessionSetCookie(response), undefined, `${url}: no Set-Cookie`)
    t.match(response.headers.vary, /Cookie/, `${url}: the page still depends on the cookie`)
  }
  t.equal((await browser.cookie())?.value, before, 'the browser holds the same cookie')
  t.same((await browser.get('/')).json(), { user: 'kimi' }, 'other session data untouched')
})

t.test('formatted, multiple and grouped messages round-trip through the cookie', async (t) => {
  const app = await flashApp()
  t.teardown(() => app.close())
  const note = await app.inject('/note')
  t.equal(note.body, '3', 'request.flash returns the count read back from our session')
  const all = await app.inject({ url: '/all', headers: { cookie: cookiePair(note) } })
  t.same(all.json(), { info: ['saved 3 items', 'and', 'more'] })
})

// @fastify/flash's reply.flash() always calls session.set('flash', remaining). On a session that
// never held a flash that adds `flash: {}`: one write, after which reads are free (see above).
t.test('the first read on a session without any flash stores an empty flash once', async (t) => {
  const app = await flashApp()
  t.teardown(() => app.close())
  const first = await app.inject('/login')
  t.same(first.json(), { errors: [] })
  t.ok(sessionSetCookie(first), '@fastify/flash sets flash: {} even for a visitor without a session')
  const second = await app.inject({ url: '/login', headers: { cookie: cookiePair(first) } })
  t.equal(sessionSetCookie(second), undefined, 'and never again')
})

t.test('guarding with session.has("flash") keeps anonymous pages cookie-free', async (t) => {
  const app = await buildApp({}, (app) => {
    app.register(flash)
    app.get('/login', async (request, reply) => ({
      errors: request.session.has('flash') ? reply.flash('error') : []
    }))
  })
  t.teardown(() => app.close())
  const response = await app.inject('/login')
  t.same(response.json(), { errors: [] })
  t.equal(sessionSetCookie(response), undefined)
})
