import { setCookiePair } from './variants.js'
import { createSequence, currentPopulationOptions, pathOf } from './population.js'

// Drives a built variant with inject(), for the two modes without sockets (in-process and
// instructions): GET /measure with the variant's cookie, or its cookies in turn for the cold
// variants (every variant goes through the same rotation, so the loop costs them all the same),
// BATCH requests in flight at once, and a tally of what the measured responses looked like.
// A chained variant's BATCH slots are clients that each send the cookie they were last given
// (reading it off Set-Cookie is client work that the two chained variants share).
// A population variant (pop-*) follows the seeded request sequence instead (createPopulationInjector).

/** Requests in flight at once. */
export const BATCH = 8

/**
 * What the responses looked like. Every batch, warm-up included, runs the same tallying code
 * (reset when the measured part starts): a branch first taken in the counted window would
 * deoptimize the driver there and have V8 compile it again inside the window.
 */
function newTally () {
  return { requests: 0, status: 0, setCookie: false, setCookies: 0, non2xx: 0 }
}

/**
 * The cookie of each request in turn. A cold variant's many (one per request in instruction mode)
 * are kept in one Buffer, not as strings: 30,000 strings and request objects held by the client
 * made every major GC of a cold variant mark them, a cost bare Fastify, which it is compared
 * with, did not pay. Each request gets its string and request object anew, in every variant.
 */
function cookieSource (cookies) {
  if (cookies.length === 1) {
    const only = cookies[0]
    return () => only
  }
  const count = cookies.length
  const ends = new Uint32Array(count)
  let end = 0
  for (let i = 0; i < count; i++) ends[i] = end += cookies[i].length
  const bytes = Buffer.from(cookies.join(''), 'latin1') // cookie values are ASCII
  let next = 0
  return () => {
    const i = next++ % count
    return bytes.toString('latin1', i === 0 ? 0 : ends[i - 1], ends[i])
  }
}

export function createInjector (built) {
  if (built.population !== undefined) return createPopulationInjector(built)
  let nextCookie = cookieSource(built.cookies ?? [built.cookie])
  const jars = Array.from({ length: BATCH }, () => ({ method: 'GET', url: '/measure', headers: { cookie: built.cookie } }))
  const tally = newTally()
  return {
    tally,
    resetTally () { Object.assign(tally, newTally()) },
    /** Sends one batch and waits for it, adding it to the tally. */
    async batch () {
      const sent = []
      for (let i = 0; i < BATCH; i++) {
        sent.push(built.app.inject(built.chained ? jars[i] : { method: 'GET', url: '/measure', headers: { cookie: nextCookie() } }))
      }
      const responses = await Promise.all(sent)
      for (const [i, response] of responses.entries()) {
        if (built.chained) jars[i].headers = { cookie: setCookiePair(response.headers['set-cookie']) ?? jars[i].headers.cookie }
        tally.requests++
        tally.status = response.statusCode
        if (response.statusCode < 200 || response.statusCode > 299) tally.non2xx++
        if (response.headers['set-cookie'] !== undefined) {
          tally.setCookie = true
          tally.setCookies++
        }
      }
    },
    /** Drops the client's cookies (a cold variant's many), so that the heap measured after the run is the server's. */
    release () {
      nextCookie = undefined
    }
  }
}

/**
 * Drives a population variant: each request is the next of the seeded sequence (the same for
 * every variant), carrying that user's latest cookie; a Set-Cookie replaces it, as in a browser.
 * BATCH requests are in flight at once; their answers are applied in the order they were sent,
 * so two requests of one user in a batch leave that user the later one's cookie, whatever order
 * they complete in.
 */
export function createPopulationInjector (built, options = currentPopulationOptions()) {
  let jars = built.population.jars.slice()
  const next = createSequence(options)
  const tally = newTally()
  const users = new Int32Array(BATCH)
  return {
    tally,
    resetTally () { Object.assign(tally, newTally()) },
    async batch () {
      const sent = []
      for (let i = 0; i < BATCH; i++) {
        const request = next()
        const user = users[i] = request >> 1
        sent.push(built.app.inject({ method: 'GET', url: pathOf(request), headers: { cookie: jars[user] } }))
      }
      const responses = await Promise.all(sent)
      for (const [i, response] of responses.entries()) {
        const pair = setCookiePair(response.headers['set-cookie'])
        if (pair !== undefined) jars[users[i]] = pair
        tally.requests++
        tally.status = response.statusCode
        if (response.statusCode < 200 || response.statusCode > 299) tally.non2xx++
        if (pair !== undefined) {
          tally.setCookie = true
          tally.setCookies++
        }
      }
    },
    /** Drops the client's cookies, so that the heap measured after the run is the server's. */
    release () {
      jars = undefined
    }
  }
}
