import { rmSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { SCRIPT_GLOBAL, type WebBundle } from './bundle.js'

// RuntimeSession, what every runtime's session shares, and the two in-process sessions (Node,
// EdgeVM); the runtimes that run as processes are in processes.ts. A session loads the bundle once
// and serves as many calls as the test makes. Values cross as JSON text, so every runtime sees
// plain data of its own realm.

/** A bundle loaded in one runtime, ready to answer `run(input)` calls until closed. */
export interface RuntimeSession {
  /** The runtime's name, as in RUNTIMES. */
  readonly runtime: string
  /** The runtime's own version string. */
  readonly version: string
  /** Calls the bundle's exported `run` with a JSON copy of `input`; resolves with its JSON result. */
  run (input: unknown): Promise<unknown>
  /** Stops the runtime and removes its temporary files; safe to call twice. */
  close (): Promise<void>
}

/** How long a runtime may take to start, and one `run` call to answer (a loaded 2-core CI machine). */
export const STARTUP_TIMEOUT_MS = 30_000
export const CALL_TIMEOUT_MS = 20_000

/** An error as a runtime reports it across the wire. */
export interface WireError { name?: string, message?: string, stack?: string }

/** The Error a `run` call rejects with when the bundle's `run` threw in `runtime`. */
export function remoteError (runtime: string, error: WireError | undefined): Error {
  const failure = new Error(`${runtime}: run() threw ${error?.name ?? 'Error'}: ${error?.message ?? '(no message)'}`)
  failure.stack = `${failure.message}\n--- in ${runtime} ---\n${error?.stack ?? ''}`
  return failure
}

/** `promise`, or a rejection naming `what` after `ms`. */
export function withTimeout<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

// Temporary folders of sessions not closed yet: removed at exit even if a test never closed its
// session (a kill by signal still leaves them, small, in the system's temp folder).
const liveFolders = new Set<string>()
process.once('exit', () => { for (const dir of liveFolders) rmSync(dir, { recursive: true, force: true }) })

/** A fresh temporary folder holding the bundle as bundle.mjs (and whatever the caller adds). */
export async function stage (bundle: WebBundle): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'edge-runtime-'))
  liveFolders.add(dir)
  await writeFile(join(dir, 'bundle.mjs'), bundle.module)
  return dir
}

/** Removes a folder made by stage. */
export async function unstage (dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true })
  liveFolders.delete(dir)
}

/** Node itself: the bundle imported into this process, with Node's own globals. */
export async function startNode (bundle: WebBundle): Promise<RuntimeSession> {
  const dir = await stage(bundle)
  const module = await import(pathToFileURL(join(dir, 'bundle.mjs')).href) as { run: (input: unknown) => unknown }
  return {
    runtime: 'node',
    version: process.version,
    run: async (input) => {
      let output: unknown
      try {
        output = await module.run(JSON.parse(JSON.stringify(input)))
      } catch (error) {
        throw remoteError('node', error as WireError) // as the other runtimes report it
      }
      return output === undefined ? undefined : JSON.parse(JSON.stringify(output))
    },
    close: () => unstage(dir)
  }
}

/**
 * Vercel's Edge Runtime: an EdgeVM context (the sandbox Next.js middleware runs in) evaluating the
 * bundle's classic-script form, with code generation (eval, new Function) off as it is there.
 */
export async function startEdgeVm (bundle: WebBundle, version: string): Promise<RuntimeSession> {
  const { EdgeVM } = await import('@edge-runtime/vm')
  const vm = new EdgeVM()
  vm.evaluate(bundle.script)
  const call = vm.evaluate(`(async (text) => {
    try { return JSON.stringify({ ok: true, output: await globalThis.${SCRIPT_GLOBAL}.run(JSON.parse(text)) }) }
    catch (error) { return JSON.stringify({ ok: false, error: { name: error?.name, message: error?.message ?? String(error), stack: error?.stack } }) }
  })`) as (text: string) => Promise<string>
  return {
    runtime: 'edge-runtime',
    version,
    run: async (input) => {
      const reply = JSON.parse(await withTimeout(call(JSON.stringify(input)), CALL_TIMEOUT_MS, 'edge-runtime')) as { ok: boolean, output?: unknown, error?: WireError }
      if (!reply.ok) throw remoteError('edge-runtime', reply.error)
      return reply.output
    },
    close: async () => {}
  }
}
