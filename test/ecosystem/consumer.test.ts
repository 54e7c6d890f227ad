import { execFile } from 'node:child_process'
import t from 'tap'
import { installConsumer, pack, temporaryFolder } from '../package/install.js'

// A TypeScript user's project (test/ecosystem/consumer/): our SessionData augmentation next to
// @fastify/flash, @fastify/csrf-protection and @fastify/passport, type-checked against the
// declarations of the packed package, installed as npm would (test/package/install.ts). The
// project asserts its own types (request.session is ours, keys are typed).
//
// The peer plugins are linked from this repository's node_modules, so their own imports resolve
// there, where @fastify/session and @fastify/secure-session are installed too: the harder case
// (see index.ts), where their declarations clash with ours on FastifyRequest.session.

interface Result { code: number, output: string }

function typecheck (project: string, ...extra: string[]): Promise<Result> {
  const args = ['node_modules/typescript/bin/tsc', '-p', '.', '--noEmit', '--pretty', 'false', ...extra]
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: project }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : Number(error.code ?? 1), output: stdout + stderr })
    })
  })
}

/** The files tsc reported errors in. */
function errorFiles (output: string): string[] {
  return [...output.matchAll(/^(.+?)\(\d+,\d+\): error TS\d+/gm)].map((match) => match[1] as string)
}

// Real projects are compiled here (seconds of CPU each): on a busy 2-core machine, next to the
// rest of the suite, this file needs more than the suite's 120 s per file.
t.setTimeout(300_000)

const folder = await temporaryFolder('fastify-cookie-session-consumer-')
t.teardown(folder.remove)
const packed = await pack(folder.path)
const project = await installConsumer(new URL('consumer', import.meta.url).pathname, packed, folder.path)

// Both compilations at once: each takes seconds, and they only read.
const asUsersRunIt = typecheck(project)
const withLibCheck = typecheck(project, '--skipLibCheck', 'false')

t.test('the consumer project type-checks', async (t) => {
  const { code, output } = await asUsersRunIt
  t.equal(output, '', 'no diagnostics')
  t.equal(code, 0)
})

// skipLibCheck: true is the consumer's setting. Without it, tsc also checks every .d.ts: ours must
// be clean; the third-party ones are not (@fastify/flash and @fastify/passport import the types of
// @fastify/secure-session and @fastify/session: unresolved where those are not installed, clashing
// on FastifyRequest.session where they are, as here).
t.test('with skipLibCheck: false, errors come only from third-party declarations', async (t) => {
  const { output } = await withLibCheck
  const ours = errorFiles(output).filter((file) => !file.includes('node_modules/') || file.includes(`node_modules/${packed.manifest.name}/`))
  t.same(ours, [], output)
})
