/* global Deno, Bun */
// Runs inside Deno or Bun next to the bundle under test (copied beside it as bundle.mjs): reads one
// JSON request per line on stdin, answers each on stdout as a line starting with the marker below,
// and exits when stdin closes, so a parent that dies takes its runtime with it. Only the runtime's
// own stdio API differs between Deno and Bun; everything else is the Web platform.
import * as bundle from './bundle.mjs'

const MARKER = '\u0001edge-harness\u0001'
const writeLine = outputWriter()

function inputStream () {
  return globalThis.Deno !== undefined ? Deno.stdin.readable : Bun.stdin.stream()
}

function outputWriter () {
  if (globalThis.Deno !== undefined) {
    const writer = Deno.stdout.writable.getWriter()
    const encoder = new TextEncoder()
    return (line) => writer.write(encoder.encode(line))
  }
  const sink = Bun.stdout.writer()
  return (line) => { sink.write(line); return sink.flush() }
}

async function answer (line) {
  const { id, input } = JSON.parse(line)
  let reply
  try {
    reply = JSON.stringify({ id, ok: true, output: await bundle.run(input) })
  } catch (error) {
    reply = JSON.stringify({ id, ok: false, error: { name: error?.name, message: error?.message ?? String(error), stack: error?.stack } })
  }
  // JSON leaves U+2028 and U+2029 unescaped, and Node 26's readline splits lines on them: escaped
  // here, the answer stays one line on every Node (JSON.parse reads the escapes back).
  await writeLine(`${MARKER}${reply.replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029')}\n`)
}

await writeLine(`${MARKER}${JSON.stringify({ ready: true })}\n`)
let pending = ''
for await (const text of inputStream().pipeThrough(new TextDecoderStream())) {
  const lines = (pending + text).split('\n')
  pending = lines.pop()
  for (const line of lines) if (line !== '') answer(line)
}
