import t from 'tap'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { publint } from 'publint'
import { formatMessage } from 'publint/utils'
import { installConsumer, pack, root, temporaryFolder, unpack } from './package/install.js'

// The package as npm would ship it: `npm pack` of the built dist/ (npm test builds it first),
// checked by the ecosystem's package linters, then installed into fresh users' projects that
// load it by name, type-check against the shipped .d.ts with a SessionData augmentation, and run
// requests: JavaScript ESM and CommonJS, TypeScript with module nodenext (an ESM and a CJS file)
// and with moduleResolution bundler (test/package/consumers/).

/**
 * The entry points ("exports" subpaths) this file covers. A new subpath in package.json fails
 * the first test until it is listed here; each listed one is then loaded with import and require,
 * and publint and attw check every entry point by themselves.
 */
const entryPoints = ['.', './web']

/** What every consumer prints after its requests (see test/package/consumers/). */
const expected = { status: 200, cookie: 'session', user: 'ada', error: 'FST_SESSION_INVALID_KEY', sameExport: true }

const run = promisify(execFile)
const node = (args: string[], cwd: string) => run(process.execPath, args, { cwd })

interface Result { code: number, output: string }
/** Runs tsc from the project's own node_modules, as the user's `npx tsc` would; never throws. */
function tsc (project: string): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.', '--pretty', 'false'], { cwd: project }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : Number(error.code ?? 1), output: stdout + stderr })
    })
  })
}

// Real projects are compiled here (seconds of CPU each): on a busy 2-core machine, next to the
// rest of the suite, this file needs more than the suite's 120 s per file.
t.setTimeout(300_000)

const folder = await temporaryFolder('fastify-cookie-session-package-')
t.teardown(folder.remove)
const packed = await pack(folder.path)
const unpacked = await unpack(packed, join(folder.path, 'unpacked'))
const { name, version } = packed.manifest
const [jsProject, nodenextProject, bundlerProject] = await Promise.all(
  ['js', 'ts-nodenext', 'ts-bundler'].map((fixture) => installConsumer(fixture, packed, folder.path))
) as [string, string, string]
// Both compilations start now, side by side: each takes seconds, and they only read.
const nodenextBuild = tsc(nodenextProject)
const bundlerBuild = tsc(bundlerProject)

t.test('"exports" lists exactly the entry points covered here', async (t) => {
  t.same(Object.keys(packed.manifest.exports).filter((subpath) => subpath !== './package.json'), entryPoints)
})

t.test('the tarball holds the build, its declarations, README, LICENSE and CHANGELOG: nothing else', async (t) => {
  const shipped = [/^package\.json$/, /^README\.md$/, /^LICENSE$/, /^CHANGELOG\.md$/, /^dist\/plugin\/.+\.(js|js\.map|d\.ts)$/]
  t.same(packed.files.filter((file) => !shipped.some((pattern) => pattern.test(file))), [], 'no other file')
  for (const file of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'dist/plugin/index.js', 'dist/plugin/index.d.ts']) {
    t.ok(packed.files.includes(file), file)
  }
  t.equal(packed.manifest.license, 'MIT')
  t.match(await readFile(join(unpacked, 'LICENSE'), 'utf8'), /^MIT License\n/)
  t.match(await readFile(join(unpacked, 'CHANGELOG.md'), 'utf8'), new RegExp(`^## \\[${version.replaceAll('.', '\\.')}\\]`, 'm'),
    'CHANGELOG.md has a section for this version')
})

t.test('every source map carries the sources it points to', async (t) => {
  const maps = packed.files.filter((file) => file.endsWith('.map'))
  t.ok(maps.length > 0, 'the package ships source maps')
  for (const map of maps) {
    const { sources, sourcesContent } = JSON.parse(await readFile(join(unpacked, map), 'utf8')) as { sources: string[], sourcesContent?: Array<string | null> }
    const missing = sources.filter((source, i) => typeof sourcesContent?.[i] !== 'string' && !existsSync(join(unpacked, dirname(map), source)))
    t.same(missing, [], map)
  }
})

