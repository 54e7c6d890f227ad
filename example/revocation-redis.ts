import { setTimeout as delay } from 'node:timers/promises'
import { createClient } from '@redis/client'
import type { StoreLog, ValidAfterStore } from './revocation.js'

// The valid-after store for several instances: one Redis they all read, so a "log out
// everywhere" on one is seen by every other. Client: node-redis (@redis/client, the client Redis
// recommends for new code; its `redis` package only adds modules this store does not use).
//
// Failing closed and fast is the point, each case with its own guard:
// - Redis unreachable (stopped, crashed, connection refused): the client is offline and, with
//   no offline queue, rejects every call at once; nothing waits for the connection to return.
// - Redis reachable but silent (frozen, overloaded, a dead link the kernel has not noticed): a
//   command already sent cannot be taken back, and node-redis's own timeout only covers commands
//   not sent yet, so each call races its own deadline (COMMAND_TIMEOUT_MS). The abandoned
//   commands wait in the client's queue for their replies; MAX_PENDING_COMMANDS caps that queue,
//   and past it calls reject at once.
// - Redis back: the client reconnects by itself (100 ms after the loss, doubling to at most
//   1 s between attempts) and the next call works; the app is not restarted.
// A rejected call makes the session check fail, and the plugin gives that request an empty
// session: while Redis is away logged-in visitors are logged out, nobody is let in unchecked.
//
// Run Redis with persistence (RDB or AOF) in production: a Redis restarted empty has forgotten
// every "log out everywhere" of the last session lifetime.

/** A call that gets no answer in this time rejects: the request it serves fails closed instead of hanging. */
export const COMMAND_TIMEOUT_MS = 500
/** Commands sent and not yet answered, abandoned ones included; past this, calls reject at once. */
export const MAX_PENDING_COMMANDS = 1000
/** A connection attempt (TCP and handshake) that takes longer is abandoned and retried. */
const CONNECT_TIMEOUT_MS = 1000
const MAX_RECONNECT_DELAY_MS = 1000
/** How long ready() waits for the first connection before the app starts anyway. */
const START_WAIT_MS = 3000
const KEY_PREFIX = 'session-valid-after:'

const SILENT: StoreLog = { info () {}, warn () {} }

export class CommandTimeoutError extends Error {
  constructor () {
    super(`Redis did not answer within ${COMMAND_TIMEOUT_MS} ms`)
    this.name = 'CommandTimeoutError'
  }
}

/** The URL without its password, for logs. */
function redactedUrl (url: string): string {
  const parsed = new URL(url)
  if (parsed.password !== '') parsed.password = '***'
  return parsed.href
}

/** `command`, or a CommandTimeoutError once COMMAND_TIMEOUT_MS has passed without an answer. */
async function withDeadline<T> (command: Promise<T>): Promise<T> {
  const settled = new AbortController()
  const deadline = delay(COMMAND_TIMEOUT_MS, undefined, { signal: settled.signal, ref: false })
    .then(() => { throw new CommandTimeoutError() })
  try {
    // race() subscribes to both: the loser's later rejection is handled, not reported as unhandled.
    return await Promise.race([command, deadline])
  } finally {
    settled.abort()
  }
}

/** Per-user "valid after" times in Redis: one key per user, expiring after `retention` seconds. */
export class RedisValidAfterStore implements ValidAfterStore {
  readonly description: string
  readonly #client
  readonly #connected: Promise<boolean>

  /** `retention`: seconds each key lives (retentionFor(lifetime)), set with the key in one command. */
  constructor (url: string, readonly retention: number, log: StoreLog = SILENT) {
    const where = redactedUrl(url)
    this.description = `in Redis at ${where}`
    this.#client = createClient({
      url,
      disableOfflineQueue: true,
      commandsQueueMaxLength: MAX_PENDING_COMMANDS,
      socket: {
        connectTimeout: CONNECT_TIMEOUT_MS,
        reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, MAX_RECONNECT_DELAY_MS)
      }
    })
    // Without an 'error' listener a lost connection would throw and end the process. The client
    // reports every failed reconnection attempt: log the first of each outage only.
    let down = false
    this.#client.on('error', (error: Error) => {
      if (down) return
      down = true
      log.warn(`Valid-after store: Redis at ${where} is unreachable (${error.message}): ` +
        'logged-in sessions are refused until it answers again')
    })
    this.#client.on('ready', () => {
      down = false
      log.info(`Valid-after store: connected to Redis at ${where}`)
    })
    // Resolves on the first connection however long it takes (the client retries); false when
    // closed before that.
    this.#connected = this.#client.connect().then(() => true, () => false)
  }

  async getValidAfter (username: string): Promise<number | undefined> {
    const key = KEY_PREFIX + username
    const value = await withDeadline(this.#client.get(key))
    if (value === null) return undefined
    const seconds = Number(value)
    if (!Number.isSafeInteger(seconds)) throw new Error(`Redis key ${key} holds ${JSON.stringify(value)}, not a time in seconds`)
    return seconds
  }

  async setValidAfter (username: string, seconds: number): Promise<void> {
    // The expiry is part of the same SET: a key without one is never left behind.
    await withDeadline(this.#client.set(KEY_PREFIX + username, String(seconds), { expiration: { type: 'EX', value: this.retention } }))
  }

  async ready (): Promise<void> {
    const connected = new AbortController()
    const gaveUp = delay(START_WAIT_MS, undefined, { signal: connected.signal, ref: false })
    await Promise.race([this.#connected, gaveUp]).finally(() => connected.abort()).catch(() => {})
  }

  async close (): Promise<void> {
    // destroy(), not close(): close() waits for unanswered commands, which a frozen Redis never
    // answers. At shutdown nobody waits for them any more.
    if (this.#client.isOpen) this.#client.destroy()
    await this.#connected
  }
}
