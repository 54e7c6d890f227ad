import { buildVariant } from './variants.js'

// One benchmarked server: `node bench/server.js <variant>`. Listens on 127.0.0.1, a random port,
// and prints one JSON line for run.js: { port, cookie, cookies?, chained?, population? } or
// { skip } when the variant cannot run (cookies: a cold variant's list to rotate through; chained:
// clients send back the cookie they were last given; population: a pop-* variant's cookie per
// user, { jars }). Each line `heap` on stdin is answered with a line { heapUsed } measured after
// a full GC (run under node --expose-gc).
// It is a process of its own so that /proc/<pid>/stat counts exactly this app's CPU time.

const name = process.argv[2]
if (name === undefined) {
  console.error('usage: node bench/server.js <variant>')
  process.exit(2)
}

const built = await buildVariant(name)
if (built.skip !== undefined) {
  console.log(JSON.stringify({ skip: built.skip }))
  process.exit(0)
}

const { app, cookie, chained } = built
let { cookies, population } = built
await app.listen({ host: '127.0.0.1', port: 0 })

// Exiting normally (not killed) lets `node --cpu-prof` write its profile.
const stop = () => app.close().then(() => process.exit(0))
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
// If run.js dies, its end of our stdin closes: never linger as an orphan.
process.stdin.on('end', stop).resume()
process.stdin.setEncoding('utf8').on('data', (text) => {
  for (const command of text.split('\n')) {
    if (command !== 'heap') continue
    globalThis.gc?.()
    console.log(JSON.stringify({ heapUsed: process.memoryUsage().heapUsed }))
  }
})

console.log(JSON.stringify({ port: app.server.address().port, cookie, cookies, chained, population }))
// The cookies are the client's: once handed over, the server keeps no reference to them (heap).
cookies = population = built.cookies = built.population = undefined
