import type { FastifyRequest } from 'fastify'

// Who is asking: a browser (HTML pages, forms with a CSRF token) or curl (the tutorial's plain
// text). Both answers are decided from headers, so routes that use them say `Vary` on those.

/** Whether the client prefers a page to plain text: browsers list text/html, curl sends *\/*. */
export function wantsHtml (request: FastifyRequest): boolean {
  const accept = request.headers.accept
  if (accept === undefined) return false
  return accept.split(',').some((range) => {
    const [type, ...parameters] = range.split(';').map((part) => part.trim().toLowerCase())
    if (type !== 'text/html' && type !== 'application/xhtml+xml') return false
    const q = parameters.find((parameter) => parameter.startsWith('q='))
    return q === undefined || Number(q.slice(2)) > 0
  })
}

/**
 * Whether a browser sent the request, whatever page made it. Browsers send Sec-Fetch-Site with
 * every request (Chromium 76+, Firefox 90+, Safari 16.4+) and no page can remove or change it;
 * a navigation also asks for HTML, also in older browsers. Accept alone is not enough: an
 * `<img src>` or a script's fetch() asks for something else, and fetch() may set Accept to
 * anything. curl sends neither signal.
 */
export function fromBrowser (request: FastifyRequest): boolean {
  return request.headers['sec-fetch-site'] !== undefined || wantsHtml(request)
}
