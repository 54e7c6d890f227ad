import t from 'tap'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

// The documentation's TypeScript compiles. Every ```ts / ```typescript block of README.md and
// docs/*.md is written into one temporary project, as a file of its own, and type-checked by tsc
// in one run (one program: quick, but a `declare module 'fastify-cookie-session'` augmentation in
// one block applies to all of them, so the pages must agree on SessionData). The project resolves
// `fastify-cookie-session` (and every other "exports" entry) to this repository's sources, and
// `fastify` and the rest from its node_modules. A failure names the page, the line and tsc's message.
//
// A block may use, without declaring them, the names a reader takes as given (context.d.ts below):
// `app` (a FastifyInstance), `request`, `reply`, `cookieSession` (the plugin) and `cookieValue` (a
// cookie's value). A block that is deliberately not TypeScript on its own is skipped with
// `<!-- snippet: skip (why) -->` on the line before its fence (blank lines between allowed); the
// reason is required.
//
// Relative links between the pages are checked too: the file exists and, for `#anchor`, one of
// its headings has that GitHub anchor.

const root = fileURLToPath(new URL('..', import.meta.url))
const PACKAGE = 'fastify-cookie-session'
const FENCE = /^(\s*)```(ts|typescript)\s*$/
const SKIP = /^<!--\s*snippet:\s*skip\b(.*?)-->$/

// tsc over Fastify's types and the plugin's sources: a few seconds alone, more beside the suite.
t.setTimeout(180_000)

interface Page { name: string, text: string }
interface Snippet { page: string, line: number, file: string, code: string }

async function pages (): Promise<Page[]> {
  const docs = (await readdir(join(root, 'docs'))).filter((name) => name.endsWith('.md')).sort()
  return Promise.all(['README.md', ...docs.map((name) => `docs/${name}`)]
    .map(async (name) => ({ name, text: await readFile(join(root, name), 'utf8') })))
}

/** The TypeScript blocks of a page; `line` is the fence's line (1-based), so code line n is page line `line + n`. */
function snippetsOf (page: Page, skipped: string[]): Snippet[] {
  const lines = page.text.split('\n')
  const snippets: Snippet[] = []
  for (let index = 0; index < lines.length; index++) {
    const fence = FENCE.exec(lines[index] as string)
    if (fence === null) continue
    const indent = fence[1] as string
    const end = lines.findIndex((line, at) => at > index && line.trim() === '```')
    if (end === -1) throw new Error(`${page.name}:${index + 1}: a code block that never ends`)
    let before = index - 1
    while (before >= 0 && (lines[before] as string).trim() === '') before--
    const skip = SKIP.exec((lines[before] ?? '').trim())
    if (skip !== null) {
      const reason = (skip[1] as string).replace(/^[\s:(—-]+|[\s)]+$/g, '')
      if (reason === '') throw new Error(`${page.name}:${before + 1}: "snippet: skip" must say why`)
      skipped.push(`${page.name}:${index + 1} (${reason})`)
    } else {
      const code = lines.slice(index + 1, end).map((line) => line.startsWith(indent) ? line.slice(indent.length) : line)
      const file = `${page.name.replace(/[^\w.-]/g, '_')}-${index + 1}.ts`
      snippets.push({ page: page.name, line: index + 1, file, code: code.join('\n') + '\n' })
    }
    index = end
  }
  return snippets
}

/** `fastify-cookie-session` and its subpaths → the sources their shipped declarations are built from. */
async function packagePaths (): Promise<Record<string, string[]>> {
  const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { exports: Record<string, unknown> }
  const paths: Record<string, string[]> = {}
  for (const [subpath, target] of Object.entries(manifest.exports)) {
    const types = typesOf(target)
    if (types === undefined) continue
    const declarations = join(root, types)
    // tsconfig's rootDir is the repository and its outDir dist/: dist/<x>.d.ts is built from <x>.ts.
    const source = join(root, relative(join(root, 'dist'), declarations).replace(/\.d\.ts$/, '.ts'))
    paths[PACKAGE + subpath.slice(1)] = [existsSync(source) ? source : declarations]
  }
  return paths
}

function typesOf (target: unknown): string | undefined {
  if (target === null || typeof target !== 'object') return undefined
  for (const [condition, value] of Object.entries(target)) {
    if (condition === 'types' && typeof value === 'string') return value
    const nested = typesOf(value)
    if (nested !== undefined) return nested
  }
  return undefined
}

