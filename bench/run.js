import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs, promisify } from 'node:util'
import { VARIANTS, isPopulation } from './variants.js'
import { measureSocket, startServer, stopServer } from './measure.js'
import { checkValgrind, measureInstructions } from './instructions.js'
import { measureSocketInstructions } from './socket-instructions.js'
import { describePopulation, populationOptions, sharePopulationOptions } from './population.js'
import { checkPopulationTargets, checkTargets, markdownTable, populationTable, summarize, targetsMarkdown } from './report.js'

// `npm run bench`: every variant in its own process, interleaved over rounds (a b c … a b c …)
// so slow drifts of a shared machine hit all variants alike; medians per variant.
//
//   --only a,b      variants whose name starts with one of these; bare and cookie run with any
//                   other variant, pop-bare and pop-cookie with any population one (pop-*), so
//                   `--only pop-` runs the population scenario alone
//   --rounds N      rounds (default 5)
//   --duration S    measured seconds per variant and round (default 5)
//   --warmup S      unmeasured seconds before each socket run (default 2)
//   --inprocess     inject() instead of sockets: one process per round, variants take turns
//                   in short slices; --duration is then seconds per variant per round
//   --instructions  CPU instructions per request under valgrind (steady where µs are not);
//                   one round by default; --requests N measured per variant (10000), after
//                   2N uncounted warm-up requests; two variants at a time
//   --via M         with --instructions: `inject` (default: inject() in the counted process,
//                   bench/instructions.js) or `sockets` (the server alone under valgrind, loaded
//                   over 127.0.0.1 by autocannon in this process: bench/socket-instructions.js)
//   --cpu-prof DIR  run every server under `node --cpu-prof`, profiles into DIR
//   --out FILE      JSON results (default bench/results.json, results-inprocess.json,
//                   results-instructions.json)
//
// The population scenario (variants pop-*, bench/population.js; issue 17): N users log in once
// during set-up on a second app instance with the same secret, then a seeded request sequence,
// the same for every variant, picks a user per request, sends that user's latest cookie, reads
// two keys or increments a counter, and keeps any Set-Cookie for that user. Printed as a table
// of its own: cost per request, over pop-bare and pop-cookie, secure-session's overhead ÷ ours,
// and the heap after the run (heapUsed after a full GC; not in --inprocess, one shared process).
//   --users N         users (default 10000)
//   --mix M           uniform (default) or zipf (s = 1: user k is picked ∝ 1/(k+1))
//   --seed S          seed of the request sequence (default 1)
//   --writes F        share of requests that increment the counter (default 0.1)
//   --pop-requests N  --instructions: counted requests per population variant (default 6000;
//                     30000 with --via sockets, where a request allocates a few times less and
//                     a window of 6000 held a major GC or none, by luck)
//   --pop-warmup N    --instructions: uncounted requests before them (default 24000: with short
//                     warm-ups V8 is still compiling in the counted window, ~100k instructions
//                     a request in every variant)
// e.g. npm run bench -- --instructions --only pop- --mix zipf
//
// In the instruction mode every variant yields to the event loop after each batch of requests
// and gets a full GC (gc()) right before its counted window; a cold variant gets one cookie per
// request (warm-up and counted), issued by a second instance, so none is ever seen twice.

