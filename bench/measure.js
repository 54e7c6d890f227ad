import { execFileSync, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import autocannon from 'autocannon'
import { setCookiePair } from './variants.js'
import { createSequence, currentPopulationOptions, pathOf } from './population.js'

// Socket mode: one variant's server in its own process, a warm-up, then one measured autocannon
// run, with the server's own CPU time read from /proc around the measured run only, and its heap
// after a full GC once the run is over.

const SERVER = fileURLToPath(new URL('./server.js', import.meta.url))
const CONNECTIONS = 50

const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

/** utime + stime of a process, in µs (resolution: one clock tick, usually 10 ms). */
export function processCpuMicros (pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // The command name (field 2) may hold spaces or ')'; the numeric fields follow its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12]) // fields 14 and 15 of proc(5)
  return ticks * 1e6 / TICKS_PER_SECOND
}

/**
 * Starts `server.js <variant>`; resolves to { child, port, cookie, cookies?, chained, population?,
 * heap(), stderr() } or { skip }. `wrapper`: a command the server runs under (valgrind, for
 * socket-instructions.js); its stderr is then kept for `stderr()` instead of shown.
 */
export async function startServer (variant, nodeArgs = [], wrapper = []) {
  const [command, ...args] = [...wrapper, process.execPath, '--expose-gc', ...nodeArgs, SERVER, variant]
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', wrapper.length > 0 ? 'pipe' : 'inherit'] })
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (text) => { stderr += text })
  // The server answers in lines: its start-up line, then one per `heap` asked for.
  const waiting = []
  const lines = createInterface({ input: child.stdout, crlfDelay: Infinity })
  lines.on('line', (line) => waiting.shift()?.resolve(line))
  const nextLine = () => new Promise((resolve, reject) => waiting.push({ resolve, reject }))
  child.once('exit', (code) => {
    for (const { reject } of waiting.splice(0)) reject(new Error(`server for ${variant} exited with ${code}`))
  })
  child.once('error', (error) => {
    for (const { reject } of waiting.splice(0)) reject(error)
  })
  const info = JSON.parse(await nextLine())
  if (info.skip !== undefined) {
    await stopServer(child)
    return { skip: info.skip }
  }
  /** The server's heapUsed after a full GC. */
  const heap = async () => {
    const answer = nextLine()
    child.stdin.write('heap\n')
    return JSON.parse(await answer).heapUsed
  }
  return { child, port: info.port, cookie: info.cookie, cookies: info.cookies, chained: info.chained === true, population: info.population, heap, stderr: () => stderr }
}

export async function stopServer (child) {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

/** One request as the load will send it: its status and whether it carried Set-Cookie. */
export async function probe (port, cookie, path = '/measure') {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { cookie } })
  await response.arrayBuffer()
  return { status: response.status, setCookie: response.headers.getSetCookie().length > 0 }
}

/**
 * The cookie each request carries, in turn. One rotation serves every connection, the probe, the
 * warm-up and the measured run alike: restarting it between runs would bring back cookies the
 * server verified moments ago, still in its verified-cookie memory.
 */
function rotation (cookies) {
  let next = 0
  return () => cookies[next++ % cookies.length]
}

/**
 * The load a started server gets: `run(limit)` sends requests over `connections` connections
 * for `{ duration }` seconds or `{ amount }` requests, and resolves to autocannon's result;
 * `tally` counts the answers since `reset()`. One cookie rotation (or, for a population, one
 * request sequence) runs through every call, so a warm-up and a measured run continue it.
 */
export function socketLoad (server, connections = CONNECTIONS) {
  return server.population === undefined ? singleLoad(server, connections) : populationLoad(server, connections)
}

function singleLoad ({ port, cookie, cookies = [cookie], chained }, connections) {
  const nextCookie = rotation(cookies)
  const tally = { setCookies: 0, answered: 0 }
  // A chained variant's connections each keep the cookie they were last given (autocannon keeps
  // one context per connection), starting from the seeded one.
  const cookieFor = chained ? (context) => (context.cookie ??= nextCookie()) : () => nextCookie()
  const run = (limit) => autocannon({
    url: `http://127.0.0.1:${port}/measure`,
    // autocannon rebuilds a request that has a setupRequest before every send. Single-cookie
    // variants go the same way, so the client costs every variant the same on a shared machine.
    requests: [{
      setupRequest: (request, context) => ({ ...request, headers: { ...request.headers, cookie: cookieFor(context) } }),
      onResponse: (status, body, context, headers) => {
        const pair = setCookiePair(headers['set-cookie'])
        tally.answered++
        if (pair === undefined) return
        tally.setCookies++
        if (chained) context.cookie = pair
      }
    }],
    connections,
    pipelining: 1,
    ...limit
  })
  return { run, tally, reset: () => { tally.setCookies = tally.answered = 0 }, probe: () => probe(port, nextCookie()) }
}

/**
 * A population variant over sockets: every request, on whichever connection, is the next of the
 * seeded sequence (warm-up and measured run continue one sequence), carrying that user's latest
 * cookie; the Set-Cookie of its answer replaces that user's cookie, as a browser would. Answers
 * arrive in whatever order the connections get them, so which of two overlapping requests of
 * one user wins can vary between runs: the requests sent do not.
 */
function populationLoad ({ port, population }, connections) {
  const jars = population.jars.slice()
  const next = createSequence(currentPopulationOptions())
  const tally = { setCookies: 0, answered: 0 }
  const run = (limit) => autocannon({
    url: `http://127.0.0.1:${port}/read`,
    requests: [{
      // pipelining 1: a connection has one request in flight, so its context knows whose it is.
      setupRequest: (request, context) => {
        const drawn = next()
        context.user = drawn >> 1
        return { ...request, method: 'GET', path: pathOf(drawn), headers: { ...request.headers, cookie: jars[context.user] } }
      },
      onResponse: (status, body, context, headers) => {
        const pair = setCookiePair(headers['set-cookie'])
        tally.answered++
        if (pair === undefined) return
        jars[context.user] = pair
        tally.setCookies++
      }
    }],
    connections,
    pipelining: 1,
    ...limit
  })
  return { run, tally, reset: () => { tally.setCookies = tally.answered = 0 }, probe: () => probe(port, jars[0], '/read') }
}

/** Warm-up then a measured run against a started server; `cookies` (cold variants) rotate per request. */
export async function measureSocket (server, { duration, warmup }) {
  const load = socketLoad(server)
  const { status, setCookie } = await load.probe()
  if (warmup > 0) await load.run({ duration: warmup })
  load.reset()
  const before = processCpuMicros(server.child.pid)
  const result = await load.run({ duration })
  const cpu = processCpuMicros(server.child.pid) - before
  return {
    status,
    setCookie: setCookie || load.tally.setCookies > 0,
    setCookieShare: load.tally.answered > 0 ? load.tally.setCookies / load.tally.answered : NaN,
    ...await figures(server, result, cpu, duration, server.cookie)
  }
}

/** What both socket modes report of a measured autocannon run: its rate, latency, CPU and errors, and the server's heap. */
async function figures (server, result, cpu, duration, cookie) {
  const answered = result['2xx'] + result.non2xx
  return {
    cookieBytes: cookie.length,
    requests: answered,
    rps: answered / duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuPerRequest: answered > 0 ? cpu / answered : NaN,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    heapUsed: await server.heap()
  }
}
