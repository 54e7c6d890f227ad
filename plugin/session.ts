import type { FastifyRequest } from 'fastify'
import { COOKIE_ATTRIBUTES, resolveCookieOptions, resolveLifetime, type CookieOverrides, type ResolvedCookieOptions } from './cookie-attributes.js'
import { FST_SESSION_ALREADY_SAVED, FST_SESSION_INVALID_KEY, FST_SESSION_INVALID_OPTION } from './errors.js'
import { randomBytesFromPool } from './random.js'
import type { ResolvedOptions } from './options.js'
import { assertStorable, copy, equalsParsed, serialize, type SessionRecord } from './values.js'

// The session object handlers see: plain data behind a Proxy, plus a few methods and flags.
// It knows nothing of cookies or crypto: loading is a function handed in, saving is
// persistence.ts reading the state after the handler ran.

/**
 * Your session's shape, by declaration merging:
 * `declare module 'fastify-cookie-session' { interface SessionData { username: string } }`
 */
export interface SessionData {}

type Known = keyof SessionData & string

// The string fallbacks of get/set/pop exclude declared keys, so a declared key cannot be set
// with the wrong type by falling through to the untyped overload.

/** What `request.session` offers besides its data keys (which read and write like properties). */
export interface SessionMethods {
  /** The value, or `defaultValue` (else undefined) when the key is absent. */
  get<K extends Known>(key: K): SessionData[K] | undefined
  get<K extends Known>(key: K, defaultValue: SessionData[K]): SessionData[K]
  get<K extends string>(key: K & (K extends Known ? never : unknown), defaultValue?: unknown): unknown
  /** Stores a value; `undefined` removes the key. Throws FST_SESSION_UNSTORABLE_VALUE at once for values that can never be saved. */
  set<K extends Known>(key: K, value: SessionData[K] | undefined): void
  set<K extends string>(key: K & (K extends Known ? never : unknown), value: unknown): void
  /** Whether the data holds `key` (the same answer as `key in session`; method names are not data). */
  has (key: string): boolean
  /** Removes the key and returns its value, or `defaultValue` when absent. */
  pop<K extends Known>(key: K): SessionData[K] | undefined
  pop<K extends Known>(key: K, defaultValue: SessionData[K]): SessionData[K]
  pop<K extends string>(key: K & (K extends Known ? never : unknown), defaultValue?: unknown): unknown
  /** Removes everything: the cookie is deleted when the response is sent. */
  clear (): void
  /** A deep copy of the data as a plain object (Date and Buffer kept). */
  data (): SessionContents
  /** The same copy as data(), so `JSON.stringify(session)` gives the data alone. */
  toJSON (): SessionContents
  /** Re-issue the cookie on this response even if nothing changed. */
  touch (): void
  /** Drops everything but `keep`, gives the session a new id and makes it new (call on login). */
  regenerate (keep?: string[]): Promise<void>
  /**
   * Sets the attributes of the cookie this response writes, if it writes one (call `touch()` to
   * make it): any attribute `reply.setCookie` takes, `maxAge` (seconds) and `expires` included,
   * the lifetime capped at what the server accepts. Keys that are not cookie attributes are
   * ignored (logged at debug), as @fastify/secure-session does.
   */
  options (cookie: CookieOverrides): void
  /** Whether the data differs (by value) from what the cookie held, or a re-issue was asked for. */
  readonly modified: boolean
  /** Whether the session was read or written during this request (adds Vary: Cookie). */
  readonly accessed: boolean
  /** True when no valid cookie came with the request, or after regenerate(). */
  readonly isNew: boolean
  /** The random id of this session (128 bits, base64url); changes on regenerate(). */
  readonly sessionId: string
  /** Permanent sessions get Expires/Max-Age; others end with the browser session. */
  permanent: boolean
}

/** The session's data alone, as `data()` copies it: the declared keys typed, any other key unknown. */
export type SessionContents = Partial<SessionData> & Record<string, unknown>
/** `request.session`: the data keys as properties (declared ones typed) and the methods above. */
export type Session = SessionMethods & Partial<SessionData> & Record<string, unknown>

const RESERVED = new Set(['get', 'set', 'has', 'pop', 'clear', 'data', 'toJSON', 'touch', 'regenerate', 'options',
  'modified', 'accessed', 'isNew', 'sessionId', 'permanent'])

export function newSessionId (): string {
  return randomBytesFromPool(16).toString('base64url')
}

export function nowSeconds (): number {
  return Math.floor(Date.now() / 1000)
}

