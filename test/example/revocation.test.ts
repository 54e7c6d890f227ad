import { performance } from 'node:perf_hooks'
import { setTimeout as delay } from 'node:timers/promises'
import t, { type Test } from 'tap'
import {
  CLOCK_MARGIN, MemoryValidAfterStore, createRevocationStore, retentionFor, sessionValidator, type StoreLog, type ValidAfterStore
} from '../../example/revocation.js'
import { COMMAND_TIMEOUT_MS, MAX_PENDING_COMMANDS, RedisValidAfterStore } from '../../example/revocation-redis.js'
import { pinClock } from '../helpers.js'
import { inspector, redisServerSkip, startRedisServer, type RedisServer } from '../fixtures/redis-server.js'

// The example's valid-after stores: in memory, and in a real redis-server started for the test
// (test/fixtures/redis-server.ts), including Redis going away and coming back.

const skipRedis = redisServerSkip(t)

/** A log that keeps what the store said. */
function recordingLog (): StoreLog & { lines: string[] } {
  const lines: string[] = []
  return { lines, info: (message) => lines.push(`info: ${message}`), warn: (message) => lines.push(`warn: ${message}`) }
}

async function redisStore (t: Test, server: RedisServer, retention = 600, log?: StoreLog): Promise<RedisValidAfterStore> {
  const store = new RedisValidAfterStore(server.url, retention, log)
  t.teardown(() => store.close())
  await store.ready()
  return store
}

/** The time a call takes to settle, and how it settled. */
async function timed<T> (call: () => Promise<T>): Promise<{ ms: number, error: unknown, value: T | undefined }> {
  const start = performance.now()
  try {
    const value = await call()
    return { ms: performance.now() - start, error: undefined, value }
  } catch (error) {
    return { ms: performance.now() - start, error, value: undefined }
  }
}

/** Retries `call` until it resolves (or `limitMs` passes): the store reconnects on its own schedule. */
async function eventually<T> (call: () => Promise<T>, limitMs = 10_000): Promise<T> {
  const end = Date.now() + limitMs
  for (;;) {
    try {
      return await call()
    } catch (error) {
      if (Date.now() > end) throw error
      await delay(50)
    }
  }
}

/** The behaviour both stores share. */
async function sharedBehaviour (t: Test, store: ValidAfterStore) {
  t.equal(await store.getValidAfter('admin'), undefined, 'no time for a user who never logged out everywhere')
  await store.setValidAfter('admin', 1_700_000_000)
  t.equal(await store.getValidAfter('admin'), 1_700_000_000)
  t.equal(await store.getValidAfter('alice'), undefined, 'per user')
  await store.setValidAfter('admin', 1_700_000_100)
  t.equal(await store.getValidAfter('admin'), 1_700_000_100, 'a later "log out everywhere" moves it')
  await store.setValidAfter('name with spaces: and ünïcode', 5)
  t.equal(await store.getValidAfter('name with spaces: and ünïcode'), 5, 'any username is a key')

  const isSessionValid = sessionValidator(store)
  const at = 1_700_000_100
  t.equal(await isSessionValid({ createdAt: at - 3600, data: {} }), true, 'a visitor who is not logged in has nothing to revoke')
  t.equal(await isSessionValid({ createdAt: at - 3600, data: { logged_in: true, logged_in_as: 'admin' } }), false,
    'a session created before "log out everywhere" is refused')
  t.equal(await isSessionValid({ createdAt: at, data: { logged_in: true, logged_in_as: 'admin' } }), false,
    'in the same second too: it may have been created just before')
  t.equal(await isSessionValid({ createdAt: at + 1, data: { logged_in: true, logged_in_as: 'admin' } }), true,
    'a session created after it is valid')
  t.equal(await isSessionValid({ createdAt: at - 3600, data: { logged_in: true, logged_in_as: 'alice' } }), true,
    "another user's sessions are not touched")
  t.equal(await isSessionValid({ createdAt: at + 1, data: { logged_in: true } }), false,
    'logged in but no name to check: refused')
}

t.test('retention: the session lifetime plus the clock margin', async (t) => {
  t.equal(CLOCK_MARGIN, 60)
  t.equal(retentionFor(3600), 3660)
  t.equal(createRevocationStore({ redisUrl: undefined, lifetime: 3600 }).description, 'in memory (this process only)')
})

