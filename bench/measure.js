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

/** Starts `server.js <variant>`; resolves to { child, port, cookie, cookies?, chained, population?, heap() } or { skip }. */
export async function startServer (variant, nodeArgs = []) {
  const child = spawn(process.execPath, ['--expose-gc', ...nodeArgs, SERVER, variant], { stdio: ['pipe', 'pipe', 'inherit'] })
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
  return { child, port: info.port, cookie: info.cookie, cookies: info.cookies, chained: info.chained === true, population: info.population, heap }
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

function load (port, nextCookie, seconds, chained) {
  // A chained variant's connections each keep the cookie they were last given (autocannon keeps
  // one context per connection), starting from the seeded one.
  const cookieFor = chained ? (context) => (context.cookie ??= nextCookie()) : () => nextCookie()
  return autocannon({
    url: `http://127.0.0.1:${port}/measure`,
    // autocannon rebuilds a request that has a setupRequest before every send. Single-cookie
    // variants go the same way, so the client costs every variant the same on a shared machine.
    requests: [{
      setupRequest: (request, context) => ({ ...request, headers: { ...request.headers, cookie: cookieFor(context) } }),
      onResponse: chained ? (status, body, context, headers) => { context.cookie = setCookiePair(headers['set-cookie']) ?? context.cookie } : undefined
    }],
    connections: CONNECTIONS,
    pipelining: 1,
    duration: seconds
  })
}

/** Warm-up then a measured run against a started server; `cookies` (cold variants) rotate per request. */
export async function measureSocket (server, { duration, warmup }) {
  if (server.population !== undefined) return measurePopulationSocket(server, { duration, warmup })
  const { child, port, cookie, cookies = [cookie], chained } = server
  const nextCookie = rotation(cookies)
  const { status, setCookie } = await probe(port, nextCookie())
  if (warmup > 0) await load(port, nextCookie, warmup, chained)
  const before = processCpuMicros(child.pid)
  const result = await load(port, nextCookie, duration, chained)
  const cpu = processCpuMicros(child.pid) - before
  return { status, setCookie, ...await figures(server, result, cpu, duration, cookie) }
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

/**
 * A population variant over sockets: every request, on whichever connection, is the next of the
 * seeded sequence (warm-up and measured run continue one sequence), carrying that user's latest
 * cookie; the Set-Cookie of its answer replaces that user's cookie, as a browser would. Answers
 * arrive in whatever order the 50 connections get them, so which of two overlapping requests of
 * one user wins can vary between runs: the requests sent do not.
 */
async function measurePopulationSocket (server, { duration, warmup }) {
  const { child, port, cookie } = server
  const jars = server.population.jars.slice()
  const next = createSequence(currentPopulationOptions())
  const { status } = await probe(port, jars[0], '/read')
  const tally = { setCookies: 0, answered: 0 }
  const load = (seconds) => autocannon({
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
    connections: CONNECTIONS,
    pipelining: 1,
    duration: seconds
  })
  if (warmup > 0) await load(warmup)
  tally.setCookies = tally.answered = 0
  const before = processCpuMicros(child.pid)
  const result = await load(duration)
  const cpu = processCpuMicros(child.pid) - before
  return {
    status,
    setCookie: tally.setCookies > 0,
    setCookieShare: tally.answered > 0 ? tally.setCookies / tally.answered : NaN,
    ...await figures(server, result, cpu, duration, cookie)
  }
}