/** Everything persistence.ts needs to decide what to send; filled in by the loader on first use. */
export class SessionState {
  loaded = false
  data: SessionRecord = Object.create(null)
  /** serialize(data) as loaded ('{}' for a new session), to detect changes by value. */
  json = '{}'
  /**
   * What the data was loaded from, parsed once and never handed out (a remembered cookie's), or
   * undefined. Comparing the data with it tells whether `json` still holds, without serialising.
   */
  pristine: SessionRecord | undefined = undefined
  /** Something was written (set, delete, pop, clear, regenerate): only serialising tells what changed. */
  written = false
  /**
   * A live object or array was handed out: the handler may change it in place. Until this or a
   * write, `json` is still the data's text and saving skips re-serialising: a handler that only
   * reads strings and numbers costs no JSON.
   */
  exposed = false
  isNew = true
  /** A valid cookie came with the request (so emptying the session must delete it). */
  fromCookie = false
  /** How many of the session's cookies (pieces, see chunks.ts) the request carried, gaps included. */
  carriedCookies = 0
  /** `validate` refused the cookie: the response deletes it, unless the session is written anew. */
  revoked = false
  id: string | undefined = undefined
  issuedAt = 0
  createdAt: number | undefined = undefined
  permanent: boolean
  loadedPermanent: boolean
  /** Re-issue even when unchanged: touch(), regenerate(), or a cookie verified by a fallback key. */
  forced = false
  cookieOverrides: ResolvedCookieOptions | undefined = undefined
  /** Seconds since the epoch at which `session.options()` asked the cookie to expire. */
  expiresAt: number | undefined = undefined
  /** Set once onSend handled this request: an error response must not save twice, and later writes would be lost. */
  done = false

  constructor (
    readonly request: FastifyRequest,
    readonly config: ResolvedOptions,
    private readonly loader: (state: SessionState) => void
  ) {
    this.permanent = config.permanent
    this.loadedPermanent = config.permanent
  }

  load (): this {
    if (!this.loaded) {
      this.loaded = true
      this.loader(this)
    }
    return this
  }

  /** Whether a session whose data now serialises to `json` must be re-issued: the one definition of a change. */
  changedTo (json: string): boolean {
    return this.forced || json !== this.json || this.permanent !== this.loadedPermanent
  }

  /** The canonical text of the data as it is now; throws if something unstorable was put in an object. */
  currentJson (): string {
    const unchanged = !this.written && (!this.exposed || (this.pristine !== undefined && equalsParsed(this.data, this.pristine)))
    return unchanged ? this.json : serialize(this.data)
  }

  get modified (): boolean {
    return this.load().changedTo(this.currentJson())
  }

  /** A value about to be handed to the handler: objects and arrays are live, so changes become possible. */
  expose (value: unknown): unknown {
    if (typeof value === 'object' && value !== null) this.exposed = true
    return value
  }

  /**
   * Back to an empty new session, as if no cookie had come (after `validate`): `revoked` also
   * deletes the cookie on the response.
   */
  reset (revoked: boolean): void {
    this.data = Object.create(null)
    this.json = '{}'
    this.pristine = undefined
    this.written = false
    this.exposed = false
    this.isNew = true
    this.fromCookie = false
    this.id = undefined
    this.issuedAt = 0
    this.createdAt = undefined
    this.permanent = this.loadedPermanent = this.config.permanent
    this.forced = false
    this.revoked = revoked
  }

  /** The loaded state, for an operation that changes what is saved: refused once it was saved. */
  writable (operation: string): this {
    if (this.done) throw new FST_SESSION_ALREADY_SAVED(operation)
    return this.load()
  }

  setValue (key: string, value: unknown): void {
    if (key === '__proto__') throw new FST_SESSION_INVALID_KEY('"__proto__" cannot be a session key')
    this.writable(`setting session.${key}`).written = true
    if (value === undefined) {
      delete this.data[key]
      return
    }
    assertStorable(value, `session.${key}`)
    this.data[key] = value
  }
}

const kState = Symbol('fastify-cookie-session.state')

interface WithState { [kState]: SessionState }

export function stateOf (session: unknown): SessionState {
  return (session as WithState)[kState]
}