t.test('in memory', async (t) => {
  t.test('set, get and the session check', async (t) => {
    await sharedBehaviour(t, new MemoryValidAfterStore(600))
  })

  t.test('an entry lives for the retention, then goes', async (t) => {
    const clock = pinClock(t, 1_700_000_000)
    const store = new MemoryValidAfterStore(100)
    await store.setValidAfter('admin', clock.now)
    clock.advance(99)
    t.equal(await store.getValidAfter('admin'), clock.now - 99, 'kept until the retention has passed')
    clock.advance(1)
    t.equal(await store.getValidAfter('admin'), undefined, 'dropped once it has')
    t.equal(store.size, 0)
  })

  t.test('a second "log out everywhere" restarts the retention', async (t) => {
    const clock = pinClock(t, 1_700_000_000)
    const store = new MemoryValidAfterStore(100)
    await store.setValidAfter('admin', clock.now)
    await store.setValidAfter('alice', clock.now)
    clock.advance(50)
    await store.setValidAfter('admin', clock.now)
    clock.advance(60)
    t.equal(await store.getValidAfter('alice'), undefined, 'the older entry expired')
    t.equal(await store.getValidAfter('admin'), clock.now - 60, 'the renewed one did not, though it was written first')
    t.equal(store.size, 1)
  })

  t.test('expired entries are dropped without being asked for: the store does not grow without bound', async (t) => {
    const clock = pinClock(t, 1_700_000_000)
    const store = new MemoryValidAfterStore(100)
    for (let user = 0; user < 10_000; user++) {
      await store.setValidAfter(`user-${user}`, clock.now)
      if (user % 100 === 99) clock.advance(1)
    }
    t.equal(store.size, 10_000, 'all written within the retention: all kept')
    clock.advance(100)
    await store.setValidAfter('one more', clock.now)
    t.equal(store.size, 1, 'a later write dropped every expired entry')
  })

  t.test('closed, it rejects', async (t) => {
    const store = new MemoryValidAfterStore(100)
    await store.ready()
    await store.close()
    await t.rejects(store.getValidAfter('admin'), /closed/)
    await t.rejects(store.setValidAfter('admin', 1), /closed/)
  })
})

