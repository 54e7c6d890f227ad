import t from 'tap'
import fc from 'fast-check'
import type { FastifyRequest } from 'fastify'
import { loadSession } from '../../plugin/persistence.js'
import { createSession, SessionState, stateOf, type Session } from '../../plugin/session.js'
import { copy, serialize, type SessionRecord } from '../../plugin/values.js'
import { buildApp, Browser, sessionSetCookie, SECRET, resolveTestOptions } from '../helpers.js'

// Saving skips re-serialising the data while nothing could have changed it (no write, no live
// object handed out). These tests make sure no path to the data slips past that: whatever a
// handler does, the text the session would save equals the text of what it really holds.

const RUNS = process.env.CI === 'true' ? 5_000 : 500
const SEED = process.env.FC_SEED === undefined ? (Math.random() * 2 ** 31) | 0 : Number(process.env.FC_SEED)
t.comment(`fast-check seed ${SEED} (replay with FC_SEED=${SEED})`)

const config = resolveTestOptions({ secret: SECRET })
const quietLog = { debug () {}, error () {} }

function sessionFrom (data: SessionRecord): Session {
  const json = serialize(data)
  const cookie = config.codec.encode({ data, json, issuedAt: Math.floor(Date.now() / 1000), createdAt: Math.floor(Date.now() / 1000), id: 'A'.repeat(22), permanent: false })
  const request = { cookies: { session: cookie }, log: quietLog } as unknown as FastifyRequest
  return createSession(new SessionState(request, config, loadSession))
}

const KEYS = ['a', 'b', 'c', 'list', 'obj']
const leaf = fc.oneof(fc.integer(), fc.string({ maxLength: 6 }), fc.boolean(), fc.constant(null),
  fc.date({ noInvalidDate: true }), fc.uint8Array({ maxLength: 3 }).map((bytes) => Buffer.from(bytes)))
const value = fc.oneof(leaf, fc.array(leaf, { maxLength: 3 }), fc.dictionary(fc.constantFrom('x', 'y', 'z'), leaf, { maxKeys: 3, noNullPrototype: true }))
const initial = fc.dictionary(fc.constantFrom(...KEYS), value, { maxKeys: 5, noNullPrototype: true })

/**
 * Ways to change a live value in place. Some change its text, some only look like a change
 * (same value written back, an equal copy, a Uint8Array view of the same bytes, an undefined
 * property), some make it unstorable (a class instance, even one with the very same fields; an
 * undefined array item): the session must agree with serialize in every case, including throwing.
 */
const HOWS = ['change', 'change-inside', 'same', 'equal-copy', 'reorder', 'remove', 'undefined', 'instance', 'instance-copy', 'bytes-view'] as const
type How = typeof HOWS[number]

type Op =
  | { kind: 'read' | 'get' | 'has' | 'delete' | 'pop', key: string }
  | { kind: 'mutate' | 'mutate-via-get', key: string, how: How }
  | { kind: 'set' | 'assign', key: string, value: unknown }
  | { kind: 'spread' | 'values' | 'entries' | 'for-in' | 'data' | 'clear' | 'flags' }

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constantFrom('read', 'get', 'has', 'delete', 'pop'), key: fc.constantFrom(...KEYS) }),
  fc.record({ kind: fc.constantFrom('mutate', 'mutate-via-get'), key: fc.constantFrom(...KEYS), how: fc.constantFrom(...HOWS) }),
  fc.record({ kind: fc.constantFrom('set', 'assign'), key: fc.constantFrom(...KEYS), value }),
  fc.record({ kind: fc.constantFrom('spread', 'values', 'entries', 'for-in', 'data', 'clear', 'flags') })
) as fc.Arbitrary<Op>

class Point { x = 1 }

/** An equal copy of a plain object (or array) that is a class instance: its text would be the same, but it cannot be stored. */
/** An equal copy, or the value itself when it cannot be copied (already unstorable). */
function twinOf (value: unknown): unknown {
  return outcome(() => serialize(value)).startsWith('throws') ? value : copy({ v: value }).v
}

function asInstance (value: unknown): unknown {
  const twin = twinOf(value)
  if (typeof twin === 'object' && twin !== null && !(twin instanceof Date) && !(twin instanceof Uint8Array)) {
    Object.setPrototypeOf(twin, Array.isArray(twin) ? class List extends Array {}.prototype : Point.prototype)
  }
  return twin
}