// Methods live once on this object and find their state through the proxy, so a request
// costs one Proxy and one SessionState, not a set of closures.
const methods: Record<string, (this: unknown, ...args: never[]) => unknown> = {
  get (key: string, defaultValue?: unknown) {
    const state = stateOf(this).load()
    return Object.hasOwn(state.data, key) ? state.expose(state.data[key]) : defaultValue
  },
  set (key: string, value: unknown) {
    stateOf(this).setValue(key, value)
  },
  has (key: string) {
    return Object.hasOwn(stateOf(this).load().data, key)
  },
  pop (key: string, defaultValue?: unknown) {
    const state = stateOf(this).writable(`session.pop('${key}')`)
    if (!Object.hasOwn(state.data, key)) return defaultValue
    const value = state.data[key]
    delete state.data[key]
    state.written = true
    return value
  },
  clear () {
    const state = stateOf(this).writable('session.clear()')
    state.data = Object.create(null)
    state.written = true
  },
  data () {
    return copy(stateOf(this).load().data)
  },
  toJSON () {
    return copy(stateOf(this).load().data)
  },
  touch () {
    stateOf(this).writable('session.touch()').forced = true
  },
  regenerate (keep?: string[]) {
    let state: SessionState
    try {
      state = stateOf(this).writable('session.regenerate()')
    } catch (error) {
      return Promise.reject(error)
    }
    const kept = Object.create(null) as SessionRecord
    for (const key of keep ?? []) {
      if (Object.hasOwn(state.data, key)) kept[key] = state.data[key]
    }
    state.data = kept
    state.written = true
    state.id = newSessionId()
    state.createdAt = nowSeconds()
    state.isNew = true
    state.forced = true
    return Promise.resolve()
  },
  options (cookie: CookieOverrides) {
    const state = stateOf(this).writable('session.options()')
    if (cookie === null || typeof cookie !== 'object') {
      throw new FST_SESSION_INVALID_OPTION('session.options() takes an object of cookie attributes')
    }
    const { config, request } = state
    // Plugins built for @fastify/secure-session hand it their whole options object (e.g.
    // csrf-protection's { userInfo }): what is not a cookie attribute is not ours to refuse.
    const ignored = Object.keys(cookie).filter((key) => !COOKIE_ATTRIBUTES.includes(key) && key !== 'maxAge' && key !== 'expires')
    if (ignored.length > 0) request.log.debug({ ignored }, 'session.options(): keys that are not cookie attributes are ignored')
    const expiresAt = resolveLifetime(cookie, nowSeconds())
    state.cookieOverrides = resolveCookieOptions(cookie, config.cookieName, state.cookieOverrides ?? config.cookie, config.serializeCookie)
    if (expiresAt !== undefined) state.expiresAt = expiresAt
  }
}

function readFlag (state: SessionState, key: string): unknown {
  switch (key) {
    case 'accessed': return state.loaded
    case 'modified': return state.modified
    case 'isNew': return state.load().isNew
    case 'permanent': return state.load().permanent
    default: // 'sessionId': a new session gets its id on first sight, so the id read is the id saved
      state.load().id ??= newSessionId()
      return state.id
  }
}

function setTrap (state: SessionState, key: string | symbol, value: unknown): boolean {
  if (key === 'permanent') {
    if (typeof value !== 'boolean') throw new FST_SESSION_INVALID_KEY('session.permanent must be true or false')
    state.writable('setting session.permanent').permanent = value
    return true
  }
  if (typeof key === 'symbol') throw new FST_SESSION_INVALID_KEY('symbols cannot be session keys')
  if (RESERVED.has(key)) {
    throw new FST_SESSION_INVALID_KEY(`"${key}" is a session method or flag; use session.set('${key}', value) to store it`)
  }
  state.setValue(key, value)
  return true
}

const handler: ProxyHandler<SessionState> = {
  get (state, key) {
    if (typeof key === 'symbol') return key === kState ? state : undefined
    if (RESERVED.has(key)) return Object.hasOwn(methods, key) ? methods[key] : readFlag(state, key)
    const { data } = state.load()
    return Object.hasOwn(data, key) ? state.expose(data[key]) : undefined
  },
  set: setTrap,
  deleteProperty (state, key) {
    if (typeof key === 'string' && !RESERVED.has(key)) {
      delete state.writable(`delete session.${key}`).data[key]
      state.written = true
    }
    return true
  },
  // `in`, like Object.keys, spreading and JSON.stringify, sees the data keys only: the methods
  // and flags are reachable by name but are not part of the session's contents.
  has (state, key) {
    return typeof key === 'string' && Object.hasOwn(state.load().data, key)
  },
  ownKeys (state) {
    return Object.keys(state.load().data)
  },
  getOwnPropertyDescriptor (state, key) {
    if (typeof key === 'symbol') return undefined
    const { data } = state.load()
    if (!Object.hasOwn(data, key)) return undefined
    return { value: state.expose(data[key]), writable: true, enumerable: true, configurable: true }
  },
  defineProperty (state, key, descriptor) {
    if (!('value' in descriptor)) throw new FST_SESSION_INVALID_KEY('session properties cannot be accessors')
    return setTrap(state, key, descriptor.value)
  },
  setPrototypeOf () {
    return false
  },
  preventExtensions () {
    return false
  }
}

export function createSession (state: SessionState): Session {
  return new Proxy(state, handler) as unknown as Session
}
