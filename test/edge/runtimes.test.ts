import { createHmac, createCipheriv, hkdfSync, randomBytes } from 'node:crypto'
import { deflateRawSync, deflateSync, inflateRawSync, inflateSync } from 'node:zlib'
import t, { type Test } from 'tap'
import type { Inflated, Outcome, ProbeRequest } from './fixtures/probe.js'
import { eachRuntime, type RuntimeSession } from './runtimes.js'

// Each edge runtime really offers what the Web-platform session codec needs, and agrees with
// node:crypto and node:zlib byte for byte: test/edge/fixtures/probe.ts runs inside the runtime,
// every expected value is computed here with Node's own implementations.

const PROBE = new URL('./fixtures/probe.ts', import.meta.url)

// @edge-runtime/vm (what Next.js middleware runs in) has no CompressionStream or DecompressionStream
// (vercel/edge-runtime#750): the codec cannot inflate there. Pinned here so the day it appears,
// the globals test fails and the compression tests can be switched on for it.
const LACKS: Partial<Record<string, string[]>> = { 'edge-runtime': ['CompressionStream', 'DecompressionStream'] }
const NEEDED = ['crypto.subtle', 'crypto.getRandomValues', 'TextEncoder', 'TextDecoder', 'ReadableStream',
  'CompressionStream', 'DecompressionStream']

/** Bytes (or a string's UTF-8) as the probe's hex. */
const hex = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('hex')

/** The probe's answer, or a failed assertion-ready Error carrying what the runtime threw. */
async function probe<T> (runtime: RuntimeSession, request: ProbeRequest): Promise<T> {
  const outcome = await runtime.run(request) as Outcome<T>
  if (!outcome.ok) throw new Error(`${runtime.runtime} threw ${outcome.name}: ${outcome.message} for ${request.op}`)
  return outcome.value
}

/** What the runtime threw for `request` (name and message), or undefined when it did not throw. */
async function thrown (runtime: RuntimeSession, request: ProbeRequest) {
  const outcome = await runtime.run(request) as Outcome<unknown>
  return outcome.ok ? undefined : { name: outcome.name, message: outcome.message }
}

function flipped (bytes: Buffer, index: number): Buffer {
  const copy = Buffer.from(bytes)
  copy[index] = (copy[index] as number) ^ 0x01
  return copy
}

function nodeSeal (key: Buffer, iv: Buffer, aad: Buffer, plaintext: Buffer): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 }).setAAD(aad)
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()])
}

async function hmacTests (t: Test, runtime: RuntimeSession) {
  for (const [hash, nodeHash] of [['SHA-256', 'sha256'], ['SHA-1', 'sha1']] as const) {
    // A 100-byte key is longer than the block: HMAC hashes it first, a step worth agreeing on.
    const cases: Array<[key: Buffer, data: Buffer]> = [[randomBytes(32), Buffer.alloc(0)], [randomBytes(100), randomBytes(1000)]]
    for (const [key, data] of cases) {
      const answer = await probe<{ mac: string, verifies: boolean, tamperedVerifies: boolean }>(runtime,
        { op: 'hmac', hash, key: hex(key), data: hex(data), tampered: hex(Buffer.concat([data, Buffer.from([0])])) })
      t.equal(answer.mac, createHmac(nodeHash, key).update(data).digest('hex'), `HMAC-${hash}, ${key.length}-byte key, ${data.length}-byte message`)
      t.ok(answer.verifies, `HMAC-${hash} verify accepts its own MAC`)
      t.notOk(answer.tamperedVerifies, `HMAC-${hash} verify rejects the MAC for another message`)
    }
  }
}

async function hkdfTests (t: Test, runtime: RuntimeSession) {
  const ikm = randomBytes(32)
  for (const salt of [Buffer.alloc(0), randomBytes(16)]) {
    for (const bytes of [32, 64]) {
      const info = Buffer.from(`fastify-cookie-session ${bytes}`)
      const derived = await probe<string>(runtime, { op: 'hkdf', hash: 'SHA-256', ikm: hex(ikm), salt: hex(salt), info: hex(info), bytes })
      t.equal(derived, Buffer.from(hkdfSync('sha256', ikm, salt, info, bytes)).toString('hex'),
        `HKDF-SHA256, ${salt.length}-byte salt, ${bytes} bytes out`)
    }
  }
}

