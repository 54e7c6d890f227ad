import type { FastifyReply } from 'fastify'
import type { ResolvedCookieOptions } from './options.js'
import { FST_SESSION_TOO_LARGE } from './errors.js'
import { MAX_COOKIE_BYTES, type InvalidReason } from './codecs/codec.js'
import { newSessionId, nowSeconds, type SessionState } from './session.js'

// When to read and when to write the cookie, and with which attributes. The codec only turns
// data into text; every rule about lifetimes, change detection and size lives here.

/** Clock difference tolerated between servers before a cookie counts as issued in the future. */
const CLOCK_SKEW = 60

/** Loads the request's cookie into a fresh state; any problem leaves an empty new session. */
export function loadSession (state: SessionState): void {
  const { request, config } = state
  // @fastify/cookie fills request.cookies in onRequest unless the app moved or disabled its hook.
  const jar = request.cookies ?? request.server.parseCookie(request.headers.cookie ?? '')
  const value = jar[config.cookieName]
  if (value === undefined || value === '') return

  // Checked before any crypto work: browsers never send more, so this is not our cookie.
  const decoded = value.length > MAX_COOKIE_BYTES ? 'too-large' : config.codec.decode(value)
  if (typeof decoded === 'string') return reject(state, decoded)

  const now = nowSeconds()
  const { issuedAt, createdAt } = decoded
  if (issuedAt > now + CLOCK_SKEW) return reject(state, 'future')
  if (createdAt > issuedAt) return reject(state, 'bad-payload')
  // As in itsdangerous, an age equal to the limit is still valid.
  if (now - issuedAt > config.maxAge || now - createdAt > config.absoluteMaxAge) return reject(state, 'expired')

  state.data = decoded.data
  state.json = decoded.json
  state.pristine = decoded.pristine
  state.isNew = false
  state.fromCookie = true
  state.id = decoded.id
  state.issuedAt = issuedAt
  state.createdAt = createdAt
  state.permanent = state.loadedPermanent = decoded.permanent
  state.forced = decoded.keyIndex > 0 // verified by a fallback secret: re-issue under the current one
}

function reject (state: SessionState, reason: InvalidReason): void {
  const { request, config } = state
  // The value itself is never logged: it may be a valid cookie of another user or app.
  request.log.debug({ reason, cookieName: config.cookieName }, 'session cookie ignored')
  if (config.onInvalidCookie === undefined) return
  try {
    config.onInvalidCookie(reason, request)
  } catch (error) {
    request.log.error({ err: error }, 'onInvalidCookie threw; the request goes on with an empty session')
  }
}

/**
 * Sends what the session needs after the handler ran: nothing if it was never touched; else
 * Vary: Cookie, and a new cookie when it changed or is due a refresh, or a deleting cookie when
 * it was emptied. Throws (nothing sent, the browser keeps its cookie) if it cannot be stored.
 */
export function saveSession (state: SessionState, reply: FastifyReply): void {
  if (state.done || !state.loaded) return
  state.done = true
  addVaryCookie(reply)
  const { config } = state
  const json = state.currentJson()

  if (json === '{}') {
    // A new session that stayed empty has no cookie to delete; a loaded one that was emptied has.
    // (A valid cookie that held no data, e.g. Flask's `{"_permanent": true}`, is left alone on a read.)
    if (state.fromCookie && (state.json !== '{}' || state.forced)) writeCookie(state, reply, '', lifetimeAttributes(0, 0))
    return
  }

  const now = nowSeconds()
  const due = state.changedTo(json) || (state.permanent && now - state.issuedAt >= config.refreshAfter)
  if (!due) return

  const createdAt = state.createdAt ?? now
  const value = config.codec.encode({
    data: state.data,
    json,
    issuedAt: now,
    createdAt,
    id: state.id ??= newSessionId(),
    permanent: state.permanent
  })
  const size = Buffer.byteLength(config.cookieName) + 1 + value.length
  if (size > MAX_COOKIE_BYTES) throw new FST_SESSION_TOO_LARGE(config.cookieName, size, MAX_COOKIE_BYTES)

  if (state.permanent) {
    // The browser forgets the cookie when the server would refuse it: never past absoluteMaxAge.
    const lifetime = Math.min(config.maxAge, createdAt + config.absoluteMaxAge - now)
    writeCookie(state, reply, value, lifetimeAttributes(lifetime, now + lifetime))
  } else {
    writeCookie(state, reply, value, '')
  }
}

/**
 * Serialised by @fastify/cookie but written straight to the header, not through reply.setCookie:
 * that one is flushed by @fastify/cookie's own onSend hook, which runs before ours and, when the
 * app disabled its parsing hook, never flushes what is added after it.
 *
 * The attributes after `name=value` are the same on every response of a registration, so
 * @fastify/cookie serialises them once (per Secure flag) and each response only joins the value
 * and, for a lasting cookie, its lifetime: serialising all of it per response re-validated the
 * same path and domain and re-scanned the value, about a tenth of a write. The value needs no
 * encoding: every format writes only base64url characters and dots.
 */
function writeCookie (state: SessionState, reply: FastifyReply, value: string, expiry: string): void {
  const { cookieOverrides, config, request } = state
  const cookie = cookieOverrides ?? config.cookie
  const secure = cookie.secure === 'auto' ? request.protocol === 'https' : cookie.secure
  reply.header('set-cookie', `${config.cookieName}=${value}${expiry}${attributesOf(reply, cookie, secure)}`)
}

/** Max-Age for browsers that have it, Expires (seconds since the epoch) for those that do not. */
function lifetimeAttributes (maxAge: number, expires: number): string {
  return `; Max-Age=${maxAge}; Expires=${new Date(expires * 1000).toUTCString()}`
}

/** `; Path=/; HttpOnly; SameSite=Lax` and the like, for one set of resolved options. */
const attributeTexts = new WeakMap<ResolvedCookieOptions, { secure?: string, plain?: string }>()

function attributesOf (reply: FastifyReply, cookie: ResolvedCookieOptions, secure: boolean): string {
  let texts = attributeTexts.get(cookie)
  if (texts === undefined) attributeTexts.set(cookie, texts = {})
  // Serialised with a one-letter name and no value: what follows `x=` is the attributes alone.
  return (texts[secure ? 'secure' : 'plain'] ??= reply.server.serializeCookie('x', '', {
    path: cookie.path,
    domain: cookie.domain,
    httpOnly: cookie.httpOnly,
    secure,
    sameSite: cookie.sameSite === false ? undefined : cookie.sameSite,
    partitioned: cookie.partitioned ? true : undefined
  }).slice(2))
}

/** Adds Cookie to Vary, keeping what the route set: a shared cache must not serve one user's page to another. */
function addVaryCookie (reply: FastifyReply): void {
  const current = reply.getHeader('vary')
  if (current === undefined) {
    reply.header('vary', 'Cookie')
    return
  }
  const text = Array.isArray(current) ? current.join(', ') : String(current)
  if (/^\s*\*\s*$/.test(text) || /(^|,)\s*cookie\s*(,|$)/i.test(text)) return
  reply.header('vary', `${text}, Cookie`)
}
