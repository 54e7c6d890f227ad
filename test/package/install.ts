import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { cp, mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, isAbsolute, join, parse } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

// The package as npm ships it, installed into users' projects: `npm pack`, then a fresh project
// outside the repository with the tarball unpacked where `npm install` puts it. Offline: every
// other package comes from this repository's node_modules (already installed by `npm ci`).

export const root = fileURLToPath(new URL('../..', import.meta.url))
const installed = join(root, 'node_modules')
const run = promisify(execFile)

/** The fields of the packed package.json these tests read. */
export interface Manifest {
  name: string
  version: string
  license?: string
  exports: Record<string, unknown>
  dependencies?: Record<string, string>
}

/** What `npm pack` produced. */
export interface PackedPackage {
  /** The .tgz file, as a user's `npm install` would download it. */
  tarball: string
  /** package.json as packed. */
  manifest: Manifest
  /** Every path in the tarball, relative to its `package/` folder. */
  files: string[]
}

/** A folder under the system's temporary directory, removed by the returned function. */
export async function temporaryFolder (prefix: string): Promise<{ path: string, remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix))
  return { path, remove: () => rm(path, { recursive: true, force: true }) }
}

/**
 * Packs the repository as `npm publish` would, into `destination`. dist/ must be built (npm test
 * builds it first); `--ignore-scripts` so that nothing runs between the build and the pack.
 */
export async function pack (destination: string): Promise<PackedPackage> {
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', destination], { cwd: root })
  const [report] = JSON.parse(stdout) as Array<{ filename: string, files: Array<{ path: string }> }>
  if (report === undefined) throw new Error(`npm pack reported nothing: ${stdout}`)
  const tarball = join(destination, report.filename)
  const { stdout: manifest } = await run('tar', ['-xzOf', tarball, 'package/package.json'])
  return { tarball, manifest: JSON.parse(manifest) as Manifest, files: report.files.map((file) => file.path).sort() }
}

/** Unpacks the tarball's `package/` folder into `folder`, as npm does; returns `folder`. */
export async function unpack (packed: PackedPackage, folder: string): Promise<string> {
  await mkdir(folder, { recursive: true })
  await run('tar', ['-xzf', packed.tarball, '-C', folder, '--strip-components=1'])
  return folder
}

/**
 * Copies the consumer project `fixture` (a folder name under test/package/consumers/, or an
 * absolute path) into `into` (a temporary folder) and installs it: the tarball unpacked to
 * node_modules/<name>/, and linked from this repository's node_modules, as npm would hoist
 * them, the packed package's `dependencies` and the consumer's own (its package.json's
 * `dependencies` and `devDependencies`, the packed package excepted). Returns the project's folder.
 */
export async function installConsumer (fixture: string, packed: PackedPackage, into: string): Promise<string> {
  const source = isAbsolute(fixture) ? fixture : fileURLToPath(new URL(`consumers/${fixture}`, import.meta.url))
  const project = join(into, parse(fixture).name)
  assertIsolated(project)
  await cp(source, project, { recursive: true })

  await unpack(packed, join(project, 'node_modules', packed.manifest.name))

  const consumer = JSON.parse(await readFile(join(project, 'package.json'), 'utf8')) as Partial<Record<'dependencies' | 'devDependencies', Record<string, string>>>
  const names = new Set([
    ...Object.keys(packed.manifest.dependencies ?? {}),
    ...Object.keys(consumer.dependencies ?? {}),
    ...Object.keys(consumer.devDependencies ?? {})
  ])
  names.delete(packed.manifest.name)
  for (const name of names) {
    const target = join(installed, name)
    if (!existsSync(target)) throw new Error(`${name} is not installed in ${installed}: add it to devDependencies`)
    const link = join(project, 'node_modules', name)
    await mkdir(dirname(link), { recursive: true })
    await symlink(target, link, 'dir')
  }
  return project
}

/**
 * Throws if a node_modules folder sits above `project`: Node and TypeScript would find packages
 * there that the project did not install, and a missing dependency would go unnoticed.
 */
function assertIsolated (project: string): void {
  for (let folder = dirname(project); ; folder = dirname(folder)) {
    if (existsSync(join(folder, 'node_modules'))) {
      throw new Error(`${join(folder, 'node_modules')} is visible from ${project}: set TMPDIR to a folder without node_modules above it`)
    }
    if (dirname(folder) === folder) return
  }
}
