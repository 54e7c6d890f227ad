import { randomBytes } from 'node:crypto'
import Fastify from 'fastify'
import fastifyCookie from '@fastify/cookie'
import { currentPopulationOptions, userSession } from './population.js'

// Every benchmarked app, by name. Each builds a Fastify app with the measured route at
// GET /measure and, for session plugins, a GET /seed that stores the standard session so the
// bench can replay its cookie (or, for the cold variants, rotate through many). The population
// variants (pop-*, bench/population.js) have GET /read and GET /write instead, and a cookie per
// user. The same builders serve the socket mode (server.js), the in-process mode (inprocess.js)
// and the instruction mode (instructions.js), so all modes measure identical apps.

/** The standard session: 2 keys, about a 200 B cookie in our signed format. */
export const SMALL = Object.freeze({
  user: { name: 'Alice Example', email: 'alice@example.com', id: 1234 },
  visits: 42
})

/** The large session: the same 2 keys, the user carrying as many recent item ids as fit the target size. */
export function largeSession (items) {
  return {
    user: { ...SMALL.user, recent: Array.from({ length: items }, (_, i) => `item-${String(i).padStart(5, '0')}`) },
    visits: SMALL.visits
  }
}

/** name=value bytes of the large cases: each plugin's cookie is grown to this, whatever its encoding. */
export const LARGE_COOKIE_BYTES = 3900

/** What the baselines answer, shaped like a read's answer. */
const READ_ANSWER = { name: SMALL.user.name, visits: SMALL.visits }

/** A cookie header for apps that hold no session: same size as ours, so parsing costs the same. */
const FILLER_COOKIE = `session=${'A'.repeat(190)}`

function secret () {
  return randomBytes(32).toString('base64url')
}

function newApp () {
  return Fastify({ logger: false })
}

/** GET /seed stores SMALL, or with ?items=n the large session of n items. */
function seedData (request) {
  const { items } = request.query
  return items === undefined ? SMALL : largeSession(Number(items))
}

// --- route bodies, one per kind of work --------------------------------------------------------

/** Property access, as our README shows; the plugin is a Proxy so this is its main path. */
const ours = {
  seed: (request) => { Object.assign(request.session, seedData(request)); return { ok: true } },
  untouched: () => READ_ANSWER,
  read: (request) => ({ name: request.session.user.name, visits: request.session.visits }),
  write: () => { let n = 0; return (request) => { request.session.visits = ++n; return { visits: n } } }
}

/** @fastify/secure-session and @fastify/session both use get/set. */
const getSet = {
  seed: (request) => {
    for (const [key, value] of Object.entries(seedData(request))) request.session.set(key, value)
    return { ok: true }
  },
  untouched: () => READ_ANSWER,
  read: (request) => ({ name: request.session.get('user').name, visits: request.session.get('visits') }),
  write: () => { let n = 0; return (request) => { request.session.set('visits', ++n); return { visits: n } } }
}

// --- app builders ------------------------------------------------------------------------------

async function bare () {
  const app = newApp()
  app.get('/measure', () => READ_ANSWER)
  return { app, cookie: FILLER_COOKIE }
}

async function cookieOnly () {
  const app = newApp()
  await app.register(fastifyCookie)
  app.get('/measure', () => READ_ANSWER)
  return { app, cookie: FILLER_COOKIE }
}

// A session plugin as the builders use it: `shared()` makes what two instances must share to
// read each other's cookies (the secret, key or store), `register(app, shared)` registers it.

function oursPlugin (format, extra = {}) {
  return {
    shared: async () => ({ secret: secret() }),
    register: async (app, { secret }) => {
      // Imported here so the baselines and peers run even before `npm run build`.
      const { cookieSession } = await import('../dist/plugin/index.js')
      await app.register(cookieSession, { secret, format, ...extra })
    }
  }
}

/**
 * Revocation as the README shows it, on an in-memory store: a per-user "valid after" time, looked
 * up by an async `validate` on every request that carries a cookie. What it measures is the
 * plugin's cost of the option (an onRequest hook, a promise), not a network round trip.
 */
function withValidate () {
  const validAfter = new Map([[-1, 0]]) // nobody revoked: every lookup misses, as most do
  return {
    async validate ({ createdAt, data }) {
      const after = validAfter.get(data.uid ?? data.user?.id)
      return after === undefined || createdAt > after
    }
  }
}

