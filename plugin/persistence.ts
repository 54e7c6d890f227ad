import type { FastifyReply } from 'fastify'
import { chunkName, joinChunks, splitValue } from './chunks.js'
import type { InvalidReason } from './codecs/codec.js'
import { decodeValue, type SessionInfo } from './session-codec.js'
import { newSessionId, nowSeconds, type SessionState } from './session.js'
import { sizeReport, tooLarge } from './size-report.js'

// When to read and when to write the cookie, and with which attributes. The codec only turns
// data into text; every rule about lifetimes, change detection and size lives here.

/** Loads the request's cookie(s) into a fresh state; any problem leaves an empty new session. */
export function loadSession (state: SessionState): void {
  const { request, config } = state
  // @fastify/cookie fills request.cookies in onRequest unless the app moved or disabled its hook.
  const jar = request.cookies ?? request.server.parseCookie(request.headers.cookie ?? '')
  const { value, carried, problem } = joinChunks(jar, config.cookieName, config.maxCookies)
  state.carriedCookies = carried
  if (problem !== undefined) return reject(state, problem)
  if (value === undefined) return

  const decoded = decodeValue(config, value, nowSeconds())
  if (typeof decoded === 'string') return reject(state, decoded)
  const { issuedAt, createdAt } = decoded

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

/**
 * `validate` (only when the option is set, in onRequest): a valid cookie's session is accepted
 * only when it answers `true`. A refusal empties the session and deletes the cookie on the
 * response; a failure (a store that is down) empties it for this request only, fail closed,
 * and leaves the cookie, so an outage does not log everybody out.
 */
export async function validateSession (state: SessionState): Promise<void> {
  const { request, config } = state
  const validate = config.validate as NonNullable<typeof config.validate>
  if (!state.load().fromCookie) return
  const session: SessionInfo = {
    // Handed out as it is, not copied: marked exposed, so a change made to it is still seen.
    data: state.expose(state.data) as SessionInfo['data'],
    sessionId: state.id ??= newSessionId(),
    createdAt: state.createdAt as number,
    issuedAt: state.issuedAt,
    permanent: state.permanent
  }
  let valid: boolean
  try {
    valid = await validate(session, request) === true
  } catch (error) {
    request.log.error({ err: error }, 'fastify-cookie-session: validate failed; this request goes on with an empty session')
    state.reset(false)
    return
  }
  if (!valid) {
    request.log.debug({ cookieName: config.cookieName }, 'session refused by validate; its cookie is deleted')
    state.reset(true)
  }
}

function reject (state: SessionState, reason: InvalidReason): void {
  const { request, config } = state
  // The value itself is never logged: it may be a valid cookie of another user or app.
  request.log.debug({ reason, cookieName: config.cookieName }, 'session cookie ignored')
  if (config.onInvalidCookie === undefined) return
  try {
    // Never awaited: the request does not wait for a counter. A promise it returns must still
    // not reject unobserved, or one garbage cookie would crash the process.
    const result: unknown = config.onInvalidCookie(reason, request)
    if (isThenable(result)) {
      result.then(undefined, (error: unknown) => {
        request.log.error({ err: error }, 'onInvalidCookie rejected; the request went on with an empty session')
      })
    }
  } catch (error) {
    request.log.error({ err: error }, 'onInvalidCookie threw; the request goes on with an empty session')
  }
}

function isThenable (value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function'
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
    if ((state.fromCookie && (state.json !== '{}' || state.forced)) || state.revoked) deleteCookies(state, reply, 0)
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
  const pieces = splitValue(config.cookieName, value, config.maxCookies)
  if (pieces === undefined) throw tooLarge(config, state.data, value)
  warnWhenNearlyFull(state, value)

  // The browser forgets the cookie when the server would refuse it: never past maxAge from now
  // nor past absoluteMaxAge; an expiry asked for by session.options() only ever shortens that.
  const limit = Math.min(config.maxAge, createdAt + config.absoluteMaxAge - now)
  let expiry = ''
  if (state.expiresAt !== undefined) {
    const lifetime = Math.max(0, Math.min(limit, state.expiresAt - now))
    expiry = lifetimeAttributes(lifetime, now + lifetime)
  } else if (state.permanent) {
    expiry = lifetimeAttributes(limit, now + limit)
  }
  for (let index = 0; index < pieces.length; index++) writeCookie(state, reply, chunkName(config.cookieName, index), pieces[index] as string, expiry)
  deleteCookies(state, reply, pieces.length)
}

/** Deletes the pieces from `from` on that the request carried (from 0: the whole session). */
function deleteCookies (state: SessionState, reply: FastifyReply, from: number): void {
  const { config } = state
  const deleting = lifetimeAttributes(0, 0)
  // Piece 0 is deleted only when the session is emptied; stale pieces whenever they are not rewritten.
  for (let index = from; index < state.carriedCookies; index++) {
    writeCookie(state, reply, chunkName(config.cookieName, index), '', deleting)
  }
}

/**
 * Warns once per route when a written session uses more than 80 % of what it may (maxCookies ×
 * 4096 bytes), before the day it no longer fits and throws.
 */
function warnWhenNearlyFull (state: SessionState, value: string): void {
  const { config, request } = state
  const used = value.length + config.cookieName.length + 1
  if (used <= 0.8 * config.maxValueBytes) return
  config.warnOnce(`size ${request.method} ${String(request.routeOptions.url)}`, () => {
    request.log.warn({ route: request.routeOptions.url, ...sizeReport(config, state.data, value) },
      'fastify-cookie-session: this session uses over 80 % of the cookie space it may use; store less in it ' +
      'before it no longer fits (largest keys listed; logged once per route)')
  })
}

/**
 * Serialised by @fastify/cookie but written straight to the header, not through reply.setCookie:
 * that one is flushed by @fastify/cookie's own onSend hook, which runs before ours and, when the
 * app disabled its parsing hook, never flushes what is added after it.
 *
 * The attributes after `name=value` were serialised once, when they were resolved
 * (cookie-attributes.ts); each response only joins the value and, for a lasting cookie, its
 * lifetime. The value needs no encoding: every format writes only base64url characters and dots.
 */
function writeCookie (state: SessionState, reply: FastifyReply, name: string, value: string, expiry: string): void {
  const { cookieOverrides, config, request } = state
  const cookie = cookieOverrides ?? config.cookie
  const secure = cookie.secure === 'auto' ? request.protocol === 'https' : cookie.secure
  reply.header('set-cookie', `${name}=${value}${expiry}${secure ? cookie.text.secure : cookie.text.plain}`)
  keepFromSharedCaches(state, reply)
}

const PRIVATE_OR_NO_STORE = /(?:^|,)\s*(?:private|no-store)\b/i

/**
 * A shared cache that stores a response carrying Set-Cookie hands this visitor's session to the
 * next one. With no Cache-Control from the route, the response becomes `private`; a route's
 * `private` or `no-store` is already as strict. A route that made the response cacheable
 * (`public`, `max-age`, `no-cache`…) keeps its header, since it may have reasons the plugin
 * cannot see, but is warned about once per route.
 */
function keepFromSharedCaches (state: SessionState, reply: FastifyReply): void {
  const current = reply.getHeader('cache-control')
  if (current === undefined) {
    reply.header('cache-control', 'private')
    return
  }
  const text = String(current) // an array of values joins with ',', which the pattern takes too
  if (PRIVATE_OR_NO_STORE.test(text)) return
  const { request, config } = state
  config.warnOnce(`cache-control ${request.method} ${String(request.routeOptions.url)}`, () => {
    request.log.warn({ cacheControl: text, route: request.routeOptions.url },
      'fastify-cookie-session: this response sets the session cookie but its Cache-Control lets shared caches ' +
      'store it, which could hand the cookie to other visitors; add "private" or "no-store" (logged once per route)')
  })
}

/** Max-Age for browsers that have it, Expires (seconds since the epoch) for those that do not. */
function lifetimeAttributes (maxAge: number, expires: number): string {
  return `; Max-Age=${maxAge}; Expires=${new Date(expires * 1000).toUTCString()}`
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