const CONTEXT = `// The names the documentation's snippets take as given (see test/docs.test.ts).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type plugin from '${PACKAGE}'

declare global {
  const app: FastifyInstance
  const request: FastifyRequest
  const reply: FastifyReply
  const cookieSession: typeof plugin
  const cookieValue: string
}
`

interface Result { code: number, output: string }
function tsc (project: string): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', '.', '--pretty', 'false'], { cwd: project },
      (error, stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code ?? 1), output: stdout + stderr }))
  })
}

/** tsc's `file(line,col): error TSnnnn: message` lines, with their indented continuation lines. */
function diagnostics (output: string): Array<{ file: string, line: number, column: number, message: string }> {
  const found: Array<{ file: string, line: number, column: number, message: string }> = []
  for (const text of output.split('\n')) {
    const match = /^(.+?)\((\d+),(\d+)\): (error TS\d+: .*)$/.exec(text)
    if (match !== null) found.push({ file: match[1] as string, line: Number(match[2]), column: Number(match[3]), message: match[4] as string })
    else if (text.trim() !== '' && found.length > 0) (found.at(-1) as { message: string }).message += `\n${text}`
  }
  return found
}

t.test('every TypeScript block of README.md and docs/*.md compiles against the package', async (t) => {
  const skipped: string[] = []
  const snippets = (await pages()).flatMap((page) => snippetsOf(page, skipped))
  t.ok(snippets.length >= 5, `found ${snippets.length} blocks to compile`)
  if (skipped.length > 0) t.comment(`skipped on purpose: ${skipped.join(', ')}`)

  const project = await mkdtemp(join(tmpdir(), 'fastify-cookie-session-docs-'))
  t.teardown(() => rm(project, { recursive: true, force: true }))
  await mkdir(join(project, 'snippets'))
  await symlink(join(root, 'node_modules'), join(project, 'node_modules'), 'dir')
  await writeFile(join(project, 'package.json'), JSON.stringify({ type: 'module', private: true }))
  await writeFile(join(project, 'context.d.ts'), CONTEXT)
  await writeFile(join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      moduleDetection: 'force',
      strict: true,
      noUncheckedIndexedAccess: true,
      noEmit: true,
      skipLibCheck: true,
      types: ['node'],
      paths: await packagePaths()
    },
    files: ['context.d.ts', ...snippets.map((snippet) => `snippets/${snippet.file}`)]
  }, null, 2))
  await Promise.all(snippets.map((snippet) => writeFile(join(project, 'snippets', snippet.file), snippet.code)))

  const { code, output } = await tsc(project)
  const bySnippet = new Map(snippets.map((snippet) => [`snippets/${snippet.file}`, snippet]))
  const found = diagnostics(output)
  for (const { file, line, column, message } of found) {
    const snippet = bySnippet.get(file.replaceAll('\\', '/'))
    const where = snippet === undefined ? `${file}:${line}:${column}` : `${snippet.page}:${snippet.line + line}:${column}`
    t.fail(`${where}: ${message}`)
  }
  if (found.length === 0) t.equal(code, 0, `tsc succeeds${code === 0 ? '' : `: ${output}`}`)
})

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens, repeats numbered. */
function anchorsOf (text: string): Set<string> {
  const anchors = new Set<string>()
  const seen = new Map<string, number>()
  let fenced = false
  for (const line of text.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced
    const heading = fenced ? null : /^#{1,6}\s+(.*?)\s*#*$/.exec(line)
    if (heading === null) continue
    const slug = (heading[1] as string).toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-')
    const count = seen.get(slug) ?? 0
    seen.set(slug, count + 1)
    anchors.add(count === 0 ? slug : `${slug}-${count}`)
  }
  return anchors
}

t.test('relative links between the pages reach a file and, for #anchors, a heading', async (t) => {
  const all = await pages()
  let links = 0
  for (const page of all) {
    const prose = page.text.replace(/^\s*```[^]*?^\s*```/gm, '')
    for (const [, target] of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(target as string)) continue
      links++
      const [path = '', anchor] = (target as string).split('#', 2)
      const file = path === '' ? join(root, page.name) : join(root, page.name, '..', path)
      const name = relative(root, file)
      if (!existsSync(file)) {
        t.fail(`${page.name}: link to ${target}, but ${name} does not exist`)
        continue
      }
      if (anchor !== undefined && name.endsWith('.md')) {
        t.ok(anchorsOf(await readFile(file, 'utf8')).has(anchor), `${page.name}: ${target} names a heading of ${name}`)
      }
    }
  }
  t.ok(links > 0, `${links} relative links checked`)
})