const securePlugin = {
  // As its README recommends: a pregenerated 32-byte key (crypto_secretbox_KEYBYTES).
  shared: async () => ({ key: randomBytes(32) }),
  register: async (app, { key }) => {
    const { default: secureSession } = await import('@fastify/secure-session')
    await app.register(secureSession, { key, cookie: { path: '/', httpOnly: true } })
  }
}

const fastifySessionPlugin = {
  // Its default store is a MemoryStore per registration; two instances share sessions only
  // through one store, so the population's second instance is handed the measured one's.
  shared: async () => {
    const { MemoryStore } = await import('@fastify/session')
    return { secret: secret(), store: new MemoryStore() }
  },
  register: async (app, { secret, store }) => {
    const { default: fastifySession } = await import('@fastify/session')
    await app.register(fastifyCookie)
    // As its README shows: the memory store, a secret of 32+ characters; plain http here.
    await app.register(fastifySession, { secret, store, cookie: { secure: false } })
  }
}

function sessionApp (plugin, routes, action, size) {
  return async (options = {}) => {
    const shared = await plugin.shared()
    const app = newApp()
    await plugin.register(app, shared)
    app.get('/seed', routes.seed)
    app.get('/measure', action === 'write' ? routes.write() : routes[action])
    if (size === 'cold') {
      // Issued by a second instance with the same secret: the measured app never saw them.
      const issuer = newApp()
      await plugin.register(issuer, shared)
      issuer.get('/seed', routes.seed)
      const cookies = await coldCookies(issuer, options.coldCookies ?? COLD_COOKIES)
      await issuer.close()
      return { app, cookie: cookies[0], cookies }
    }
    return { app, cookie: size === 'large' ? await largeCookie(app) : await seedCookie(app) }
  }
}

function oursApp (format, action, size = 'small') {
  return sessionApp(oursPlugin(format), ours, action, size)
}

function secureSessionApp (action, size = 'small') {
  return sessionApp(securePlugin, getSet, action, size)
}

function fastifySessionApp (action) {
  return sessionApp(fastifySessionPlugin, getSet, action, 'small')
}

// --- the population scenario (bench/population.js) ----------------------------------------------

/** The baselines' cookie: about the size of a user's signed cookie (186–193 B). */
const POPULATION_FILLER = `session=${'A'.repeat(182)}`
const POPULATION_READ_ANSWER = { name: 'User 00000 Example', role: 'viewer' }

const populationRoutes = {
  ours: {
    login: (request) => { Object.assign(request.session, userSession(Number(request.query.user))); return { ok: true } },
    read: (request) => ({ name: request.session.name, role: request.session.role }),
    write: (request) => {
      const counter = request.session.counter + 1
      request.session.counter = counter
      return { counter }
    }
  },
  getSet: {
    login: (request) => {
      for (const [key, value] of Object.entries(userSession(Number(request.query.user)))) request.session.set(key, value)
      return { ok: true }
    },
    read: (request) => ({ name: request.session.get('name'), role: request.session.get('role') }),
    write: (request) => {
      const counter = request.session.get('counter') + 1
      request.session.set('counter', counter)
      return { counter }
    }
  }
}

/** Logins in flight at once during set-up. */
const LOGIN_BATCH = 64

/** Logs users 0 … users-1 in through `issuer` (GET /login?user=i); returns each one's `name=value`. */
async function logIn (issuer, users) {
  const jars = new Array(users)
  for (let first = 0; first < users; first += LOGIN_BATCH) {
    const sent = []
    for (let i = first; i < Math.min(users, first + LOGIN_BATCH); i++) sent.push(issuer.inject({ method: 'GET', url: `/login?user=${i}` }))
    for (const [j, response] of (await Promise.all(sent)).entries()) {
      const pair = setCookiePair(response.headers['set-cookie'])
      if (response.statusCode !== 200 || pair === undefined) throw new Error(`login failed: ${response.statusCode} ${response.body}`)
      jars[first + j] = pair
    }
    // inject() frees a request's objects only once the event loop turns: let it, every batch.
    await new Promise(setImmediate)
  }
  return jars
}

/**
 * A population app: every user logs in once on a second instance sharing the secret (key, or for
 * @fastify/session the store), which is then closed; the measured app has only /read and /write.
 */
function populationApp (plugin, routes) {
  return async () => {
    const { users } = currentPopulationOptions()
    const shared = await plugin.shared()
    const issuer = newApp()
    await plugin.register(issuer, shared)
    issuer.get('/login', routes.login)
    const jars = await logIn(issuer, users)
    await issuer.close()
    const app = newApp()
    await plugin.register(app, shared)
    app.get('/read', routes.read)
    app.get('/write', routes.write)
    return { app, cookie: jars[0], population: { jars } }
  }
}

