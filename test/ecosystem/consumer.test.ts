import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import t from 'tap'

// A TypeScript user's project (test/ecosystem/consumer/): our SessionData augmentation next to
// @fastify/flash, @fastify/csrf-protection and @fastify/passport, type-checked against the built
// declarations. The project asserts its own types (request.session is ours, keys are typed).

const root = fileURLToPath(new URL('../..', import.meta.url))
const tsc = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url))
const project = 'test/ecosystem/consumer/tsconfig.json'

interface Result { code: number, output: string }

function typecheck (...extra: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [tsc, '-p', project, '--noEmit', '--pretty', 'false', ...extra], { cwd: root }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : Number(error.code ?? 1), output: stdout + stderr })
    })
  })
}

/** The files tsc reported errors in. */
function errorFiles (output: string): string[] {
  return [...output.matchAll(/^(.+?)\(\d+,\d+\): error TS\d+/gm)].map((match) => match[1] as string)
}

t.before(() => {
  if (!existsSync(new URL('../../dist/plugin/index.d.ts', import.meta.url))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does) before this test')
  }
})

// Both compilations at once: each takes seconds, and they only read.
const asUsersRunIt = typecheck()
const withLibCheck = typecheck('--skipLibCheck', 'false')

t.test('the consumer project type-checks', async (t) => {
  const { code, output } = await asUsersRunIt
  t.equal(output, '', 'no diagnostics')
  t.equal(code, 0)
})

// skipLibCheck: true is the consumer's setting. Without it, tsc also checks every .d.ts: ours must
// be clean; the third-party ones are not (@fastify/flash and @fastify/passport import the types of
// @fastify/secure-session and @fastify/session: unresolved where those are not installed, clashing
// on FastifyRequest.session where they are, as in this repository).
t.test('with skipLibCheck: false, errors come only from third-party declarations', async (t) => {
  const { output } = await withLibCheck
  const ours = errorFiles(output).filter((file) => !file.includes('node_modules/'))
  t.same(ours, [], output)
})
