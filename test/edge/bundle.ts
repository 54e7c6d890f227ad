import { builtinModules } from 'node:module'
import { fileURLToPath } from 'node:url'
import { build, type Plugin } from 'esbuild'
import { Linter } from 'eslint'

// Turning an entry file into the code a Web-platform runtime runs, and proving that code asks for
// nothing but the Web platform. esbuild does the bundling; ESLint's scope analysis finds globals.

/** The global name the classic-script form assigns the entry's exports to. */
export const SCRIPT_GLOBAL = '__edgeBundle'

/** One entry file bundled twice: as an ES module, and as a classic script for script-only sandboxes. */
export interface WebBundle {
  /** The entry file, as given. */
  readonly entry: string
  /** Self-contained ES module source (format esm, platform browser). */
  readonly module: string
  /** The same code as one classic script that assigns the entry's exports to `globalThis.__edgeBundle`. */
  readonly script: string
}

/** What a Web-platform bundle must not reach for: Node's own globals. */
export const NODE_GLOBALS = ['Buffer', 'process', 'global', 'require', 'module', 'exports',
  '__dirname', '__filename', 'setImmediate', 'clearImmediate'] as const

const NODE_BUILTINS = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]))

function entryPath (entry: string | URL): string {
  return entry instanceof URL ? fileURLToPath(entry) : entry
}

async function bundleAs (entry: string, format: 'esm' | 'iife'): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    platform: 'browser',
    format,
    target: 'es2022',
    logLevel: 'silent',
    ...(format === 'iife' ? { globalName: SCRIPT_GLOBAL } : {})
  })
  const [output] = result.outputFiles
  if (output === undefined) throw new Error(`esbuild produced no output for ${entry}`)
  return output.text
}

/**
 * Bundles `entry` (TypeScript or JavaScript, with its imports) for the Web platform. A Node built-in
 * import makes esbuild fail here already: the browser platform cannot resolve `node:*`.
 */
export async function bundleForWeb (entry: string | URL): Promise<WebBundle> {
  const path = entryPath(entry)
  const [module, script] = await Promise.all([bundleAs(path, 'esm'), bundleAs(path, 'iife')])
  return { entry: path, module, script }
}

/** Marks Node built-in imports external (so the bundle still builds) and remembers who asked. */
function recordNodeBuiltins (found: string[]): Plugin {
  return {
    name: 'record-node-builtins',
    setup (build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        if (!NODE_BUILTINS.has(args.path)) return undefined
        found.push(`imports ${args.path} (from ${args.importer})`)
        return { path: args.path, external: true }
      })
    }
  }
}

/** Free references to Node's globals in `code`, found by ESLint's scope analysis (not by text search). */
function nodeGlobalUses (code: string): string[] {
  const linter = new Linter({ configType: 'flat' })
  const messages = linter.verify(code, [{
    languageOptions: { ecmaVersion: 'latest', sourceType: 'module', globals: {} },
    rules: {
      'no-restricted-globals': ['error', ...NODE_GLOBALS],
      'no-restricted-properties': ['error',
        ...NODE_GLOBALS.flatMap((property) => ['globalThis', 'self'].map((object) => ({ object, property })))]
    }
  }])
  return messages.map((message) => message.fatal === true
    ? `cannot be parsed: ${message.message}`
    : `${message.message} (bundle line ${message.line})`)
}

/**
 * Why `entry` is not platform-neutral: each Node built-in it imports and each use of a Node global
 * (`Buffer`, `process`, …) in its bundle, one sentence each. Empty when it only needs the Web platform.
 * Bundled with esbuild's `neutral` platform, so no `browser` or `node` conditions pick a variant.
 */
export async function platformProblems (entry: string | URL): Promise<string[]> {
  const problems: string[] = []
  const result = await build({
    entryPoints: [entryPath(entry)],
    bundle: true,
    write: false,
    platform: 'neutral',
    mainFields: ['module', 'main'],
    format: 'esm',
    target: 'es2022',
    logLevel: 'silent',
    plugins: [recordNodeBuiltins(problems)]
  })
  for (const output of result.outputFiles) problems.push(...nodeGlobalUses(output.text))
  return problems
}

/** Throws, listing every problem, unless `entry` bundles for the Web platform alone. */
export async function assertPlatformNeutral (entry: string | URL): Promise<void> {
  const problems = await platformProblems(entry)
  if (problems.length > 0) {
    throw new Error(`${entryPath(entry)} is not platform-neutral:\n- ${problems.join('\n- ')}`)
  }
}
