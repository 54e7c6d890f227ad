import t from 'tap'
import fc from 'fast-check'
import type { FastifyRequest } from 'fastify'
import { resolveOptions } from '../../plugin/options.js'
import { loadSession } from '../../plugin/persistence.js'
import { createSession, SessionState, stateOf, type Session } from '../../plugin/session.js'
import { copy, serialize, type SessionRecord } from '../../plugin/values.js'
import { buildApp, Browser, sessionSetCookie, SECRET } from '../helpers.js'

// Saving skips re-serialising the data while nothing could have changed it (no write, no live
// object handed out). These tests make sure no path to the data slips past that: whatever a
// handler does, the text the session would save equals the text of what it really holds.

const RUNS = process.env.CI === 'true' ? 5_000 : 500
const SEED = process.env.FC_SEED === undefined ? (Math.random() * 2 ** 31) | 0 : Number(process.env.FC_SEED)
t.comment(`fast-check seed ${SEED} (replay with FC_SEED=${SEED})`)

const config = resolveOptions({ secret: SECRET })
const quietLog = { debug () {}, error () {} }

function sessionFrom (data: SessionRecord): Session {
  const json = serialize(data)
  const cookie = config.codec.encode({ data, json, issuedAt: Math.floor(Date.now() / 1000), createdAt: Math.floor(Date.now() / 1000), id: 'A'.repeat(22), permanent: false })
  const request = { cookies: { session: cookie }, log: quietLog } as unknown as FastifyRequest
  return createSession(new SessionState(request, config, loadSession))
}

const KEYS = ['a', 'b', 'c', 'list', 'obj']
const leaf = fc.oneof(fc.integer(), fc.string({ maxLength: 6 }), fc.boolean(), fc.constant(null))
const value = fc.oneof(leaf, fc.array(leaf, { maxLength: 3 }), fc.dictionary(fc.constantFrom('x', 'y', 'z'), leaf, { maxKeys: 3, noNullPrototype: true }))
const initial = fc.dictionary(fc.constantFrom(...KEYS), value, { maxKeys: 5, noNullPrototype: true })

type Op =
  | { kind: 'read' | 'get' | 'has' | 'delete' | 'pop' | 'mutate' | 'mutate-via-get', key: string }
  | { kind: 'set' | 'assign', key: string, value: unknown }
  | { kind: 'spread' | 'values' | 'entries' | 'for-in' | 'data' | 'clear' | 'flags' }

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constantFrom('read', 'get', 'has', 'delete', 'pop', 'mutate', 'mutate-via-get'), key: fc.constantFrom(...KEYS) }),
  fc.record({ kind: fc.constantFrom('set', 'assign'), key: fc.constantFrom(...KEYS), value }),
  fc.record({ kind: fc.constantFrom('spread', 'values', 'entries', 'for-in', 'data', 'clear', 'flags') })
) as fc.Arbitrary<Op>

/** Changes a live value in place (objects and arrays; anything else is left alone). */
function mutateInPlace (target: unknown): void {
  if (Array.isArray(target)) target.push(7)
  else if (typeof target === 'object' && target !== null) (target as SessionRecord).x = 'changed'
}

function apply (session: Session, step: Op, reached: unknown[]): void {
  switch (step.kind) {
    case 'read': reached.push(session[step.key]); break
    case 'get': reached.push(session.get(step.key)); break
    case 'has': session.has(step.key); break
    case 'delete': delete session[step.key]; break
    case 'pop': reached.push(session.pop(step.key)); break
    case 'mutate': mutateInPlace(session[step.key]); break
    case 'mutate-via-get': mutateInPlace(session.get(step.key)); break
    case 'set': session.set(step.key, copy({ v: step.value }).v); break
    case 'assign': session[step.key] = copy({ v: step.value }).v; break
    case 'spread': reached.push(...Object.values({ ...session })); break
    case 'values': reached.push(...Object.values(session)); break
    case 'entries': reached.push(...Object.entries(session).map(([, v]) => v)); break
    case 'for-in': for (const key in session) reached.push(session[key]); break
    case 'data': reached.push(...Object.values(session.data())); break
    case 'clear': session.clear(); break
    case 'flags': reached.push(session.isNew, session.accessed, session.modified); break
  }
}

t.test('the text a session would save always equals the text of what it holds', async (t) => {
  const details = await fc.check(fc.property(initial, fc.array(op, { maxLength: 8 }), fc.boolean(), (data, steps, mutateReachedLater) => {
    const session = sessionFrom(data)
    const original = serialize(data)
    const reached: unknown[] = []
    for (const step of steps) apply(session, step, reached)
    // Values reached earlier and changed only now, after every other step, must count too
    // (those still in the session change it; copies from data() and popped values do not).
    if (mutateReachedLater) reached.forEach(mutateInPlace)
    const state = stateOf(session).load()
    const truth = serialize(state.data) // what the session really holds, the slow way
    return state.currentJson() === truth && session.modified === (truth !== original)
  }), { seed: SEED, numRuns: RUNS })
  if (details.failed) t.fail(fc.defaultReportMessage(details) ?? 'failed')
  else t.pass(`${details.numRuns} runs, seed ${SEED}`)
})

t.test('through HTTP: in-place changes reached every way are saved; reading strings and numbers writes nothing', async (t) => {
  const app = await buildApp({}, (app) => {
    app.get('/seed', async (request) => {
      Object.assign(request.session, { name: 'Kimi', visits: 1, cart: { items: [1] }, tags: ['a'] })
      return 'ok'
    })
    app.get('/read-primitives', async (request) => `${request.session.name as string} ${request.session.get('visits') as number}`)
    app.get('/via-values', async (request) => { (Object.values(request.session).find(Array.isArray) as string[]).push('b'); return 'ok' })
    app.get('/via-spread', async (request) => { ({ ...request.session }.cart as { items: number[] }).items.push(2); return 'ok' })
    app.get('/via-get', async (request) => { (request.session.get('cart') as { items: number[] }).items.push(3); return 'ok' })
    app.get('/via-entries', async (request) => {
      for (const [key, item] of Object.entries(request.session)) if (key === 'cart') (item as { items: number[] }).items.push(4)
      return 'ok'
    })
    app.get('/dump', async (request) => request.session.data())
  })
  t.teardown(() => app.close())
  const browser = new Browser(app)
  await browser.get('/seed')

  const read = await browser.get('/read-primitives')
  t.equal(read.body, 'Kimi 1')
  t.equal(sessionSetCookie(read), undefined, 'reading strings and numbers sends no cookie')
  t.equal(read.headers.vary, 'Cookie')

  for (const path of ['/via-values', '/via-spread', '/via-get', '/via-entries']) {
    t.ok(sessionSetCookie(await browser.get(path)), `${path}: the in-place change is saved`)
  }
  t.same((await browser.get('/dump')).json(), { name: 'Kimi', visits: 1, cart: { items: [1, 2, 3, 4] }, tags: ['a', 'b'] })
})
