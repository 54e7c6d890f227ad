import { execFile, execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { buildVariant } from './variants.js'
import { BATCH, createInjector } from './inject.js'

// Instruction mode (`npm run bench -- --instructions`): CPU instructions per request, counted by
// valgrind's callgrind, which counts what the CPU executes rather than timing it. On a shared
// 2-vCPU machine CPU-µs figures move by ±10–20 µs between runs; these counts move far less, but
// not to nothing: a single-cookie variant repeats within about 1 %, while a population window
// (GC work from thousands of sessions) moved by up to 12k (3.5 %) between two runs, baselines
// included. Compare variants within one run, and use --rounds 3 (medians) before deciding.
//
// Each variant is driven by inject() in its own process under callgrind, yielding to the event
// loop after each batch: the first half of the warm-up with counting off, a full GC (gc(), node
// --expose-gc: the set-up's garbage is collected outside the window, not by whichever variant
// happens to reach a major GC inside it), the second half of the warm-up, then N measured
// requests with counting switched on and off around them by callgrind_control. The warm-up goes
// on after the GC because a full GC deoptimizes code that embeds objects it found dead
// ("weak objects" in --trace-deopt): with the GC right before the window, V8 recompiled some
// 80 functions inside it, 67k–135k instructions a request of TurboFan work that varied from
// variant to variant (bare Fastify 346k → 237k a request once the warm-up resumed after the GC).
// After them, the client's cookies dropped and another gc(), the process's heapUsed is reported
// (the verified-cookie memory, a session store: what the server keeps). Instructions are not time
// (a cache miss costs more than an add), so this complements the socket figures; it does not
// replace them.
//
// A cold variant is given one cookie per request (warm-up and measured), so no cookie ever comes
// back. Population variants (pop-*) follow the seeded sequence of bench/population.js, its
// options in the BENCH_POPULATION environment variable that run.js sets.
//
// This file is both the driver (imported by run.js) and the child it runs under valgrind:
//   node --expose-gc bench/instructions.js <variant> <warm-up requests> <measured requests>

const SELF = fileURLToPath(import.meta.url)
/** The share of the warm-up run after the full GC (see above), so V8 re-optimizes before counting. */
const REWARM_SHARE = 0.5
const run = promisify(execFile)

/** Counts one variant under callgrind; resolves to a result shaped like the other modes'. */
export async function measureInstructions (name, { warm, requests }) {
  const started = performance.now()
  const counted = await count(name, warm, requests)
  if (counted.skip !== undefined) return { skip: counted.skip }
  return {
    ...counted.info,
    requests,
    warm,
    instructionsPerRequest: counted.instructions / requests,
    seconds: Math.round((performance.now() - started) / 100) / 10
  }
}

/** Fails early, with the fix, when valgrind is missing. */
export async function checkValgrind () {
  try {
    await run('valgrind', ['--version'])
    await run('callgrind_control', ['--version'])
  } catch {
    throw new Error('--instructions needs valgrind and its callgrind_control (Debian: apt-get install -y valgrind)')
  }
}

async function count (name, warm, measured) {
  const { stdout, stderr } = await run('valgrind', [
    '--tool=callgrind', '--instr-atstart=no', '--callgrind-out-file=/dev/null',
    process.execPath, '--predictable', '--expose-gc', SELF, name, String(warm), String(measured)
  ], { maxBuffer: 1 << 24 })
  const info = JSON.parse(stdout.trim().split('\n').at(-1))
  if (info.skip !== undefined) return { skip: info.skip }
  const collected = /Collected\s*:\s*([\d,]+)/.exec(stderr)
  if (collected === null) throw new Error(`callgrind printed no instruction count for ${name}:\n${stderr.slice(-2000)}`)
  return { info, instructions: Number(collected[1].replaceAll(',', '')) }
}

async function child ([name, warmText, measuredText]) {
  const setupStarted = performance.now()
  const built = await buildVariant(name, { coldCookies: Number(warmText) + Number(measuredText) })
  if (built.skip !== undefined) {
    console.log(JSON.stringify({ skip: built.skip }))
    return
  }
  await built.app.ready()
  const injector = createInjector(built)
  built.cookies = undefined // the injector keeps them its own way (inject.js)
  // After each batch the loop yields to the event loop, as a server does between requests (and as
  // inprocess.js does): inject() keeps each request's objects alive until the loop turns, so a
  // loop that never yields would carry every request of the run in its heap (about 9.5 KB each)
  // and have the GC copy and mark them.
  const drive = async (total) => {
    for (let done = 0; done < total; done += BATCH) {
      await injector.batch()
      await new Promise(setImmediate)
    }
  }
  /** A full GC once the event loop has turned (what inject() still held is then garbage). */
  const fullGc = async () => {
    await new Promise((resolve) => setTimeout(resolve, 10))
    globalThis.gc()
  }
  const setupSeconds = (performance.now() - setupStarted) / 1000
  const warm = Number(warmText)
  await drive(warm - Math.floor(warm * REWARM_SHARE / BATCH) * BATCH)
  await fullGc()
  await drive(Math.floor(warm * REWARM_SHARE / BATCH) * BATCH)
  injector.resetTally()
  // Returns once callgrind has switched: only the measured requests are counted.
  const instrument = (state) => execFileSync('callgrind_control', ['--instr', state, String(process.pid)], { stdio: 'ignore' })
  instrument('on')
  await drive(Number(measuredText))
  instrument('off')
  const cookieBytes = built.cookie.length
  injector.release()
  built.population = built.cookies = built.cookie = undefined
  await fullGc()
  const heapUsed = process.memoryUsage().heapUsed
  await built.app.close()
  const { requests, status, setCookie, setCookies, non2xx } = injector.tally
  console.log(JSON.stringify({
    status,
    setCookie,
    setCookieShare: setCookies / requests,
    non2xx,
    errors: 0,
    cookieBytes,
    heapUsed,
    setupSeconds: Math.round(setupSeconds * 10) / 10
  }))
}

if (process.argv[1] === SELF) await child(process.argv.slice(2))