/** Changes a live value in place, `how` says in what way (primitives are left alone). */
function mutateInPlace (target: unknown, how: How = 'change'): void {
  if (target instanceof Date) {
    target.setTime(target.getTime() + (how === 'change' ? 1000 : 0))
  } else if (target instanceof Uint8Array) {
    if (how === 'change' && target.length > 0) target[0] = (target[0] as number) ^ 1
  } else if (Array.isArray(target)) {
    switch (how) {
      case 'change': target.push(7); break
      case 'change-inside': mutateInPlace(target[0], 'change'); break
      case 'same': if (target.length > 0) target.splice(0, 1, target[0]); break
      case 'equal-copy': if (target.length > 0) target[0] = twinOf(target[0]); break
      case 'reorder': target.reverse(); break
      case 'remove': target.pop(); break
      case 'undefined': target.push(undefined); break
      case 'instance': target.push(new Point()); break
      case 'instance-copy': if (target.length > 0) target[0] = asInstance(target[0]); break
      case 'bytes-view': target.push(new Uint8Array([1, 2])); break
    }
  } else if (typeof target === 'object' && target !== null) {
    const record = target as SessionRecord
    const first = Object.keys(record)[0]
    switch (how) {
      case 'change': record.x = 'changed'; break
      case 'change-inside': if (first !== undefined) mutateInPlace(record[first], 'change'); break
      case 'same': if (first !== undefined) Object.assign(record, { [first]: record[first] }); break
      case 'equal-copy': if (first !== undefined) record[first] = twinOf(record[first]); break
      case 'reorder': if (first !== undefined) { const item = record[first]; delete record[first]; record[first] = item } break
      case 'remove': if (first !== undefined) delete record[Object.keys(record).at(-1) as string]; break
      case 'undefined': record.u = undefined; break
      case 'instance': record.i = new Point(); break
      case 'instance-copy': if (first !== undefined) record[first] = asInstance(record[first]); break
      case 'bytes-view': record.b = new Uint8Array([1]); break
    }
  }
}

function apply (session: Session, step: Op, reached: unknown[]): void {
  switch (step.kind) {
    case 'read': reached.push(session[step.key]); break
    case 'get': reached.push(session.get(step.key)); break
    case 'has': session.has(step.key); break
    case 'delete': delete session[step.key]; break
    case 'pop': reached.push(session.pop(step.key)); break
    case 'mutate': mutateInPlace(session[step.key], step.how); break
    case 'mutate-via-get': mutateInPlace(session.get(step.key), step.how); break
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

/** The text, or the error code when there is no text (an unstorable value). */
function outcome (produce: () => string): string {
  try {
    return produce()
  } catch (error) {
    return `throws ${(error as { code?: string }).code ?? String(error)}`
  }
}

/** Runs `steps`, then checks the session's idea of its text and of `modified` against serialize. */
function agreesWithSerialize (data: SessionRecord, steps: Op[], mutateReachedLater: boolean, how: How): boolean {
  const session = sessionFrom(data)
  const original = serialize(data)
  const reached: unknown[] = []
  for (const step of steps) {
    try {
      apply(session, step, reached)
    } catch (error) {
      // data() and modified serialise: with an unstorable value in place they must throw this.
      if ((error as { code?: string }).code !== 'FST_SESSION_UNSTORABLE_VALUE') throw error
    }
  }
  // Values reached earlier and changed only now, after every other step, must count too
  // (those still in the session change it; copies from data() and popped values do not).
  if (mutateReachedLater) for (const value of reached) mutateInPlace(value, how)
  const state = stateOf(session).load()
  const truth = outcome(() => serialize(state.data)) // what the session really holds, the slow way
  if (outcome(() => state.currentJson()) !== truth) return false
  return truth.startsWith('throws') || session.modified === (truth !== original)
}

t.test('the text a session would save always equals the text of what it holds', async (t) => {
  const details = await fc.check(fc.property(initial, fc.array(op, { maxLength: 8 }), fc.boolean(), fc.constantFrom(...HOWS), agreesWithSerialize),
    { seed: SEED, numRuns: RUNS })
  if (details.failed) t.fail(fc.defaultReportMessage(details) ?? 'failed')
  else t.pass(`${details.numRuns} runs, seed ${SEED}`)
})

t.test('the same when the handler only reads and changes objects in place (no write: compared, not serialised)', async (t) => {
  const nested = fc.oneof(
    fc.array(leaf, { minLength: 1, maxLength: 3 }),
    fc.dictionary(fc.constantFrom('x', 'y', 'z', 'w'), value, { minKeys: 2, maxKeys: 4, noNullPrototype: true }))
  const rich = fc.dictionary(fc.constantFrom(...KEYS), fc.oneof(leaf, nested), { minKeys: 1, maxKeys: 5, noNullPrototype: true })
  const inPlace = op.filter((step) => !['delete', 'pop', 'set', 'assign', 'clear'].includes(step.kind))
  const details = await fc.check(fc.property(rich, fc.array(inPlace, { maxLength: 6 }), fc.boolean(), fc.constantFrom(...HOWS), agreesWithSerialize),
    { seed: SEED, numRuns: RUNS })
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
