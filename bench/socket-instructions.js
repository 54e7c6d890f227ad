import { execFileSync } from 'node:child_process'
import { socketLoad, startServer, stopServer } from './measure.js'

// Instruction mode over real sockets (`npm run bench -- --instructions --via sockets`): the
// variant's server (bench/server.js) runs under callgrind, and the load comes from autocannon in
// this process, so what is counted is the server's work alone: its HTTP parsing and writing,
// Fastify, the plugin. inject() (instructions.js) counts light-my-request inside the same process
// too, which costs about 135k instructions a request (a bare Fastify request: 218k through
// inject, 83k over a socket) and several thousand for every response header (a `Vary` header:
// 6.1k through inject, 1.6k over a socket): figures that weigh headers as no production server
// does. Same steps as instructions.js: the first half of the warm-up, a full GC (the server's
// `heap` command runs gc()), the second half, then the counted requests with callgrind switched
// on and off around them, then the heap after another full GC.

/** Connections in flight, as instructions.js has BATCH requests in flight. */
const CONNECTIONS = 8
const CALLGRIND = ['valgrind', '--tool=callgrind', '--instr-atstart=no', '--callgrind-out-file=/dev/null']

/** Counts one variant's server under callgrind; resolves to a result shaped like the other modes'. */
export async function measureSocketInstructions (name, { warm, requests }) {
  const started = performance.now()
  const server = await startServer(name, ['--predictable'], CALLGRIND)
  if (server.skip !== undefined) return { skip: server.skip }
  const setupSeconds = (performance.now() - started) / 1000
  let result, heapUsed, status, setCookie, tally
  try {
    const load = socketLoad(server, CONNECTIONS)
    ;({ status, setCookie } = await load.probe())
    await load.run({ amount: Math.floor(warm / 2) })
    await server.heap()
    await load.run({ amount: warm - Math.floor(warm / 2) })
    load.reset()
    const instrument = (state) => execFileSync('callgrind_control', ['--instr', state, String(server.child.pid)], { stdio: 'ignore' })
    instrument('on')
    result = await load.run({ amount: requests })
    instrument('off')
    tally = { ...load.tally }
    heapUsed = await server.heap()
  } finally {
    await stopServer(server.child)
  }
  const collected = /Collected\s*:\s*([\d,]+)/.exec(server.stderr())
  if (collected === null) throw new Error(`callgrind printed no instruction count for ${name}:\n${server.stderr().slice(-2000)}`)
  const answered = result['2xx'] + result.non2xx
  return {
    status,
    setCookie: setCookie || tally.setCookies > 0,
    setCookieShare: tally.answered > 0 ? tally.setCookies / tally.answered : NaN,
    cookieBytes: server.cookie.length,
    requests: answered,
    warm,
    instructionsPerRequest: Number(collected[1].replaceAll(',', '')) / answered,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    heapUsed,
    setupSeconds: Math.round(setupSeconds * 10) / 10,
    seconds: Math.round((performance.now() - started) / 100) / 10
  }
}
