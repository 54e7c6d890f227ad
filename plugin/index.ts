import fastifyCookie from '@fastify/cookie'
import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import * as errors from './errors.js'
import { resolveOptions, type CookieSessionOptions } from './options.js'
import { loadSession, saveSession } from './persistence.js'
import { createSession, stateOf, SessionState, type Session } from './session.js'

// The Fastify glue: validate options, make sure cookies are parsed, attach a lazy session to
// every request and save it just before the response leaves.

declare module 'fastify' {
  interface FastifyRequest {
    session: Session
  }
}

const plugin: FastifyPluginAsync<CookieSessionOptions> = async (fastify, options) => {
  const config = resolveOptions(options)
  for (const warning of config.warnings) fastify.log.warn(warning)

  // Apps that use @fastify/cookie themselves register it first; we reuse theirs.
  if (!fastify.hasDecorator('parseCookie')) await fastify.register(fastifyCookie)
  fastify.decorateRequest('session', null as unknown as Session)

  fastify.addHook('onRequest', (request, _reply, next) => {
    // Nothing is decoded here: the cookie is read on the session's first use.
    request.session = createSession(new SessionState(request, config, loadSession))
    next()
  })

  fastify.addHook('onSend', (request, reply, payload, next) => {
    // request.session is null only when the request failed before onRequest ran.
    if (request.session === null) return next(null, payload)
    try {
      saveSession(stateOf(request.session), reply)
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
