import { RedisValidAfterStore } from './revocation-redis.js'

// Revocation for a cookie session: the server keeps one time per user, "valid after". A session
// of that user created at or before it is refused; everything else about the session stays in
// the cookie. "Log out everywhere" moves the time to now, so every copy of every cookie the user
// had stops working at once, on every instance that reads the same store.
//
// How long an entry must live: it refuses cookies created at or before time T. Such a cookie was
// last issued at T at the latest (from T on this entry refuses it, so nothing re-issues it; a
// request already past the check at T may still answer with one a moment later), and the plugin
// accepts a cookie for `lifetime` seconds after it was issued (its maxAge; an absoluteMaxAge only
// shortens that). So after T + lifetime nothing the entry could refuse is alive any more and it
// may go. CLOCK_MARGIN adds the plugin's tolerance for clocks that disagree between instances,
// which also covers requests in flight at T. Entries dropped later than that are harmless; none
// are dropped sooner, which is what bounds the store: at most one entry per user who used
// "log out everywhere" within the last lifetime + margin.
//
// Time is in whole seconds, as the session's createdAt is: a session created in the same second
// as the "log out everywhere" is refused too (it may have been created before it). A login in
// that same second therefore does not last; the next one does.

/** Seconds an entry outlives the session lifetime: the plugin's allowance for clock skew between instances. */
export const CLOCK_MARGIN = 60

/** Where a store says what happens to it (Fastify's logger fits). */
export interface StoreLog {
  info: (message: string) => void
  warn: (message: string) => void
}

const SILENT: StoreLog = { info () {}, warn () {} }

/** Per-user "valid after" times, in seconds since the epoch. */
export interface ValidAfterStore {
  /** Where the times are kept, for the start-up log (never with a password). */
  readonly description: string
  /** The user's "valid after" time, or undefined when none is in force. Rejects when the store cannot answer. */
  getValidAfter: (username: string) => Promise<number | undefined>
  /** Refuses every session of `username` created at or before `seconds`, for the session lifetime (+ margin). */
  setValidAfter: (username: string, seconds: number) => Promise<void>
  /** Resolves once the store answers, or after a short wait for one that does not (it fails closed meanwhile). */
  ready: () => Promise<void>
  /** Lets go of connections; later calls reject. */
  close: () => Promise<void>
}

/** How long an entry is kept, in seconds, for sessions accepted `lifetime` seconds after they were issued. */
export function retentionFor (lifetime: number): number {
  return lifetime + CLOCK_MARGIN
}

/**
 * One process only: instances behind a load balancer each have their own, so a "log out
 * everywhere" on one is not seen by the others (use Redis for that). Nothing to install.
 */
export class MemoryValidAfterStore implements ValidAfterStore {
  readonly description = 'in memory (this process only)'
  // Every write re-inserts its key with expiry now + retention, so the Map's order is the order in
  // which entries expire: dropping the expired ones is a walk from the front that stops at the
  // first live one. No timer to clean up.
  readonly #entries = new Map<string, { validAfter: number, expiresAt: number }>()
  #closed = false

  /** `retention`: seconds an entry is kept (retentionFor(lifetime)). */
  constructor (readonly retention: number) {}

  /** Entries held now, expired ones included until the next call drops them. */
  get size (): number {
    return this.#entries.size
  }

  async getValidAfter (username: string): Promise<number | undefined> {
    this.#dropExpired()
    return this.#entries.get(username)?.validAfter
  }

  async setValidAfter (username: string, seconds: number): Promise<void> {
    this.#dropExpired()
    this.#entries.delete(username)
    this.#entries.set(username, { validAfter: seconds, expiresAt: Date.now() + this.retention * 1000 })
  }

  async ready (): Promise<void> {}

  async close (): Promise<void> {
    this.#closed = true
    this.#entries.clear()
  }

  #dropExpired (): void {
    if (this.#closed) throw new Error('the valid-after store is closed')
    const now = Date.now()
    for (const [username, entry] of this.#entries) {
      if (entry.expiresAt > now) break
      this.#entries.delete(username)
    }
  }
}

/** In memory by default; in Redis when REDIS_URL is set. */
export function createRevocationStore (config: { redisUrl: string | undefined, lifetime: number }, log: StoreLog = SILENT): ValidAfterStore {
  const retention = retentionFor(config.lifetime)
  const store = config.redisUrl === undefined
    ? new MemoryValidAfterStore(retention)
    : new RedisValidAfterStore(config.redisUrl, retention, log)
  log.info(`Valid-after times ("log out everywhere") are kept ${store.description}`)
  return store
}

/** What the check needs of a session: when it was created and who is logged in. */
export interface SessionToValidate {
  /** Seconds since the epoch. */
  createdAt: number
  data: { logged_in?: unknown, logged_in_as?: unknown }
}

/**
 * The example's session check, for the plugin's `validate` option (issue 16: pass
 * `validate: sessionValidator(store)` when registering the plugin once it has that option).
 * A visitor who is not logged in has nothing to revoke and costs no look-up. A logged-in
 * session is valid when it was created after the user's "valid after" time. It rejects when
 * the store cannot answer: the plugin then logs that and gives an empty session (fail closed).
 */
export function sessionValidator (store: ValidAfterStore): (session: SessionToValidate) => Promise<boolean> {
  return async function isSessionValid (session) {
    const username = session.data.logged_in_as
    // Logged in without a name (a cookie from before names were stored): nobody to check it against.
    if (typeof username !== 'string') return session.data.logged_in !== true
    const validAfter = await store.getValidAfter(username)
    return validAfter === undefined || session.createdAt > validAfter
  }
}
