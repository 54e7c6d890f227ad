import { copyFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { WebBundle } from './bundle.js'
import { closing, spawnChild } from './child.js'
import { CALL_TIMEOUT_MS, remoteError, stage, STARTUP_TIMEOUT_MS, withTimeout, type RuntimeSession, type WireError } from './sessions.js'

// The runtimes that run as processes: Deno and Bun behind a stdio driver, workerd behind HTTP.

/** The driver programs copied beside the bundle. */
const DRIVERS = new URL('drivers/', import.meta.url)
const MARKER = '\u0001edge-harness\u0001' // starts each line drivers/stdio-driver.js answers with

/**
 * Deno or Bun: a child process running drivers/stdio-driver.js, which imports the bundle once and
 * answers JSON lines on stdin. Deno runs with no permissions, no config, no npm and no remote imports.
 */
export async function startStdioRuntime (runtime: 'deno' | 'bun', executable: string, version: string, bundle: WebBundle): Promise<RuntimeSession> {
  const dir = await stage(bundle)
  await copyFile(new URL('stdio-driver.js', DRIVERS), join(dir, 'driver.mjs'))
  const args = runtime === 'deno'
    ? ['run', '--quiet', '--no-config', '--no-lock', '--no-remote', '--no-npm', '--no-prompt', 'driver.mjs']
    : ['--no-install', 'driver.mjs']
  const child = spawnChild(runtime, executable, args, dir)
  const waiting = new Map<number, { resolve: (value: unknown) => void, reject: (error: Error) => void }>()
  let ready!: () => void
  const started = new Promise<void>((resolve) => { ready = resolve })

  createInterface({ input: child.spawned.stdout! }).on('line', (line) => {
    if (!line.startsWith(MARKER)) { child.remember(line); return }
    const message = JSON.parse(line.slice(MARKER.length)) as { ready?: true, id?: number, ok?: boolean, output?: unknown, error?: WireError }
    if (message.ready === true) { ready(); return }
    const caller = waiting.get(message.id ?? -1)
    waiting.delete(message.id ?? -1)
    if (message.ok === true) caller?.resolve(message.output)
    else caller?.reject(remoteError(runtime, message.error))
  })
  child.exited.then(() => {
    for (const caller of waiting.values()) caller.reject(child.failure('exited while a run() call was pending'))
    waiting.clear()
  })

  try {
    await withTimeout(Promise.race([started, child.exited.then(() => { throw child.failure('exited before loading the bundle') })]),
      STARTUP_TIMEOUT_MS, `${runtime} start`)
  } catch (error) {
    await closing(child, dir)
    throw error
  }

  let nextId = 0
  return {
    runtime,
    version,
    run: (input) => {
      const id = nextId++
      const answer = new Promise<unknown>((resolve, reject) => waiting.set(id, { resolve, reject }))
      child.spawned.stdin!.write(`${JSON.stringify({ id, input })}\n`)
      return withTimeout(answer, CALL_TIMEOUT_MS, `${runtime} run()`).finally(() => waiting.delete(id))
    },
    close: () => closing(child, dir)
  }
}

/** workerd's config: one Worker (module syntax) on 127.0.0.1, a port the kernel picks, no outbound network. */
function workerdConfig (compatibilityDate: string): string {
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .harness),
    # The implicit "internet" service (global fetch) allows public addresses: allow nothing instead.
    (name = "internet", network = (allow = [])),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:0", http = (), service = "main") ],
);

const harness :Workerd.Worker = (
  modules = [
    (name = "main.mjs", esModule = embed "main.mjs"),
    (name = "bundle.mjs", esModule = embed "bundle.mjs"),
  ],
  compatibilityDate = "${compatibilityDate}",
);
`
}

// workerd never reads stdin, so a shell keeps our stdin pipe and kills workerd when it closes:
// on close(), and when this process dies however it dies (tap's timeout sends SIGTERM).
const WATCHDOG = `exec 4<&0
"$@" 0</dev/null 4<&- &
server=$!
{ cat <&4 >/dev/null; kill "$server" 2>/dev/null; } >/dev/null 2>&1 3>&- &
exec 4<&-
wait "$server"`

/**
 * Cloudflare's workerd serving drivers/worker.js (which imports the bundle) on 127.0.0.1; the port
 * comes back on workerd's control descriptor, and each `run` is one POST. The compatibility date
 * is the newest the binary supports (its `--version` date), as wrangler would default to.
 */
export async function startWorkerd (executable: string, version: string, bundle: WebBundle): Promise<RuntimeSession> {
  const dir = await stage(bundle)
  await copyFile(new URL('worker.js', DRIVERS), join(dir, 'main.mjs'))
  const compatibilityDate = /\d{4}-\d{2}-\d{2}/.exec(version)?.[0] ?? '2024-09-23'
  await writeFile(join(dir, 'config.capnp'), workerdConfig(compatibilityDate))
  const child = spawnChild('workerd', 'sh', ['-c', WATCHDOG, 'workerd-watchdog', executable, 'serve', 'config.capnp', '--control-fd=3'], dir, 1)
  createInterface({ input: child.spawned.stdout! }).on('line', (line) => child.remember(line))

  const listening = new Promise<number>((resolve) => {
    createInterface({ input: child.spawned.stdio[3] as NodeJS.ReadableStream }).on('line', (line) => {
      const event = JSON.parse(line) as { event?: string, socket?: string, port?: number }
      if (event.event === 'listen' && event.socket === 'http' && typeof event.port === 'number') resolve(event.port)
    })
  })
  let port: number
  try {
    port = await withTimeout(Promise.race([listening, child.exited.then((): never => { throw child.failure('exited before listening') })]),
      STARTUP_TIMEOUT_MS, 'workerd start')
  } catch (error) {
    await closing(child, dir)
    throw error
  }

  return {
    runtime: 'workerd',
    version,
    run: async (input) => {
      let response: Response
      try {
        response = await fetch(`http://127.0.0.1:${port}/`, {
          method: 'POST',
          body: JSON.stringify({ input }),
          signal: AbortSignal.timeout(CALL_TIMEOUT_MS)
        })
      } catch (error) {
        throw child.failure(`POST failed: ${(error as Error).message}`)
      }
      const text = await response.text()
      if (!response.ok) throw child.failure(`answered ${response.status}: ${text}`)
      const reply = JSON.parse(text) as { ok: boolean, output?: unknown, error?: WireError }
      if (!reply.ok) throw remoteError('workerd', reply.error)
      return reply.output
    },
    close: () => closing(child, dir)
  }
}
