import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'

// Where each edge runtime's executable is. The npm packages (devDependencies) ship the binary in a
// per-platform optional dependency and copy or link it into the main package in a postinstall
// script; npm may skip that script (it warns that install scripts will need approval), so the
// platform package's own copy is looked at first, then the main package's, then PATH.

const run = promisify(execFile)
const require = createRequire(import.meta.url)

/** A runtime that runs as its own process. */
export type BinaryRuntime = 'deno' | 'bun' | 'workerd'

/** How an npm package ships its runtime's executable. */
interface Shipping {
  /** The package in devDependencies. */
  package: string
  /** The executable inside whichever per-platform optional dependency npm installed. */
  inPlatformPackage: string
  /** Where the postinstall script puts it inside the main package, when that is a real binary. */
  inMainPackage?: string
  /** The command on PATH, for a runtime installed some other way. */
  command: string
}

const SHIPPING: Record<BinaryRuntime, Shipping> = {
  deno: { package: 'deno', inPlatformPackage: 'deno', inMainPackage: 'deno', command: 'deno' },
  bun: { package: 'bun', inPlatformPackage: 'bin/bun', inMainPackage: 'bin/bun.exe', command: 'bun' },
  // workerd's own bin is a Node launcher that spawns the binary: killing the launcher would
  // orphan the server, so only the binary itself is used.
  workerd: { package: 'workerd', inPlatformPackage: 'bin/workerd', command: 'workerd' }
}

/** A runtime that can run here, or why not (said so a person knows what to install). */
export type Located =
  | { found: true, executable: string, version: string }
  | { found: false, reason: string }

function candidates ({ package: name, inPlatformPackage, inMainPackage, command }: Shipping): string[] {
  const paths: string[] = []
  let manifestPath: string
  try {
    manifestPath = require.resolve(`${name}/package.json`)
  } catch {
    return [command]
  }
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { optionalDependencies?: Record<string, string> }
  const fromMain = createRequire(manifestPath)
  for (const platformPackage of Object.keys(manifest.optionalDependencies ?? {})) {
    try {
      paths.push(join(dirname(fromMain.resolve(`${platformPackage}/package.json`)), inPlatformPackage))
    } catch {} // not this platform's package: npm did not install it
  }
  if (inMainPackage !== undefined) paths.push(join(dirname(manifestPath), inMainPackage))
  return [...paths.filter((path) => existsSync(path)), command]
}

/** The first line `executable --version` prints, or undefined when it does not run. */
async function versionOf (executable: string): Promise<string | undefined> {
  try {
    const { stdout } = await run(executable, ['--version'], { timeout: 30_000, env: { ...process.env, NO_COLOR: '1' } })
    return stdout.split('\n')[0]?.trim()
  } catch {
    return undefined
  }
}

const located = new Map<BinaryRuntime, Promise<Located>>()

async function search (runtime: BinaryRuntime): Promise<Located> {
  const shipping = SHIPPING[runtime]
  for (const executable of candidates(shipping)) {
    const version = await versionOf(executable)
    if (version !== undefined && version !== '') return { found: true, executable, version }
  }
  return {
    found: false,
    reason: `${runtime} not found: \`npm ci\` installs it from the "${shipping.package}" devDependency ` +
      `(or put \`${shipping.command}\` on PATH)`
  }
}

/** Finds `runtime`'s executable once per process: the npm package's binary first, then PATH. */
export function locateBinary (runtime: BinaryRuntime): Promise<Located> {
  let found = located.get(runtime)
  if (found === undefined) located.set(runtime, found = search(runtime))
  return found
}