t.test('"dependencies" are exactly the packages the shipped code imports', async (t) => {
  const imported = new Set<string>()
  const specifiers = /\b(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g
  for (const file of packed.files.filter((file) => file.endsWith('.js'))) {
    for (const [, specifier] of (await readFile(join(unpacked, file), 'utf8')).matchAll(specifiers)) {
      if (specifier === undefined || specifier.startsWith('.') || specifier.startsWith('node:')) continue
      imported.add(specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/'))
    }
  }
  t.same(Object.keys(packed.manifest.dependencies ?? {}).sort(), [...imported].sort())
})

t.test('publint: nothing to report', async (t) => {
  const tarball = await readFile(packed.tarball)
  const { messages, pkg } = await publint({
    pack: { tarball: tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.byteLength) },
    level: 'suggestion',
    strict: true
  })
  t.same(messages.map((message) => `${message.type}: ${formatMessage(message, pkg, { color: false }) ?? message.code}`), [])
})

// attw's `cjs-resolves-to-esm` says that require() of the package loads an ES module, which
// Node 16's rules (attw models them with TypeScript 5.6) forbid. Node supports it from 20.19 and
// 22.12, the floor of "engines"; the CommonJS consumers below require() it and type-check it.
t.test('arethetypeswrong: no problem in any entry point, in any module resolution', async (t) => {
  const attw = join(root, 'node_modules/@arethetypeswrong/cli/dist/index.js')
  const args = [attw, packed.tarball, '--ignore-rules', 'cjs-resolves-to-esm', '--no-definitely-typed', '--format', 'table-flipped', '--no-color']
  const result = await node(args, folder.path).then(({ stdout }) => ({ code: 0, stdout }), (error: { code: number, stdout: string }) => error)
  t.equal(result.code, 0, result.stdout)
  t.match(result.stdout, /No problems found/)
})

t.test('each entry point loads with import and with require()', async (t) => {
  for (const entryPoint of entryPoints) {
    const specifier = entryPoint === '.' ? name : `${name}${entryPoint.slice(1)}`
    const { stdout } = await node(['--no-warnings', '--input-type=module', '-e', `
      import { createRequire } from 'node:module'
      const imported = await import(${JSON.stringify(specifier)})
      const required = createRequire(process.cwd() + '/')(${JSON.stringify(specifier)})
      const names = Object.keys(imported).filter((key) => key !== 'module.exports')
      console.log(JSON.stringify({ names, notRequired: names.filter((key) => !(key in required) || required[key] !== imported[key]) }))
    `], jsProject)
    const { names, notRequired } = JSON.parse(stdout) as { names: string[], notRequired: string[] }
    t.ok(names.length > 0, `${specifier} has exports`)
    t.same(notRequired, [], `require('${specifier}') exposes every export of import('${specifier}')`)
  }
})

t.test('JavaScript: ESM import and CommonJS require, a request each', async (t) => {
  for (const file of ['esm.mjs', 'cjs.cjs']) {
    const { stdout } = await node([file], jsProject)
    t.same(JSON.parse(stdout), expected, file)
  }
})

t.test('TypeScript, module nodenext: an ESM and a CJS file type-check against the shipped .d.ts and run', async (t) => {
  const { code, output } = await nodenextBuild
  t.equal(output, '', 'no diagnostics')
  t.equal(code, 0)
  for (const file of ['out/esm.js', 'out/cjs.cjs']) {
    const { stdout } = await node([file], nodenextProject)
    t.same(JSON.parse(stdout), expected, file)
  }
})

t.test('TypeScript, moduleResolution bundler: type-checks against the shipped .d.ts and runs', async (t) => {
  const { code, output } = await bundlerBuild
  t.equal(output, '', 'no diagnostics')
  t.equal(code, 0)
  const { stdout } = await node(['out/index.js'], bundlerProject)
  t.same(JSON.parse(stdout), expected)
})

t.test('plugin metadata: Fastify 5, named, one registration per scope', async (t) => {
  const { default: plugin } = await import('../plugin/index.js')
  const meta = (plugin as unknown as Record<symbol, { fastify: string, name: string }>)[Symbol.for('plugin-meta')]
  t.match(meta, { fastify: '5.x', name })
})
