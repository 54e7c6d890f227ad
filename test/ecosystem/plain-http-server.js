import { createServer } from 'node:http'
import { createSessionCodec } from '../../dist/plugin/index.js'

// A service with no Fastify at all (a plain node:http server, as a queue worker or an old
// service would be), reading and writing the Fastify app's session cookie with the standalone
// codec and the same secret. Prints {"port": n} once it accepts connections.

const codec = createSessionCodec({ secret: process.env.SESSION_SECRET, maxCookies: 3 })

/** name → value from a Cookie header (enough for this service; the app uses @fastify/cookie). */
function cookiesOf (header = '') {
  return Object.fromEntries(header.split(';').map((pair) => pair.trim().split('=')).filter(([name]) => name))
}

createServer((request, response) => {
  response.setHeader('content-type', 'application/json')
  if (request.url === '/whoami') {
    const session = codec.decodeCookies(cookiesOf(request.headers.cookie))
    response.end(JSON.stringify(session === null ? null : { user: session.data.user, sessionId: session.sessionId }))
    return
  }
  if (request.url?.startsWith('/magic-link/')) {
    // A magic link: the service mints a logged-in session the Fastify app accepts.
    const user = decodeURIComponent(request.url.slice('/magic-link/'.length))
    response.setHeader('set-cookie', codec.split(codec.encode({ user })).map(([name, value]) => `${name}=${value}; Path=/; HttpOnly`))
    response.end('{}')
    return
  }
  response.statusCode = 404
  response.end('null')
}).listen(0, '127.0.0.1', function () {
  process.stdout.write(`${JSON.stringify({ port: this.address().port })}\n`)
})
