import { buildVariant } from './variants.js'
import { createInjector } from './inject.js'

// In-process mode: `node bench/inprocess.js <seconds per variant> <variant>...` builds every
// variant's app in this one process and drives them with inject() (no sockets, no HTTP parser,
// no client competing for the cores). Variants take turns in short slices, so a neighbour's
// burst on a shared machine lands on all of them alike; CPU time is summed per variant over its
// slices. light-my-request's own cost is in every variant, so differences between variants are
// the plugins' cost. Prints one JSON line: { results: { name: {...} }, skipped: { name: why } }.

/** Batches per slice (after each batch the loop yields so timers and I/O still run): short enough to interleave finely, long enough for getrusage's µs clock. */
const SLICE_BATCHES = 16

const [secondsText, ...names] = process.argv.slice(2)
const seconds = Number(secondsText)
if (!(seconds > 0) || names.length === 0) {
  console.error('usage: node bench/inprocess.js <seconds per variant> <variant>...')
  process.exit(2)
}

const yieldToLoop = () => new Promise((resolve) => setImmediate(resolve))

const runs = []
const skipped = {}
for (const name of names) {
  const built = await buildVariant(name)
  if (built.skip !== undefined) {
    skipped[name] = built.skip
    continue
  }
  await built.app.ready()
  runs.push({ name, app: built.app, cookieBytes: built.cookie.length, injector: createInjector(built), cpu: 0, wall: 0 })
}

async function slice (run, measured) {
  const cpuBefore = process.cpuUsage()
  const wallBefore = performance.now()
  for (let b = 0; b < SLICE_BATCHES; b++) {
    await run.injector.batch()
    await yieldToLoop()
  }
  if (!measured) return
  const cpu = process.cpuUsage(cpuBefore)
  run.cpu += cpu.user + cpu.system
  run.wall += (performance.now() - wallBefore) * 1000
}

// Warm-up: every app a few slices, so the JIT has seen them all before anything counts.
for (let i = 0; i < 5; i++) for (const run of runs) await slice(run, false)
for (const run of runs) run.injector.resetTally()

const end = performance.now() + seconds * 1000 * runs.length
while (performance.now() < end) {
  for (const run of runs) await slice(run, true)
}
for (const run of runs) await run.app.close()

const results = {}
for (const run of runs) {
  const { requests, status, setCookie, setCookies, non2xx } = run.injector.tally
  results[run.name] = {
    status,
    setCookie,
    setCookieShare: setCookies / requests,
    cookieBytes: run.cookieBytes,
    requests,
    rps: requests / (run.wall / 1e6),
    cpuPerRequest: run.cpu / requests,
    wallPerRequest: run.wall / requests,
    errors: 0,
    non2xx
  }
}
console.log(JSON.stringify({ results, skipped }))
