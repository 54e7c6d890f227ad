import { setCookiePair } from './variants.js'

// Drives a built variant with inject(), for the two modes without sockets (in-process and
// instructions): GET /measure with the variant's cookie, or its cookies in turn for the cold
// variants (every variant goes through the same rotation, so the loop costs them all the same),
// BATCH requests in flight at once, and a tally of what the measured responses looked like.
// A chained variant's BATCH slots are clients that each send the cookie they were last given
// (reading it off Set-Cookie is client work that the two chained variants share).

/** Requests in flight at once. */
export const BATCH = 8

export function createInjector (built) {
  const cookies = built.cookies ?? [built.cookie]
  const inputs = cookies.map((cookie) => ({ method: 'GET', url: '/measure', headers: { cookie } }))
  let next = 0
  const jars = Array.from({ length: BATCH }, () => ({ method: 'GET', url: '/measure', headers: { cookie: built.cookie } }))
  const tally = { requests: 0, status: 0, setCookie: false, non2xx: 0 }
  return {
    tally,
    /** Sends one batch and waits for it; `measured` batches are added to the tally. */
    async batch (measured) {
      const sent = []
      for (let i = 0; i < BATCH; i++) sent.push(built.app.inject(built.chained ? jars[i] : inputs[next++ % inputs.length]))
      const responses = await Promise.all(sent)
      for (const [i, response] of responses.entries()) {
        if (built.chained) jars[i].headers = { cookie: setCookiePair(response.headers['set-cookie']) ?? jars[i].headers.cookie }
        if (!measured) continue
        tally.requests++
        tally.status = response.statusCode
        if (response.statusCode < 200 || response.statusCode > 299) tally.non2xx++
        if (response.headers['set-cookie'] !== undefined) tally.setCookie = true
      }
    }
  }
}
