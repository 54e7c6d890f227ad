// Drives a built variant with inject(), for the two modes without sockets (in-process and
// instructions): GET /measure with the variant's cookie, or its cookies in turn for the cold
// variants (every variant goes through the same rotation, so the loop costs them all the same),
// BATCH requests in flight at once, and a tally of what the measured responses looked like.

/** Requests in flight at once. */
export const BATCH = 8

export function createInjector (built) {
  const cookies = built.cookies ?? [built.cookie]
  const inputs = cookies.map((cookie) => ({ method: 'GET', url: '/measure', headers: { cookie } }))
  let next = 0
  const tally = { requests: 0, status: 0, setCookie: false, non2xx: 0 }
  return {
    tally,
    /** Sends one batch and waits for it; `measured` batches are added to the tally. */
    async batch (measured) {
      const sent = []
      for (let i = 0; i < BATCH; i++) sent.push(built.app.inject(inputs[next++ % inputs.length]))
      for (const response of await Promise.all(sent)) {
        if (!measured) continue
        tally.requests++
        tally.status = response.statusCode
        if (response.statusCode < 200 || response.statusCode > 299) tally.non2xx++
        if (response.headers['set-cookie'] !== undefined) tally.setCookie = true
      }
    }
  }
}
