import fastifyCookie from '@fastify/cookie'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import * as errors from './errors.js'
import { resolveOptions, type CookieSessionOptions } from './options.js'
import { loadSession, saveSession, validateSession } from './persistence.js'
import { codecFor, createSessionCodec } from './session-codec.js'
import { createSession, stateOf, SessionState, type Session } from './session.js'

// The Fastify glue: validate options, make sure cookies are parsed, attach a lazy session to
// every request and save it just before the response leaves.

declare module 'fastify' {
  interface FastifyRequest {
    // An import type, not the bare name: inside this block `Session` would first resolve to
    // fastify's own `Session`, which @fastify/session adds to 'fastify' when its types are loaded
    // (e.g. through @fastify/passport's declarations).
    /**
     * This request's session (fastify-cookie-session), decoded from its cookie on first use. Works
     * like a dict: `request.session.user = 'Kimi'`, `get`/`set`/`pop`/`clear`; saved when the reply
     * is sent, only if it changed. Type its keys by augmenting `SessionData`.
     */
    session: import('./session.js').Session
  }
  interface FastifyInstance {
    /** The plugin's own cookie codec, to read or write its session cookie outside a request (a WebSocket, a worker). */
    sessionCodec: import('./session-codec.js').SessionCodec
  }
}

const kSession = Symbol('fastify-cookie-session')
/** null: not used yet; false: onSend passed without it being used; else the request's session. */
interface WithSession { [kSession]: Session | null | false }

const plugin: FastifyPluginAsync<CookieSessionOptions> = async (fastify, options) => {
  if (fastify.hasRequestDecorator('session')) throw new errors.FST_SESSION_ALREADY_REGISTERED()
  // Apps that use @fastify/cookie themselves register it first; we reuse theirs.
  if (!fastify.hasDecorator('parseCookie')) await fastify.register(fastifyCookie)
  const config = resolveOptions(options, fastify.serializeCookie)
  for (const warning of config.warnings) fastify.log.warn(warning)
  fastify.decorate('sessionCodec', codecFor(config))

  // No onRequest hook (unless `validate` asks for one, below): the session is made on first access
  // to request.session, so a route that never touches it costs one null check in onSend, and
  // nothing is decoded until it is used.
  fastify.decorateRequest(kSession, null)
  fastify.decorateRequest('session', {
    getter (this: FastifyRequest): Session {
      const request = this as FastifyRequest & WithSession
      const current = request[kSession]
      if (current) return current
      const state = new SessionState(request, config, loadSession)
      // First used after this plugin's onSend (in a later onSend hook): readable, but a write
      // would never be sent, so writes throw FST_SESSION_ALREADY_SAVED instead of vanishing.
      state.done = current === false
      return (request[kSession] = createSession(state))
    }
  })

  // Revocation needs the session checked before any handler can act on it: the only reason for an
  // onRequest hook, so without `validate` there is none.
  if (config.validate !== undefined) {
    fastify.addHook('onRequest', async (request) => {
      await validateSession(stateOf(request.session))
    })
  }

  fastify.addHook('onSend', (request, reply, payload, next) => {
    const withSession = request as FastifyRequest & WithSession
    const session = withSession[kSession]
    if (!session) {
      withSession[kSession] = false
      return next(null, payload)
    }
    try {
      saveSession(stateOf(session), reply)
    } catch (error) {
      return next(error as Error)
    }
    next(null, payload)
  })
}

/**
 * The plugin: Flask-style sessions stored in a signed (or encrypted, or Flask's own) cookie.
 * `await app.register(cookieSession, { secret })`, then `request.session` in every route of this
 * context. Options: see `CookieSessionOptions`; errors at register are `FST_SESSION_INVALID_OPTION`.
 */
const cookieSession = fp(plugin, { fastify: '5.x', name: 'fastify-cookie-session' })

// `require('fastify-cookie-session')` returns the plugin itself, like CommonJS Fastify plugins:
// Node's require(esm) honours the 'module.exports' export name. The other exports ride along.
Object.assign(cookieSession, { cookieSession, default: cookieSession, createSessionCodec, ...errors })

export { cookieSession, cookieSession as default, cookieSession as 'module.exports', createSessionCodec }

export type { SessionCodec, SessionInfo, EncodeOptions } from './session-codec.js'
export type { CookieSessionOptions, SessionCodecOptions, Format } from './options.js'
export type { CookieOptions, CookieOverrides, SameSite, Priority } from './cookie-attributes.js'
export type { Session, SessionData, SessionContents, SessionMethods } from './session.js'
export type { InvalidReason } from './codecs/codec.js'
export type { Secret } from './codec-options.js'
export * from './errors.js'