t.test('in Redis', { skip: skipRedis }, async (t) => {
  t.test('set, get and the session check', async (t) => {
    const server = await startRedisServer(t)
    const log = recordingLog()
    const store = createRevocationStore({ redisUrl: server.url, lifetime: 540 }, log)
    t.teardown(() => store.close())
    await store.ready()
    t.equal(store.description, `in Redis at ${server.url}`)
    t.same(log.lines, [
      `info: Valid-after times ("log out everywhere") are kept in Redis at ${server.url}`,
      `info: Valid-after store: connected to Redis at ${server.url}`
    ])
    await sharedBehaviour(t, store)
  })

  t.test('each key is written with its expiry, the retention in seconds', async (t) => {
    const server = await startRedisServer(t)
    const redis = await inspector(t, server)
    const store = await redisStore(t, server, retentionFor(3600))
    await store.setValidAfter('admin', 1_700_000_000)
    t.equal(await redis.get('session-valid-after:admin'), '1700000000')
    t.equal(await redis.ttl('session-valid-after:admin'), 3660)
    const pttl = await redis.pTTL('session-valid-after:admin')
    t.ok(pttl > 3_650_000 && pttl <= 3_660_000, `PTTL ${pttl} ms`)

    await redis.expire('session-valid-after:admin', 10)
    await store.setValidAfter('admin', 1_700_000_100)
    t.equal(await redis.ttl('session-valid-after:admin'), 3660, 'a new "log out everywhere" restarts it')
    t.same(await redis.keys('*'), ['session-valid-after:admin'], 'one key per user, nothing else')
  })

  t.test('Redis drops the key when its time is up', async (t) => {
    const server = await startRedisServer(t)
    const redis = await inspector(t, server)
    const store = await redisStore(t, server, 1)
    await store.setValidAfter('admin', 1_700_000_000)
    t.equal(await store.getValidAfter('admin'), 1_700_000_000)
    const gone = await eventually(async () => {
      if (await store.getValidAfter('admin') !== undefined) throw new Error('still there')
      return true
    }, 5000)
    t.ok(gone, 'gone after about a second')
    t.equal(await redis.exists('session-valid-after:admin'), 0)
  })

  t.test('a value that is not a time rejects, so the session check fails closed', async (t) => {
    const server = await startRedisServer(t)
    const redis = await inspector(t, server)
    const store = await redisStore(t, server)
    await redis.set('session-valid-after:admin', 'soon')
    await t.rejects(store.getValidAfter('admin'), /session-valid-after:admin holds "soon", not a time in seconds/)
    await t.rejects(sessionValidator(store)({ createdAt: 1, data: { logged_in: true, logged_in_as: 'admin' } }))
  })

  t.test('Redis gone: every call rejects at once, the process stays up; Redis back: it works again', async (t) => {
    const server = await startRedisServer(t)
    const log = recordingLog()
    const store = await redisStore(t, server, 600, log)
    await store.setValidAfter('admin', 1_700_000_000)

    await server.stop()
    const isSessionValid = sessionValidator(store)
    const attempts: Array<{ ms: number, error: unknown }> = await Promise.all(Array.from({ length: 20 }, (_, i) => i % 2 === 0
      ? timed(() => store.getValidAfter('admin'))
      : timed(() => isSessionValid({ createdAt: 1, data: { logged_in: true, logged_in_as: 'admin' } }))))
    await delay(300)
    attempts.push(await timed(() => store.setValidAfter('admin', 1_700_000_100)))
    attempts.push(await timed(() => store.getValidAfter('admin')))
    for (const attempt of attempts) {
      t.ok(attempt.error instanceof Error, 'rejected')
      t.ok(attempt.ms < 1000, `within ${attempt.ms.toFixed(1)} ms`)
    }
    t.comment(`slowest rejection: ${Math.max(...attempts.map((a) => a.ms)).toFixed(1)} ms`)
    t.equal(log.lines.filter((line) => line.startsWith('warn:')).length, 1, 'one warning for the outage, not one per retry')
    t.match(log.lines.at(-1), /warn: Valid-after store: Redis at redis:\/\/127\.0\.0\.1:\d+ is unreachable .*logged-in sessions are refused/)

    await server.start()
    await eventually(() => store.setValidAfter('admin', 1_700_000_200))
    t.equal(await store.getValidAfter('admin'), 1_700_000_200, 'the same store works again, without a restart')
    t.match(log.lines.at(-1), /info: Valid-after store: connected to Redis/)
  })

  t.test('Redis frozen (connection open, no answers): calls fail at their deadline, and the queue is bounded', async (t) => {
    const server = await startRedisServer(t)
    const store = await redisStore(t, server)
    await store.setValidAfter('admin', 1_700_000_000)

    server.freeze()
    // One more than the client may keep waiting: the first MAX_PENDING_COMMANDS are sent and
    // abandoned at their deadline, the last is refused at once.
    const attempts = await Promise.all(Array.from({ length: MAX_PENDING_COMMANDS + 1 }, () => timed(() => store.getValidAfter('admin'))))
    const timedOut = attempts.filter((attempt) => (attempt.error as Error | undefined)?.name === 'CommandTimeoutError')
    t.equal(timedOut.length, MAX_PENDING_COMMANDS, 'each sent call rejects at its deadline')
    const slowest = Math.max(...timedOut.map((attempt) => attempt.ms))
    t.ok(Math.min(...timedOut.map((attempt) => attempt.ms)) >= COMMAND_TIMEOUT_MS - 50 && slowest < 4 * COMMAND_TIMEOUT_MS,
      `after ${COMMAND_TIMEOUT_MS} ms (slowest ${slowest.toFixed(0)} ms)`)
    const refused = attempts.find((attempt) => (attempt.error as Error | undefined)?.name !== 'CommandTimeoutError')
    t.match(refused?.error, { message: 'The queue is full' }, 'the one past the bound does not wait')
    t.ok((refused?.ms ?? Infinity) < COMMAND_TIMEOUT_MS, `refused in ${refused?.ms.toFixed(1)} ms`)

    server.thaw()
    t.equal(await eventually(() => store.getValidAfter('admin')), 1_700_000_000, 'answers again once Redis does')
  })

  t.test('Redis down at start: ready() gives up after a while, the store connects when Redis comes', async (t) => {
    const server = await startRedisServer(t)
    await server.stop()
    const log = recordingLog()
    const store = new RedisValidAfterStore(server.url, 600, log)
    t.teardown(() => store.close())
    const start = await timed(() => store.ready())
    t.ok(start.error === undefined && start.ms >= 2900 && start.ms < 5000, `ready() resolved after ${start.ms.toFixed(0)} ms`)
    await t.rejects(store.getValidAfter('admin'), 'fails closed meanwhile')
    t.match(log.lines, [/^warn: .*unreachable/])

    await server.start()
    t.equal(await eventually(() => store.getValidAfter('admin')), undefined, 'answers once Redis does')
  })

  t.test('closed, it rejects, and closing twice is harmless', async (t) => {
    const server = await startRedisServer(t)
    const store = await redisStore(t, server)
    await store.close()
    await store.close()
    await t.rejects(store.getValidAfter('admin'))
  })
})
