import fastifyCookie from '@fastify/cookie'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import * as errors from './errors.js'
import { resolveOptions, type CookieSessionOptions } from './options.js'
import { loadSession, saveSession } from './persistence.js'
import { createSession, stateOf, SessionState, type Session } from './session.js'

// The Fastify glue: validate options, make sure cookies are parsed, attach a lazy session to
// every request and save it just before the response leaves.

declare module 'fastify' {
  interface FastifyRequest {
    // An import type, not the bare name: inside this block `Session` would first resolve to
    // fastify's own `Session`, which @fastify/session adds to 'fastify' when its types are loaded
    // (e.g. through @fastify/passport's declarations).
    session: import('./session.js').Session
  }
}

const kSession = Symbol('fastify-cookie-session')
interface WithSession { [kSession]: Session | null }

const plugin: FastifyPluginAsync<CookieSessionOptions> = async (fastify, options) => {
  const config = resolveOptions(options)
  for (const warning of config.warnings) fastify.log.warn(warning)

  // Apps that use @fastify/cookie themselves register it first; we reuse theirs.
  if (!fastify.hasDecorator('parseCookie')) await fastify.register(fastifyCookie)
  // No onRequest hook: the session is made on first access to request.session, so a route that
  // never touches it costs one null check in onSend, and nothing is decoded until it is used.
  fastify.decorateRequest(kSession, null)
  fastify.decorateRequest('session', {
    getter (this: FastifyRequest): Session {
      const request = this as FastifyRequest & WithSession
      return (request[kSession] ??= createSession(new SessionState(request, config, loadSession)))
    }
  })

  fastify.addHook('onSend', (request, reply, payload, next) => {
    const session = (request as FastifyRequest & WithSession)[kSession]
    if (session === null) return next(null, payload)
    try {
      saveSession(stateOf(session), reply)
    } catch (error) {
      return next(error as Error)
    }
    next(null, payload)
  })
}

const cookieSession = fp(plugin, { fastify: '5.x', name: 'fastify-cookie-session' })

// `require('fastify-cookie-session')` returns the plugin itself, like CommonJS Fastify plugins:
// Node's require(esm) honours the 'module.exports' export name. The other exports ride along.
Object.assign(cookieSession, { cookieSession, default: cookieSession, ...errors })

export { cookieSession, cookieSession as default, cookieSession as 'module.exports' }

export type { CookieSessionOptions, CookieOptions, SameSite, Format } from './options.js'
export type { Session, SessionData, SessionContents, SessionMethods } from './session.js'
export type { InvalidReason } from './codecs/codec.js'
export type { Secret } from './keys.js'
export * from './errors.js'
