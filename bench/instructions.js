import { execFile, execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { buildVariant } from './variants.js'
import { BATCH, createInjector } from './inject.js'

// Instruction mode (`npm run bench -- --instructions`): CPU instructions per request, counted by
// valgrind's callgrind, which counts what the CPU executes rather than timing it. On a shared
// 2-vCPU machine CPU-µs figures move by ±10–20 µs between runs; these counts repeat to about
// 0.01 % (node --predictable keeps V8's compiler and GC on the main thread, in a fixed order).
//
// Each variant is driven by inject() in its own process under callgrind: a warm-up with counting
// off (so the JIT has settled), then N measured requests with counting switched on and off
// around them by callgrind_control. Instructions are not time (a cache miss costs more than an
// add), so this complements the socket figures; it does not replace them.
//
// This file is both the driver (imported by run.js) and the child it runs under valgrind:
//   node bench/instructions.js <variant> <warm-up requests> <measured requests>

const SELF = fileURLToPath(import.meta.url)
const run = promisify(execFile)

/** Counts one variant under callgrind; resolves to a result shaped like the other modes'. */
export async function measureInstructions (name, requests) {
  const counted = await count(name, 2 * requests, requests)
  if (counted.skip !== undefined) return { skip: counted.skip }
  return { ...counted.info, requests, instructionsPerRequest: counted.instructions / requests }
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
    process.execPath, '--predictable', SELF, name, String(warm), String(measured)
  ], { maxBuffer: 1 << 24 })
  const info = JSON.parse(stdout.trim().split('\n').at(-1))
  if (info.skip !== undefined) return { skip: info.skip }
  const collected = /Collected\s*:\s*([\d,]+)/.exec(stderr)
  if (collected === null) throw new Error(`callgrind printed no instruction count for ${name}:\n${stderr.slice(-2000)}`)
  return { info, instructions: Number(collected[1].replaceAll(',', '')) }
}

async function child ([name, warmText, measuredText]) {
  const built = await buildVariant(name)
  if (built.skip !== undefined) {
    console.log(JSON.stringify({ skip: built.skip }))
    return
  }
  await built.app.ready()
  const injector = createInjector(built)
  const drive = async (total, measured) => {
    for (let done = 0; done < total; done += BATCH) await injector.batch(measured)
  }
  await drive(Number(warmText), false)
  // Returns once callgrind has switched: only the measured requests are counted.
  const instrument = (state) => execFileSync('callgrind_control', ['--instr', state, String(process.pid)], { stdio: 'ignore' })
  instrument('on')
  await drive(Number(measuredText), true)
  instrument('off')
  await built.app.close()
  const { status, setCookie, non2xx } = injector.tally
  console.log(JSON.stringify({ status, setCookie, non2xx, errors: 0, cookieBytes: built.cookie.length }))
}

if (process.argv[1] === SELF) await child(process.argv.slice(2))