/** pop-bare and pop-cookie: the same routes and sequence, every user sending the filler cookie. */
function populationBaseline (withCookie) {
  return async () => {
    const { users } = currentPopulationOptions()
    const app = newApp()
    if (withCookie) await app.register(fastifyCookie)
    let counter = 0
    app.get('/read', () => POPULATION_READ_ANSWER)
    app.get('/write', () => ({ counter: ++counter }))
    return { app, cookie: POPULATION_FILLER, population: { jars: new Array(users).fill(POPULATION_FILLER) } }
  }
}

/** Marks a variant whose clients keep the cookie each response sets and send it next (bench/inject.js, measure.js). */
function chained (build) {
  return async (options) => ({ ...(await build(options)), chained: true })
}

/** The `name=value` of a response's first Set-Cookie (header as Node or autocannon give it), or undefined. */
export function setCookiePair (header) {
  const first = Array.isArray(header) ? header[0] : header
  return first === undefined ? undefined : first.split(';', 1)[0]
}

/** Stores the session through the app itself and returns the `name=value` its Set-Cookie carried. */
async function seedCookie (app, query = '') {
  const response = await app.inject({ method: 'GET', url: `/seed${query}` })
  const pair = setCookiePair(response.headers['set-cookie'])
  if (response.statusCode !== 200 || pair === undefined) {
    throw new Error(`seeding failed: ${response.statusCode} ${response.body}`)
  }
  return pair
}

/**
 * How many cookies a cold variant cycles through, in order, in the socket and in-process modes
 * (the instruction mode asks for one per request: none ever comes back). They are issued by a
 * second instance, so the measured app holds none of them at first, and a cookie comes back only
 * after 32,767 others: about twice what the verified-cookie memory holds of cookies this size
 * (MEMORY_BYTES, 8 MiB, at about 500 estimated bytes an entry), so it is long gone from that
 * memory and every request pays the full verification.
 */
export const COLD_COOKIES = 32768

/** `count` distinct cookies of the standard session, each seeded as a new session by `issuer`. */
async function coldCookies (issuer, count) {
  const cookies = []
  for (let first = 0; first < count; first += LOGIN_BATCH) {
    const sent = []
    for (let i = first; i < Math.min(count, first + LOGIN_BATCH); i++) sent.push(seedCookie(issuer))
    cookies.push(...await Promise.all(sent))
    await new Promise(setImmediate)
  }
  // A new session gets a random id (signed), IV (encrypted) or nonce (secure-session), so equal
  // data still gives distinct cookies. Were two equal, the variant would measure hits: refuse.
  const distinct = new Set(cookies).size
  if (distinct !== cookies.length) {
    throw new Error(`cold seeding gave only ${distinct} distinct cookies out of ${cookies.length}`)
  }
  return cookies
}

/** The biggest large session whose cookie fits LARGE_COOKIE_BYTES, found by bisection on its item count. */
async function largeCookie (app) {
  let low = 0
  let high = 400
  let best = await seedCookie(app, '?items=0')
  while (low < high) {
    const middle = (low + high + 1) >> 1
    // Our plugin refuses to write a cookie over 4096 bytes (500): that size is too big as well.
    const cookie = await seedCookie(app, `?items=${middle}`).catch(() => undefined)
    if (cookie !== undefined && cookie.length <= LARGE_COOKIE_BYTES) {
      low = middle
      best = cookie
    } else {
      high = middle - 1
    }
  }
  return best
}

// --- the list ------------------------------------------------------------------------------------

/** Formats we bench; one missing from the plugin is skipped with a note, not an error. */
export const FORMATS = ['signed', 'encrypted', 'flask']