async function aesGcmTests (t: Test, runtime: RuntimeSession) {
  const key = randomBytes(32)
  const iv = randomBytes(12)
  const aad = Buffer.from('session|v1')
  for (const plaintext of [Buffer.alloc(0), Buffer.from('{"user":"K\u00edmi"}'), randomBytes(3000)]) {
    const sealed = nodeSeal(key, iv, aad, plaintext)
    const request = { key: hex(key), iv: hex(iv), aad: hex(aad) }
    t.equal(await probe(runtime, { op: 'seal', ...request, plaintext: hex(plaintext) }), sealed.toString('hex'),
      `AES-256-GCM seals ${plaintext.length} bytes as node:crypto does (ciphertext, then the 16-byte tag)`)
    t.equal(await probe(runtime, { op: 'open', ...request, sealed: hex(sealed) }), hex(plaintext),
      `AES-256-GCM opens node:crypto's ${plaintext.length}-byte message`)
  }
  const sealed = nodeSeal(key, iv, aad, Buffer.from('{"admin":false}'))
  const rejections = {
    'a changed ciphertext byte': { key: hex(key), iv: hex(iv), aad: hex(aad), sealed: hex(flipped(sealed, 0)) },
    'a changed tag byte': { key: hex(key), iv: hex(iv), aad: hex(aad), sealed: hex(flipped(sealed, sealed.length - 1)) },
    'other additional data': { key: hex(key), iv: hex(iv), aad: hex('session|v2'), sealed: hex(sealed) },
    'another IV': { key: hex(key), iv: hex(flipped(iv, 0)), aad: hex(aad), sealed: hex(sealed) }
  }
  for (const [change, request] of Object.entries(rejections)) {
    t.equal((await thrown(runtime, { op: 'open', ...request }))?.name, 'OperationError', `AES-256-GCM refuses ${change}`)
  }
}

async function randomTests (t: Test, runtime: RuntimeSession) {
  const [first, second] = await probe<[string, string]>(runtime, { op: 'random', bytes: 32 })
  t.equal(first.length, 64, 'getRandomValues fills all 32 bytes')
  t.not(first, second, 'two draws differ')
  t.not(first, '00'.repeat(32), 'and are not left zero')
}

async function textTests (t: Test, runtime: RuntimeSession) {
  // A lone surrogate becomes U+FFFD when encoded, in Node's Buffer as in TextEncoder.
  const text = 'plain K\u00edmi \u2713 \ud83d\ude00 lone \ud800 end'
  t.equal(await probe(runtime, { op: 'encodeUtf8', text }), Buffer.from(text, 'utf8').toString('hex'), 'TextEncoder writes UTF-8 as Node does')
  const decoder = new TextDecoder('utf-8', { fatal: true })
  for (const bytes of [Buffer.from(text, 'utf8'), Buffer.from('efbbbf61', 'hex')]) {
    t.equal(await probe(runtime, { op: 'decodeUtf8', bytes: hex(bytes) }), decoder.decode(bytes), `fatal TextDecoder reads ${hex(bytes).slice(0, 16)}… as Node does`)
  }
  for (const invalid of ['ff', 'c3', 'eda080', 'f4908080', 'c0af']) {
    t.equal((await thrown(runtime, { op: 'decodeUtf8', bytes: invalid }))?.name, 'TypeError', `fatal TextDecoder throws a TypeError on ${invalid}`)
  }
}

const ZLIB = {
  'deflate-raw': { deflate: deflateRawSync, inflate: inflateRawSync },
  deflate: { deflate: deflateSync, inflate: inflateSync }
} as const

async function compressionTests (t: Test, runtime: RuntimeSession) {
  const samples = [Buffer.alloc(0), Buffer.from('{"user":"kimi","visits":1}'.repeat(300)), randomBytes(5000)]
  for (const format of ['deflate-raw', 'deflate'] as const) {
    const zlib = ZLIB[format]
    for (const data of samples) {
      const compressed = Buffer.from(await probe<string>(runtime, { op: 'compress', format, data: hex(data) }), 'hex')
      t.same(zlib.inflate(compressed), data, `node:zlib inflates the runtime's ${format} of ${data.length} bytes`)
      for (const level of [1, 9]) {
        const inflated = await probe<Inflated>(runtime,
          { op: 'decompress', format, data: hex(zlib.deflate(data, { level })), limit: 1 << 20, sliceBytes: 1 << 16 })
        t.equal(inflated.data, hex(data), `the runtime inflates node:zlib's ${format} (level ${level}) of ${data.length} bytes`)
      }
    }
    t.ok(await thrown(runtime, { op: 'decompress', format, data: 'ffffffff0000', limit: 1 << 20, sliceBytes: 1 << 16 }),
      `${format}: input that is not deflate data is rejected`)
  }
}

