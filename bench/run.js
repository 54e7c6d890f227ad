import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs, promisify } from 'node:util'
import { VARIANTS } from './variants.js'
import { measureSocket, startServer, stopServer } from './measure.js'
import { checkValgrind, measureInstructions } from './instructions.js'
import { checkTargets, markdownTable, summarize, targetsMarkdown } from './report.js'

// `npm run bench`: every variant in its own process, interleaved over rounds (a b c … a b c …)
// so slow drifts of a shared machine hit all variants alike; medians per variant.
//
//   --only a,b      variants whose name starts with one of these (bare and cookie always run)
//   --rounds N      rounds (default 5)
//   --duration S    measured seconds per variant and round (default 5)
//   --warmup S      unmeasured seconds before each socket run (default 2)
//   --inprocess     inject() instead of sockets: one process per round, variants take turns
//                   in short slices; --duration is then seconds per variant per round
//   --instructions  CPU instructions per request under valgrind (steady where µs are not);
//                   one round by default; --requests N measured per variant (10000), after
//                   2N uncounted warm-up requests; two variants at a time
//   --cpu-prof DIR  run every server under `node --cpu-prof`, profiles into DIR
//   --out FILE      JSON results (default bench/results.json, results-inprocess.json,
//                   results-instructions.json)

const { values: flags } = parseArgs({
  options: {
    only: { type: 'string' },
    rounds: { type: 'string' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    inprocess: { type: 'boolean', default: false },
    instructions: { type: 'boolean', default: false },
    requests: { type: 'string', default: '10000' },
    'cpu-prof': { type: 'string' },
    out: { type: 'string' }
  }
})

const { inprocess, instructions } = flags
if (inprocess && instructions) {
  console.error('--inprocess and --instructions are separate modes: pick one')
  process.exit(2)
}
// Instruction counts repeat to well under 1 %: one round is enough unless asked for more.
const rounds = positive('rounds', flags.rounds ?? (instructions ? '1' : '5'))
const duration = positive('duration', flags.duration)
const requests = Math.ceil(positive('requests', flags.requests) / 8) * 8
const warmup = Number(flags.warmup)
const nodeArgs = flags['cpu-prof'] === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${flags['cpu-prof']}`]
const resultsFile = instructions ? './results-instructions.json' : inprocess ? './results-inprocess.json' : './results.json'
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
  const names = VARIANTS.map((v) => v.name)
    .filter((name) => name === 'bare' || name === 'cookie' || prefixes.some((p) => name.startsWith(p)))
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
  console.error(`round ${round}/${rounds} ${name}: ${cost}, status ${result.status}, Set-Cookie ${result.setCookie ? 'yes' : 'no'}`)
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
    const results = await inPairs(names, (name) => measureInstructions(name, requests))
    names.forEach((name, i) => record(round, name, results[i]))
  } else {
    for (const name of names) record(round, name, await measureOnce(name))
  }
  names = names.filter((name) => skipped[name] === undefined)
  for (const name of Object.keys(skipped)) delete runs[name]
}

const summary = summarize(runs)
const targets = checkTargets(summary, { instructions })
const mode = instructions
  ? 'instructions (callgrind, inject, node --predictable)'
  : inprocess ? 'in-process (inject, variants interleaved in slices)' : 'sockets (autocannon, 50 connections, pipelining 1)'
const table = markdownTable(summary, { inprocess, instructions })
const length = instructions
  ? `${2 * requests} uncounted warm-up + ${requests} counted requests per variant`
  : `${duration} s${inprocess ? ' per variant' : ` (warm-up ${warmup} s)`}`

console.log(`\n${mode}; ${rounds} round${rounds === 1 ? '' : 's'} × ${length}; medians; ` +
  `node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}\n`)
console.log(table)
if (Object.keys(skipped).length > 0) {
  console.log(`\nSkipped:\n${Object.entries(skipped).map(([name, why]) => `- ${name}: ${why}`).join('\n')}`)
}
console.log(`\nTargets:\n${targetsMarkdown(targets)}`)

writeFileSync(out, JSON.stringify({
  date: new Date().toISOString(),
  mode,
  node: process.version,
  cpus: cpus().length,
  options: { rounds, duration, warmup, requests: instructions ? requests : null, only: flags.only ?? null },
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