const { values: flags } = parseArgs({
  options: {
    only: { type: 'string' },
    rounds: { type: 'string' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    inprocess: { type: 'boolean', default: false },
    instructions: { type: 'boolean', default: false },
    via: { type: 'string', default: 'inject' },
    requests: { type: 'string', default: '10000' },
    users: { type: 'string', default: '10000' },
    mix: { type: 'string', default: 'uniform' },
    seed: { type: 'string', default: '1' },
    writes: { type: 'string', default: '0.1' },
    'pop-requests': { type: 'string' },
    'pop-warmup': { type: 'string', default: '24000' },
    'cpu-prof': { type: 'string' },
    out: { type: 'string' }
  }
})

const { inprocess, instructions, via } = flags
if (inprocess && instructions) {
  console.error('--inprocess and --instructions are separate modes: pick one')
  process.exit(2)
}
if (via !== 'inject' && via !== 'sockets') {
  console.error(`--via must be inject or sockets, got ${via}`)
  process.exit(2)
}
const countInstructions = via === 'sockets' ? measureSocketInstructions : measureInstructions
// Instruction counts repeat to well under 1 %: one round is enough unless asked for more.
const rounds = positive('rounds', flags.rounds ?? (instructions ? '1' : '5'))
const duration = positive('duration', flags.duration)
const requests = Math.ceil(positive('requests', flags.requests) / 8) * 8
const popRequests = Math.ceil(positive('pop-requests', flags['pop-requests'] ?? (via === 'sockets' ? '30000' : '6000')) / 8) * 8
const popWarmup = Math.ceil(positive('pop-warmup', flags['pop-warmup']) / 8) * 8
let population
try {
  population = populationOptions({ users: Number(flags.users), mix: flags.mix, seed: Number(flags.seed), writes: Number(flags.writes) })
} catch (error) {
  console.error(error.message)
  process.exit(2)
}
// Every process that builds or drives a population variant inherits these.
sharePopulationOptions(population)
const warmup = Number(flags.warmup)
const nodeArgs = flags['cpu-prof'] === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${flags['cpu-prof']}`]
const resultsFile = instructions ? `./results-instructions${via === 'sockets' ? '-sockets' : ''}.json` : inprocess ? './results-inprocess.json' : './results.json'
const out = flags.out ?? fileURLToPath(new URL(resultsFile, import.meta.url))
if (instructions) await checkValgrind().catch((error) => { console.error(error.message); process.exit(2) })

function positive (name, text) {
  const value = Number(text)
  if (!(value > 0)) {
    console.error(`--${name} must be a positive number, got ${text}`)
    process.exit(2)
  }
  return value
}

function selected () {
  if (flags.only === undefined) return VARIANTS.map((v) => v.name)
  const prefixes = flags.only.split(',').map((p) => p.trim()).filter(Boolean)
  const chosen = VARIANTS.map((v) => v.name).filter((name) => prefixes.some((p) => name.startsWith(p)))
  // Each scenario's baselines come along with it.
  const baselines = [
    ...(chosen.some((name) => !isPopulation(name)) ? ['bare', 'cookie'] : []),
    ...(chosen.some(isPopulation) ? ['pop-bare', 'pop-cookie'] : [])
  ]
  const names = VARIANTS.map((v) => v.name).filter((name) => baselines.includes(name) || chosen.includes(name))
  const unknown = prefixes.filter((p) => !names.some((name) => name.startsWith(p)))
  if (unknown.length > 0) {
    console.error(`--only: no variant starts with ${unknown.join(', ')}; known: ${VARIANTS.map((v) => v.name).join(', ')}`)
    process.exit(2)
  }
  return names
}

const INPROCESS = fileURLToPath(new URL('./inprocess.js', import.meta.url))
const run = promisify(execFile)

async function measureOnce (name) {
  const server = await startServer(name, nodeArgs)
  if (server.skip !== undefined) return server
  try {
    return await measureSocket(server, { duration, warmup })
  } finally {
    await stopServer(server.child)
  }
}

/** In-process mode: one process per round runs every variant, taking turns in short slices. */
async function measureRound (names) {
  const { stdout } = await run(process.execPath, [...nodeArgs, INPROCESS, String(duration), ...names],
    { maxBuffer: 1 << 20 })
  const { results, skipped } = JSON.parse(stdout.trim().split('\n').at(-1))
  for (const [name, skip] of Object.entries(skipped)) results[name] = { skip }
  return results
}

/** Like Promise.all(items.map(fn)), two at a time. */
async function inPairs (items, fn) {
  const results = []
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      results[i] = await fn(items[i])
    }
  }
  await Promise.all([worker(), worker()])
  return results
}

function record (round, name, result) {
  if (result.skip !== undefined) {
    skipped[name] = result.skip
    console.error(`skipped ${name}: ${result.skip}`)
    return
  }
  runs[name].push(result)
  const cost = instructions
    ? `${(result.instructionsPerRequest / 1000).toFixed(1)}k instructions/req`
    : `${Math.round(result.rps)} req/s, ${result.cpuPerRequest.toFixed(1)} µs CPU/req`
  const heap = result.heapUsed === undefined ? '' : `, heap ${(result.heapUsed / 1048576).toFixed(1)} MB`
  const time = result.seconds === undefined ? '' : `, ${result.seconds} s (set-up ${result.setupSeconds} s)`
  console.error(`round ${round}/${rounds} ${name}: ${cost}, status ${result.status}, Set-Cookie ${result.setCookie ? 'yes' : 'no'}${heap}${time}`)
}

let names = selected()
const runs = Object.fromEntries(names.map((name) => [name, []]))
const skipped = {}

for (let round = 1; round <= rounds; round++) {
  if (inprocess) {
    const results = await measureRound(names)
    for (const name of names) record(round, name, results[name])
  } else if (instructions) {
    // Counts do not depend on what else runs, so variants can share the cores.
    const results = await inPairs(names, (name) => countInstructions(name, isPopulation(name)
      ? { warm: popWarmup, requests: popRequests }
      : { warm: 2 * requests, requests }))
    names.forEach((name, i) => record(round, name, results[i]))
  } else {
    for (const name of names) record(round, name, await measureOnce(name))
  }
  names = names.filter((name) => skipped[name] === undefined)
  for (const name of Object.keys(skipped)) delete runs[name]
}

const summary = summarize(runs)
const single = Object.fromEntries(Object.entries(summary).filter(([name]) => !isPopulation(name)))
const populated = Object.fromEntries(Object.entries(summary).filter(([name]) => isPopulation(name)))
const hasSingle = Object.keys(single).length > 0
const hasPopulation = Object.keys(populated).length > 0
const targets = [
  ...(hasSingle ? checkTargets(single, { instructions }) : []),
  ...(hasPopulation ? checkPopulationTargets(populated, { instructions, options: population }) : [])
]
const mode = instructions
  ? `instructions (callgrind, ${via === 'sockets' ? 'the server process over sockets, 8 connections' : 'inject'}, node --predictable)`
  : inprocess ? 'in-process (inject, variants interleaved in slices)' : 'sockets (autocannon, 50 connections, pipelining 1)'
const length = instructions
  ? [
      ...(hasSingle ? [`${2 * requests} uncounted warm-up + ${requests} counted requests per variant`] : []),
      ...(hasPopulation ? [`${popWarmup} uncounted warm-up + ${popRequests} counted requests per population variant`] : [])
    ].join(', ')
  : `${duration} s${inprocess ? ' per variant' : ` (warm-up ${warmup} s)`}`

console.log(`\n${mode}; ${rounds} round${rounds === 1 ? '' : 's'} × ${length}; medians; ` +
  `node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}\n`)
if (hasSingle) console.log(markdownTable(single, { inprocess, instructions }))
if (hasPopulation) {
  console.log(`${hasSingle ? '\n' : ''}Population: ${describePopulation(population)}\n`)
  console.log(populationTable(populated, { inprocess, instructions }))
}
if (Object.keys(skipped).length > 0) {
  console.log(`\nSkipped:\n${Object.entries(skipped).map(([name, why]) => `- ${name}: ${why}`).join('\n')}`)
}
console.log(`\nTargets:\n${targetsMarkdown(targets)}`)

writeFileSync(out, JSON.stringify({
  date: new Date().toISOString(),
  mode,
  node: process.version,
  cpus: cpus().length,
  options: {
    rounds,
    duration,
    warmup,
    requests: instructions ? requests : null,
    via: instructions ? via : null,
    only: flags.only ?? null,
    population: hasPopulation ? { ...population, ...(instructions ? { warmup: popWarmup, requests: popRequests } : {}) } : null
  },
  summary,
  targets,
  skipped,
  runs
}, null, 2) + '\n')
console.log(`\nJSON: ${out}`)

// Every measured route must answer 200 with no errors: otherwise the figures measure a failure.
const broken = Object.entries(summary).filter(([, s]) => s.errors > 0 || s.non2xx > 0 || s.statuses.some((st) => st !== 200))
if (broken.length > 0) {
  console.error(`\nFAILED: errors, non-2xx or non-200 status in ${broken.map(([name]) => name).join(', ')}`)
  process.exitCode = 1
}