// The bounded inflate the codec needs against a decompression bomb: stop reading once more than
// `limit` bytes came out. Deno hands over everything one input chunk inflates to in one piece (all
// 8 MiB here when the 8 KB input is one chunk), so the input goes in small slices: deflate expands
// at most 1032:1, which caps each piece at about 64 KiB for 64-byte slices in every runtime.
const BOMB_BYTES = 8 << 20
const BOMBS = {
  'deflate-raw': deflateRawSync(Buffer.alloc(BOMB_BYTES), { level: 9 }),
  deflate: deflateSync(Buffer.alloc(BOMB_BYTES), { level: 9 })
}

async function boundedInflateTests (t: Test, runtime: RuntimeSession) {
  const limit = 64 * 1024
  for (const format of ['deflate-raw', 'deflate'] as const) {
    const bomb = BOMBS[format]
    const inflated = await probe<Inflated>(runtime, { op: 'decompress', format, data: hex(bomb), limit, sliceBytes: 64 })
    t.ok(inflated.exceeded, `${format}: a ${bomb.length}-byte bomb of ${BOMB_BYTES} bytes goes over the ${limit}-byte limit`)
    t.ok(inflated.produced < 4 * limit, `${format}: reading stopped after ${inflated.produced} bytes, not ${BOMB_BYTES}`)
    t.equal(inflated.data, undefined, `${format}: nothing is returned past the limit`)

    const fits = Buffer.from('x'.repeat(limit))
    const whole = await probe<Inflated>(runtime, { op: 'decompress', format, data: hex(ZLIB[format].deflate(fits)), limit, sliceBytes: 64 })
    t.same({ exceeded: whole.exceeded, data: whole.data }, { exceeded: false, data: hex(fits) }, `${format}: exactly ${limit} bytes fit`)
  }
}

async function harnessTests (t: Test, runtime: RuntimeSession) {
  // Line and paragraph separators, a NUL, astral characters: a line-based transport must not split on them.
  const value = { text: 'a\nb\r\u2028\u2029\u0000 K\u00edmi \ud83d\ude00', list: [1.5, -0, null, true, { deep: [[]] }], big: 2 ** 53 - 1 }
  t.same(await runtime.run({ op: 'echo', value }), { ok: true, value: JSON.parse(JSON.stringify(value)) }, 'JSON comes back as sent')
  await t.rejects(runtime.run({ op: 'throw', message: 'boom' }), { message: `${runtime.runtime}: run() threw RangeError: boom` },
    'what run() throws rejects the call, naming the runtime')
  t.same(await runtime.run({ op: 'echo', value: 'still here' }), { ok: true, value: 'still here' }, 'and the session goes on serving')
}

await eachRuntime(t, PROBE, async (t, runtime) => {
  const lacks = LACKS[runtime.runtime] ?? []
  t.test('the harness carries JSON and errors both ways', (t) => harnessTests(t, runtime))
  t.test('offers the Web APIs the codec needs', async (t) => {
    const globals = await probe<Record<string, string>>(runtime, { op: 'globals' })
    const missing = NEEDED.filter((name) => globals[name] === 'undefined')
    t.same(missing, lacks, lacks.length === 0 ? 'none missing' : `missing exactly the known gaps: ${lacks.join(', ')}`)
  })
  t.test('HMAC-SHA256 and HMAC-SHA1 sign and verify as node:crypto does', (t) => hmacTests(t, runtime))
  t.test('HKDF-SHA256 derives what node:crypto derives', (t) => hkdfTests(t, runtime))
  t.test('AES-256-GCM with a 12-byte IV, 16-byte tag and AAD matches node:crypto', (t) => aesGcmTests(t, runtime))
  t.test('crypto.getRandomValues', (t) => randomTests(t, runtime))
  t.test('TextEncoder and fatal TextDecoder', (t) => textTests(t, runtime))
  const noStreams = lacks.includes('DecompressionStream') && `${runtime.runtime} has no CompressionStream (see LACKS)`
  t.test('deflate-raw and deflate round trips with node:zlib', { skip: noStreams }, (t) => compressionTests(t, runtime))
  t.test('bounded inflate stops reading a decompression bomb', { skip: noStreams }, (t) => boundedInflateTests(t, runtime))
})
