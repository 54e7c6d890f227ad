import t from 'tap'
import { assertPlatformNeutral, bundleForWeb, platformProblems } from './runtimes.js'

// The platform-neutrality check the web codec's entry is held to: bundled with esbuild's neutral
// platform, no Node built-in import and no use of Node's globals anywhere in the bundle.

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url)

t.test('the runtime probe only needs the Web platform', async (t) => {
  t.same(await platformProblems(fixture('probe.ts')), [])
  await t.resolves(assertPlatformNeutral(fixture('probe.ts')))
})

t.test('the web entry point (fastify-cookie-session/web) only needs the Web platform', async (t) => {
  const entry = new URL('../../plugin/web/index.ts', import.meta.url)
  t.same(await platformProblems(entry), [], 'no node: import, no Buffer, process or other Node global')
  await t.resolves(assertPlatformNeutral(entry))
})

t.test('local names that merely look like Node globals pass', async (t) => {
  t.same(await platformProblems(fixture('shadowed-names.ts')), [])
})

const NODE_ONLY = {
  'uses-buffer.ts': /'Buffer'/,
  'uses-buffer-indirectly.ts': /'Buffer'/,
  'uses-global-this-buffer.ts': /globalThis\.Buffer/,
  'uses-process.ts': /'process'/,
  'imports-node-crypto.ts': /imports node:crypto/,
  'imports-bare-zlib.ts': /imports zlib/
}

for (const [name, problem] of Object.entries(NODE_ONLY)) {
  t.test(`${name} is refused`, async (t) => {
    const problems = await platformProblems(fixture(`node-only/${name}`))
    t.match(problems, [problem], problems.join('; '))
    await t.rejects(assertPlatformNeutral(fixture(`node-only/${name}`)), { message: /is not platform-neutral/ })
  })
}

t.test('bundling for the Web platform fails on a Node built-in import', async (t) => {
  await t.rejects(bundleForWeb(fixture('node-only/imports-node-crypto.ts')), { message: /node:crypto/ })
})