export const VARIANTS = [
  { name: 'bare', what: 'fastify alone', build: bare },
  { name: 'cookie', what: 'fastify + @fastify/cookie', build: cookieOnly },
  { name: 'ours-untouched', what: 'ours (signed), route never touches the session', build: oursApp('signed', 'untouched') },
  ...FORMATS.flatMap((format) => ['read', 'write'].map((action) => ({
    name: `ours-${format}-${action}`,
    what: `ours (${format}), ${action === 'read' ? 'read 2 keys' : 'write 1 key'}`,
    format,
    build: oursApp(format, action)
  }))),
  // A different cookie on every request: what a replayed cookie hides, the verified-cookie misses.
  ...['signed', 'encrypted'].map((format) => ({
    name: `ours-${format}-read-cold`,
    what: `ours (${format}), read 2 keys, a cookie not in the verified-cookie memory every request`,
    format,
    build: oursApp(format, 'read', 'cold')
  })),
  { name: 'ours-signed-read-validate', what: 'ours (signed), read 2 keys, with an async `validate` on an in-memory store', format: 'signed', build: sessionApp(oursPlugin('signed', withValidate()), ours, 'read', 'small') },
  // Each client sends back the cookie its last response set, as a browser does: every request
  // carries a cookie the server issued one request earlier, never one it has seen before.
  { name: 'ours-signed-write-chained', what: 'ours (signed), write 1 key, each client sending the cookie it was last given', build: chained(oursApp('signed', 'write')) },
  { name: 'ours-signed-large-read', what: 'ours (signed), ~3.9 KB cookie, read 2 keys', build: oursApp('signed', 'read', 'large') },
  { name: 'ours-signed-large-write', what: 'ours (signed), ~3.9 KB cookie, write 1 key', build: oursApp('signed', 'write', 'large') },
  { name: 'secure-untouched', what: '@fastify/secure-session, route never touches it', build: secureSessionApp('untouched') },
  { name: 'secure-read', what: '@fastify/secure-session, read 2 keys', build: secureSessionApp('read') },
  // secure-session remembers nothing: this should match secure-read, a check on the method.
  { name: 'secure-read-cold', what: '@fastify/secure-session, read 2 keys, a different cookie every request', build: secureSessionApp('read', 'cold') },
  { name: 'secure-write', what: '@fastify/secure-session, write 1 key', build: secureSessionApp('write') },
  { name: 'secure-write-chained', what: '@fastify/secure-session, write 1 key, each client sending the cookie it was last given', build: chained(secureSessionApp('write')) },
  { name: 'secure-large-read', what: '@fastify/secure-session, ~3.9 KB cookie, read 2 keys', build: secureSessionApp('read', 'large') },
  { name: 'secure-large-write', what: '@fastify/secure-session, ~3.9 KB cookie, write 1 key', build: secureSessionApp('write', 'large') },
  { name: 'session-read', what: '@fastify/session (memory store), read 2 keys', build: fastifySessionApp('read') },
  { name: 'session-write', what: '@fastify/session (memory store), write 1 key', build: fastifySessionApp('write') },
  // The population scenario: many users, a cookie each (bench/population.js). `--only pop-`.
  { name: 'pop-bare', what: 'population: fastify alone, filler cookie', population: true, build: populationBaseline(false) },
  { name: 'pop-cookie', what: 'population: fastify + @fastify/cookie, filler cookie', population: true, build: populationBaseline(true) },
  ...FORMATS.map((format) => ({
    name: `pop-ours-${format}`,
    what: `population: ours (${format})`,
    format,
    population: true,
    build: populationApp(oursPlugin(format), populationRoutes.ours)
  })),
  { name: 'pop-ours-signed-validate', what: 'population: ours (signed) with an async `validate` on an in-memory store', format: 'signed', population: true, build: populationApp(oursPlugin('signed', withValidate()), populationRoutes.ours) },
  { name: 'pop-secure', what: 'population: @fastify/secure-session', population: true, build: populationApp(securePlugin, populationRoutes.getSet) },
  { name: 'pop-fastify-session', what: 'population: @fastify/session (memory store shared with the login instance)', population: true, build: populationApp(fastifySessionPlugin, populationRoutes.getSet) }
]

/** Population variants are named pop-*; their baselines are pop-bare and pop-cookie. */
export function isPopulation (name) {
  return name.startsWith('pop-')
}

export function variantNamed (name) {
  const variant = VARIANTS.find((v) => v.name === name)
  if (variant === undefined) throw new Error(`unknown variant "${name}"; known: ${VARIANTS.map((v) => v.name).join(', ')}`)
  return variant
}

/**
 * Builds a variant's app, or returns { skip } when the plugin does not (yet) know the variant's
 * format: the bench then carries on without it. `options.coldCookies`: how many cookies a cold
 * variant gets (default COLD_COOKIES).
 */
export async function buildVariant (name, options = {}) {
  const variant = variantNamed(name)
  try {
    return await variant.build(options)
  } catch (error) {
    if (variant.format !== undefined && error.code === 'FST_SESSION_INVALID_OPTION' && /"format"/.test(error.message)) {
      return { skip: `format '${variant.format}' not supported by the plugin: ${error.message}` }
    }
    throw error
  }
}
