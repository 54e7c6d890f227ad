import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { unstage } from './sessions.js'

// A runtime running as its own process, and the one way such a process is stopped.

/** A spawned runtime process: its exit, the tail of what it printed, and a stop that always stops it. */
export class Child {
  readonly exited: Promise<void>
  private readonly output: string[] = []
  private done = false

  constructor (readonly name: string, readonly spawned: ChildProcess) {
    this.exited = new Promise((resolve) => {
      const finish = () => { this.done = true; resolve() }
      spawned.once('close', finish)
      spawned.once('error', (error) => {
        this.remember(`${error.message}`)
        if (spawned.pid === undefined) finish() // it never started, so no 'close' is coming
      })
    })
    // Writing to a runtime that just died fails with EPIPE: its exit is reported, not thrown here.
    spawned.stdin?.on('error', (error) => this.remember(`stdin: ${error.message}`))
    if (spawned.stderr !== null) createInterface({ input: spawned.stderr }).on('line', (line) => this.remember(line))
  }

  remember (line: string): void {
    this.output.push(line)
    if (this.output.length > 40) this.output.shift()
  }

  /** An error carrying the process's exit status and last output lines, for a failed start or call. */
  failure (what: string): Error {
    const status = this.done ? ` (exit ${this.spawned.exitCode ?? this.spawned.signalCode})` : ''
    return new Error(`${this.name}: ${what}${status}\n${this.output.join('\n')}`)
  }

  /** Closes stdin (each driver exits on it), then kills what is still running after 5 s. */
  async stop (): Promise<void> {
    if (this.done) return
    this.spawned.stdin?.end()
    const timer = setTimeout(() => this.kill(), 5_000)
    await this.exited
    clearTimeout(timer)
  }

  /** SIGKILL to the process group (detached children lead one), so nothing it started survives. */
  private kill (): void {
    try {
      if (this.spawned.pid !== undefined) process.kill(-this.spawned.pid, 'SIGKILL')
    } catch {
      this.spawned.kill('SIGKILL')
    }
  }
}

const CHILD_ENV = {
  NO_COLOR: '1',
  DENO_NO_UPDATE_CHECK: '1', // Deno must not look for a newer release (no network here, nor should it need one)
  DO_NOT_TRACK: '1' // Bun: no crash reports or telemetry
}

/** Starts `command` detached (its own process group) in `dir`, stdin piped so it notices our exit. */
export function spawnChild (name: string, command: string, args: string[], dir: string, extraPipes = 0): Child {
  const child = spawn(command, args, {
    cwd: dir,
    detached: true,
    env: { ...process.env, ...CHILD_ENV, DENO_DIR: join(dir, '.deno') },
    stdio: ['pipe', 'pipe', 'pipe', ...Array<'pipe'>(extraPipes).fill('pipe')]
  })
  return new Child(name, child)
}

/** Stops the process, then removes its folder. */
export async function closing (child: Child, dir: string): Promise<void> {
  await child.stop()
  await unstage(dir)
}
