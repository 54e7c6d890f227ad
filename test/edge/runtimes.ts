import { createRequire } from 'node:module'
import type { Test } from 'tap'
import { bundleForWeb, type WebBundle } from './bundle.js'
import { locateBinary, type Located } from './locate.js'
import { startStdioRuntime, startWorkerd } from './processes.js'
import { startEdgeVm, startNode, type RuntimeSession } from './sessions.js'

// The edge-runtime harness: run a Web-platform bundle's `run(input)` in Node, Deno, Bun, workerd
// and Vercel's Edge Runtime, one session per runtime. Usage from a test:
//
//   await eachRuntime(t, new URL('./fixtures/my-entry.ts', import.meta.url), async (t, runtime) => {
//     t.same(await runtime.run({ some: 'input' }), expectedFromNode)
//   })
//
// Locally a runtime that is not installed is skipped with a message; under CI=true it fails.

export { bundleForWeb, platformProblems, assertPlatformNeutral, type WebBundle } from './bundle.js'
export type { RuntimeSession } from './sessions.js'

/** Every runtime the harness drives, in the order tests run them. */
export const RUNTIMES = ['node', 'deno', 'bun', 'workerd', 'edge-runtime'] as const
export type RuntimeName = typeof RUNTIMES[number]

const require = createRequire(import.meta.url)

async function locateEdgeVm (): Promise<Located> {
  try {
    const { version } = require('@edge-runtime/vm/package.json') as { version: string }
    await import('@edge-runtime/vm')
    return { found: true, executable: '@edge-runtime/vm', version: `@edge-runtime/vm ${version}` }
  } catch (error) {
    return { found: false, reason: `@edge-runtime/vm cannot be loaded (${(error as Error).message}): \`npm ci\` installs it` }
  }
}

/** Whether `runtime` can run here: its executable and version, or a sentence saying what to install. */
export function locateRuntime (runtime: RuntimeName): Promise<Located> {
  switch (runtime) {
    case 'node': return Promise.resolve({ found: true, executable: process.execPath, version: `node ${process.version}` })
    case 'edge-runtime': return locateEdgeVm()
    default: return locateBinary(runtime)
  }
}

/** Loads `bundle` in `runtime`; the caller closes the session. Throws when the runtime is missing. */
export async function startRuntime (runtime: RuntimeName, bundle: WebBundle): Promise<RuntimeSession> {
  const located = await locateRuntime(runtime)
  if (!located.found) throw new Error(located.reason)
  switch (runtime) {
    case 'node': return startNode(bundle)
    case 'edge-runtime': return startEdgeVm(bundle, located.version)
    case 'workerd': return startWorkerd(located.executable, located.version, bundle)
    default: return startStdioRuntime(runtime, located.executable, located.version, bundle)
  }
}

export interface EachRuntimeOptions {
  /** Which runtimes (default: all of RUNTIMES). */
  runtimes?: readonly RuntimeName[]
}

/**
 * Bundles `entry` for the Web platform once, then runs `body` in one subtest per runtime with a
 * session that has the bundle loaded (closed when the subtest ends). A runtime that is not
 * installed is a visible skip locally and a failure under CI=true, where every one must run.
 */
export async function eachRuntime (
  t: Test,
  entry: string | URL,
  body: (t: Test, runtime: RuntimeSession) => Promise<void>,
  options: EachRuntimeOptions = {}
): Promise<void> {
  const bundle = await bundleForWeb(entry)
  for (const runtime of options.runtimes ?? RUNTIMES) {
    const located = await locateRuntime(runtime)
    if (!located.found) {
      if (process.env.CI === 'true') t.fail(`${located.reason}; under CI=true every edge runtime must run`)
      else t.test(runtime, { skip: located.reason }, async () => {})
      continue
    }
    await t.test(`${runtime} (${located.version})`, async (t) => {
      const session = await startRuntime(runtime, bundle)
      t.teardown(() => session.close())
      await body(t, session)
    })
  }
}
