import Fastify, { type FastifyInstance, type FastifyServerOptions, type LightMyRequestResponse, type InjectOptions } from 'fastify'
import { parseSetCookie } from 'cookie'
import { CookieJar, type Cookie } from 'tough-cookie'
import fastifyCookie from '@fastify/cookie'
import cookieSession, { type CookieSessionOptions } from '../plugin/index.js'
import { resolveOptions, type ResolvedOptions } from '../plugin/options.js'

export const SECRET = 'test-secret-0123456789-abcdefghijklmnopqrstuvwxyz'
export const OTHER_SECRET = 'another-secret-0123456789-abcdefghijklmnopqrstuv'

/** A Fastify app with the plugin registered and `routes` added; closed by the caller or `t.teardown`. */
export async function buildApp (
  options: Partial<CookieSessionOptions> = {},
  routes: (app: FastifyInstance) => void = () => {},
  fastifyOptions: FastifyServerOptions = {}
): Promise<FastifyInstance> {
  const app = Fastify(fastifyOptions)
  await app.register(cookieSession, { secret: SECRET, ...options })
  routes(app)
  await app.ready()
  return app
}

export function setCookieHeaders (response: LightMyRequestResponse): string[] {
  const header = response.headers['set-cookie']
  if (header === undefined) return []
  return Array.isArray(header) ? header : [header]
}

/** The one Set-Cookie for `name`, parsed as a browser would read its attributes. */
export function sessionSetCookie (response: LightMyRequestResponse, name = 'session') {
  const matching = setCookieHeaders(response).filter((header) => header.startsWith(`${name}=`))
  if (matching.length > 1) throw new Error(`${matching.length} Set-Cookie headers for ${name}`)
  return matching.length === 1 ? { header: matching[0] as string, ...parseSetCookie(matching[0] as string) } : undefined
}

/** The raw `name=value` of the session cookie set by a response (throws when there is none). */
export function cookiePair (response: LightMyRequestResponse, name = 'session'): string {
  const cookie = sessionSetCookie(response, name)
  if (cookie === undefined) throw new Error(`no ${name} cookie was set`)
  return `${cookie.name}=${cookie.value}`
}

/**
 * A browser-like client: a real cookie jar (tough-cookie, RFC 6265) that stores what the server
 * sets, applies Path/Domain/Secure/expiry rules, and sends back what a browser would.
 */
export class Browser {
  readonly jar = new CookieJar()
  constructor (readonly app: FastifyInstance, readonly origin = 'http://localhost') {}

  async request (options: InjectOptions & { url: string }): Promise<LightMyRequestResponse> {
    const url = new URL(options.url, this.origin)
    const now = new Date(Date.now())
    const cookie = (await this.live(url.href)).map((c) => c.cookieString()).join('; ')
    const headers: Record<string, string> = { host: url.host, ...(options.headers as Record<string, string> | undefined) }
    if (cookie !== '') headers.cookie = cookie
    if (url.protocol === 'https:') headers['x-forwarded-proto'] = 'https'
    const response = await this.app.inject({ ...options, url: url.pathname + url.search, headers })
    for (const header of setCookieHeaders(response)) {
      const stored = await this.jar.setCookie(header, url.href, { now })
      // RFC 6265: Max-Age counts from when the cookie is received; fix that instant as its expiry.
      if (stored !== undefined && typeof stored.maxAge === 'number') {
        stored.expires = new Date(now.getTime() + stored.maxAge * 1000)
        stored.maxAge = null
      }
    }
    return response
  }

  get (url: string): Promise<LightMyRequestResponse> {
    return this.request({ method: 'GET', url })
  }

  async cookie (name = 'session') {
    return (await this.live(this.origin)).find((c) => c.key === name)
  }

  /**
   * The cookies a browser would send to `url` now. Expiry is judged here against Date.now(), so a
   * pinned clock (pinClock) moves the browser's time with the server's: tough-cookie itself
   * measures Max-Age from the last real-time access, which a pinned clock cannot move.
   */
  private async live (url: string): Promise<Cookie[]> {
    const now = Date.now()
    const cookies = await this.jar.getCookies(url, { expire: false })
    return cookies.filter((cookie) => cookie.maxAge !== '-Infinity' &&
      (!(cookie.expires instanceof Date) || cookie.expires.getTime() > now))
  }
}

/** Pins Date.now() to `seconds` (plus whatever `advance` adds) until the test ends. */
export function pinClock (t: { teardown: (fn: () => void) => void }, seconds: number) {
  const realNow = Date.now
  let current = seconds
  Date.now = () => current * 1000
  t.teardown(() => { Date.now = realNow })
  return {
    advance (by: number) { current += by },
    get now () { return current }
  }
}

/** @fastify/cookie's real serializer, as the plugin gets it at register. */
const cookieApp = Fastify()
await cookieApp.register(fastifyCookie)
await cookieApp.ready()
export const serializeCookie = cookieApp.serializeCookie

/** The plugin's resolved options without an app, for tests that drive codecs and state directly. */
export function resolveTestOptions (options: CookieSessionOptions): ResolvedOptions {
  return resolveOptions(options, serializeCookie)
}
