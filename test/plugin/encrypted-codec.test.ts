import t, { type Test } from 'tap'
import fc from 'fast-check'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { buildApp, cookiePair, pinClock, sessionSetCookie, setCookieHeaders, SECRET, OTHER_SECRET } from '../helpers.js'
import type { CookieSessionOptions, InvalidReason } from '../../plugin/index.js'
import { createEncryptedCodec } from '../../plugin/codecs/encrypted.js'

// format: 'encrypted' over real requests: what the client holds is unreadable, and any change to
// it, any other key or any other cookie name gives an empty session (200, no Set-Cookie).

const T0 = 1_800_000_000
const MARKER = 'plaintext-marker-Zq7Kx'
const VALUES = {
  secret: MARKER,
  ascii: 'hello',
  unicode: 'Grüße, 日本語, עברית, emoji 🍪👩‍💻',
  loneSurrogate: '\ud800 alone',
  empty: '',
  integer: 42,
  negative: -7,
  float: 3.14159,
  maxSafe: Number.MAX_SAFE_INTEGER,
  yes: true,
  no: false,
  nothing: null,
  nested: { list: [1, 'two', { three: [null, false, []] }], deep: { deeper: { deepest: {} } } },
  tagLookalike: { ' d': 'not a date' },
  when: new Date('2024-02-29T12:34:56.789Z'),
  bytes: Buffer.from([0, 1, 2, 127, 128, 253, 254, 255])
}

interface Harness { app: FastifyInstance, reasons: InvalidReason[], seen: Record<string, unknown>[] }

async function harness (t: Test, options: Partial<CookieSessionOptions> = {}): Promise<Harness> {
  const reasons: InvalidReason[] = []
  const seen: Record<string, unknown>[] = []
  const app = await buildApp({ format: 'encrypted', onInvalidCookie: (reason) => { reasons.push(reason) }, ...options }, (app) => {
    app.get('/store', async (request) => { Object.assign(request.session, VALUES); return request.session.sessionId })
    app.get('/set/:text', async (request) => { request.session.text = (request.params as { text: string }).text; return 'ok' })
    app.get('/big/:size', async (request) => { request.session.big = 'x'.repeat(Number((request.params as { size: string }).size)); return 'ok' })
    app.get('/permanent', async (request) => { request.session.permanent = true; request.session.text = 'p'; return 'ok' })
    app.get('/same', async (request) => { request.session.text = request.session.text as string; return 'ok' })
    app.get('/touch', async (request) => { request.session.touch(); return 'ok' })
    app.get('/peek', async (request) => {
      seen.push(request.session.data())
      return { keys: Object.keys(request.session), isNew: request.session.isNew, id: request.session.sessionId, permanent: request.session.permanent }
    })
  })
  t.teardown(() => app.close())
  return { app, reasons, seen }
}

function peek (app: FastifyInstance, cookie: string): Promise<LightMyRequestResponse> {
  return app.inject({ url: '/peek', headers: { cookie } })
}

/** The request goes on as if no cookie came: 200, an empty new session, nothing set or deleted. */
async function assertIgnored (t: Test, app: FastifyInstance, cookie: string, message: string): Promise<void> {
  const response = await peek(app, cookie)
  t.equal(response.statusCode, 200, `${message}: 200`)
  const { keys, isNew } = response.json()
  t.same({ keys, isNew }, { keys: [], isNew: true }, `${message}: empty session`)
  t.same(setCookieHeaders(response), [], `${message}: no Set-Cookie`)
}

/** The raw bytes iv ‖ ciphertext ‖ tag of a `name=e2.<base64url>` cookie pair. */
function blobOf (pair: string): Buffer {
  const value = pair.slice(pair.indexOf('=') + 1)
  if (!/^e2\.[A-Za-z0-9_-]+$/.test(value)) throw new Error(`not an encrypted cookie: ${value}`)
  return Buffer.from(value.slice(3), 'base64url')
}

const pairOf = (blob: Buffer, name = 'session'): string => `${name}=e2.${blob.toString('base64url')}`

t.test('every storable value type survives the round trip', async (t) => {
  const { app, seen } = await harness(t)
  const stored = await app.inject('/store')
  const cookie = cookiePair(stored)
  const read = await peek(app, cookie)
  t.equal(read.json().isNew, false)
  t.equal(read.json().id, stored.body, 'the session id survives')
  t.strictSame(seen[0], VALUES)
  t.ok(seen[0]?.when instanceof Date, 'Date comes back as a Date')
  t.ok(Buffer.isBuffer(seen[0]?.bytes), 'Buffer comes back as a Buffer')
  t.equal(sessionSetCookie(read), undefined, 'reading an unchanged session writes nothing')
})

t.test('the plaintext never appears in the cookie', async (t) => {
  // A marker spelled in base64url at each of the three byte alignments, as the signed format shows it.
  const needles = [0, 1, 2].map((shift) => {
    const bytes = Buffer.from(MARKER.slice(shift))
    return bytes.subarray(0, bytes.length - bytes.length % 3).toString('base64url')
  })
  const leaks = (value: string) => value.includes(MARKER) || needles.some((needle) => value.includes(needle))

  const signed = await buildApp({ compress: false }, (app) => { app.get('/', async (request) => { Object.assign(request.session, VALUES); return 'ok' }) })
  t.teardown(() => signed.close())
  t.ok(leaks(cookiePair(await signed.inject('/'))), 'control: the detector finds the marker in a signed cookie')

  const { app } = await harness(t)
  const stored = await app.inject('/store')
  const pair = cookiePair(stored)
  t.notOk(leaks(pair), 'no marker in the encrypted cookie text')
  t.notOk(blobOf(pair).includes(MARKER), 'no marker in its bytes')
  t.notOk(pair.includes(stored.body), 'the session id is not visible either')
})

t.test('any flipped bit in the IV, ciphertext or tag gives an empty session', async (t) => {
  const { app, reasons } = await harness(t)
  const blob = blobOf(cookiePair(await app.inject('/set/hi')))
  const flip = (bit: number): Buffer => {
    const flipped = Buffer.from(blob)
    flipped[bit >> 3] = (flipped[bit >> 3] as number) ^ (1 << (bit & 7))
    return flipped
  }
  // Every bit through the codec (cheap), then one bit of every byte through HTTP.
  const codec = createEncryptedCodec([Buffer.from(SECRET)], 'session')
  const bits = Array.from({ length: blob.length * 8 }, (_, bit) => bit)
  const verdicts = new Set(bits.map((bit) => codec.decode(`e2.${flip(bit).toString('base64url')}`)))
  t.same([...verdicts], ['bad-signature'], `all ${bits.length} single-bit flips refused`)

  let accepted = 0
  for (let byte = 0; byte < blob.length; byte++) {
    const response = await peek(app, pairOf(flip(byte * 8 + byte % 8)))
    if (response.statusCode !== 200 || response.json().keys.length !== 0 || setCookieHeaders(response).length !== 0) accepted++
  }
  t.equal(accepted, 0, `a flipped bit in each of the ${blob.length} bytes ignored over HTTP`)
  t.ok(reasons.length === blob.length && reasons.every((reason) => reason === 'bad-signature'), 'each reported as bad-signature')
  for (const [index, region] of [[0, 'IV'], [12, 'ciphertext'], [blob.length - 1, 'tag']] as const) {
    await assertIgnored(t, app, pairOf(flip(index * 8 + 7)), `${region} byte ${index} flipped`)
  }
  t.equal((await peek(app, pairOf(blob))).json().keys[0], 'text', 'control: the untouched cookie is accepted')
})

t.test('a tag cut to 4, 8, 12 or 15 bytes gives an empty session', async (t) => {
  const { app, reasons } = await harness(t)
  const blob = blobOf(cookiePair(await app.inject('/set/hi')))
  for (const length of [4, 8, 12, 15]) {
    await assertIgnored(t, app, pairOf(blob.subarray(0, blob.length - 16 + length)), `${length}-byte tag`)
  }
  t.same(reasons, ['bad-signature', 'bad-signature', 'bad-signature', 'bad-signature'])
})

t.test('a cookie moved to another cookie name gives an empty session', async (t) => {
  const { app } = await harness(t)
  const other = await harness(t, { cookieName: 'other' })
  const value = cookiePair(await app.inject('/set/hi')).slice('session='.length)
  await assertIgnored(t, other.app, `other=${value}`, 'under "other"')
  t.same(other.reasons, ['bad-signature'])
  t.equal((await peek(app, `session=${value}`)).json().keys[0], 'text', 'control: accepted under its own name')
})

t.test('key rotation: wrong or retired keys fail, a fallback key is accepted and re-issued', async (t) => {
  const clock = pinClock(t, T0)
  const old = await harness(t, { absoluteMaxAge: 1000 })
  const wrong = await harness(t, { secret: OTHER_SECRET })
  const rotating = await harness(t, { secret: [OTHER_SECRET, SECRET], absoluteMaxAge: 1000 })
  const retired = await harness(t, { secret: [OTHER_SECRET], absoluteMaxAge: 1000 })

  const issued = await old.app.inject('/set/hi')
  const cookie = cookiePair(issued)
  const id = (await peek(old.app, cookie)).json().id
  await assertIgnored(t, wrong.app, cookie, 'wrong key')
  t.same(wrong.reasons, ['bad-signature'])

  clock.advance(500)
  const rotated = await peek(rotating.app, cookie)
  t.match(rotated.json(), { keys: ['text'], isNew: false, id }, 'the fallback key opens it')
  const reissued = cookiePair(rotated)
  t.not(reissued, cookie, 'unchanged, but re-issued under the current key')
  await assertIgnored(t, retired.app, cookie, 'the old cookie once its key is retired')

  const current = createEncryptedCodec([Buffer.from(OTHER_SECRET)], 'session').decode(reissued.slice('session='.length))
  t.match(current, { keyIndex: 0, issuedAt: T0 + 500, createdAt: T0, id }, 'creation time and id kept')
  t.match((await peek(retired.app, reissued)).json(), { keys: ['text'], id })
  t.equal(sessionSetCookie(await peek(retired.app, reissued)), undefined, 'the current key does not re-issue')
  clock.advance(501)
  await assertIgnored(t, retired.app, reissued, 'past absoluteMaxAge counted from the first creation')
  t.same(retired.reasons, ['bad-signature', 'expired'])
})

t.test('a signed cookie is not an encrypted one, and the reverse', async (t) => {
  const { app, reasons } = await harness(t)
  const signed = await buildApp({}, (app) => {
    app.get('/', async (request) => { request.session.text = 'hi'; return String(request.session.isNew) })
  })
  t.teardown(() => signed.close())
  const signedCookie = cookiePair(await signed.inject('/'))
  await assertIgnored(t, app, signedCookie, 'signed cookie, encrypted app')
  t.same(reasons, ['malformed'])
  const encryptedCookie = cookiePair(await app.inject('/set/hi'))
  const response = await signed.inject({ url: '/', headers: { cookie: encryptedCookie } })
  t.equal(response.statusCode, 200)
  t.equal(response.body, 'true', 'the signed app starts a new session')
})

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

t.test('malformed values are refused before any decryption', async (t) => {
  const { app, reasons } = await harness(t)
  const blob = blobOf(cookiePair(await app.inject('/set/hi')))
  // A length that is not a multiple of 3 leaves unused low bits in the last character: only
  // the spelling with those bits zero is canonical.
  const odd = blobOf(cookiePair(await app.inject('/set/hi' + (blob.length % 3 === 0 ? 'x' : ''))))
  const text = odd.toString('base64url')
  const sameBytes = text.slice(0, -1) + (ALPHABET[ALPHABET.indexOf(text.at(-1) as string) + 1] as string)
  t.same(Buffer.from(sameBytes, 'base64url'), odd, 'the non-canonical text decodes (loosely) to the same bytes')

  const values = [
    'e2', 'e2.', 'E2.' + blob.toString('base64url'), 'e3.' + blob.toString('base64url'), 'e2.' + blob.toString('base64url') + '=',
    'e2.' + blob.toString('base64'), 'e2.' + blob.toString('base64url').replace(/^./, '+'), 'e2.' + sameBytes,
    'e2.AAAAA', pairOf(blob.subarray(0, 12 + 31 + 15)).slice(8), 'e2..' + blob.toString('base64url')
  ]
  for (const value of values) await assertIgnored(t, app, `session=${value}`, JSON.stringify(value.slice(0, 12)))
  t.same(reasons, values.map(() => 'malformed'))
  t.equal((await peek(app, pairOf(odd))).json().keys[0], 'text', 'control: the canonical spelling is accepted')
})

t.test('authenticated contents that are not a session give an empty session', async (t) => {
  const { app, reasons } = await harness(t)
  const codec = createEncryptedCodec([Buffer.from(SECRET)], 'session')
  const meta = { issuedAt: T0, createdAt: T0, id: 'A'.repeat(22), permanent: false, data: {} }
  pinClock(t, T0)
  const payloads = [
    { ...meta, json: 'not json at all' },
    { ...meta, json: '[1,2]' },
    { ...meta, json: '{"when":{" d":"not a date"}}' },
    { ...meta, json: '{"a":1}', issuedAt: -1 },
    { ...meta, json: '{"a":1}', id: 'too short' },
    { ...meta, json: '{"a":1}', createdAt: T0 + 1 }
  ]
  for (const payload of payloads) await assertIgnored(t, app, `session=${codec.encode(payload)}`, payload.json)
  t.same(reasons, payloads.map(() => 'bad-payload'))
  t.match((await peek(app, `session=${codec.encode({ ...meta, json: '{"a":1}' })}`)).json(), { keys: ['a'] }, 'control')
})

t.test('decode never throws, whatever the value', async (t) => {
  const codec = createEncryptedCodec([Buffer.from(SECRET), Buffer.from(OTHER_SECRET)], 'session')
  const valid = codec.encode({ issuedAt: T0, createdAt: T0, id: 'A'.repeat(22), permanent: true, data: {}, json: '{"a":1}' })
  t.match(codec.decode(valid), { data: { a: 1 }, permanent: true, keyIndex: 0 })
  const values = fc.oneof(
    fc.string({ unit: 'grapheme' }), // not 'binary': building that arbitrary costs seconds under tap
    fc.uint8Array({ maxLength: 200 }).map((bytes) => 'e2.' + Buffer.from(bytes).toString('base64url')),
    fc.tuple(fc.nat(valid.length - 1), fc.string({ minLength: 1, maxLength: 3 }))
      .map(([at, text]) => valid.slice(0, at) + text + valid.slice(at + 1))
  )
  fc.assert(fc.property(values, (value) => {
    const result = codec.decode(value)
    return value === valid || typeof result === 'string'
  }), { numRuns: 500 })
  t.pass('500 random and mutated values decoded to a reason, none threw')
})

t.test('lifetime: maxAge, future issue times, absoluteMaxAge through refreshes', async (t) => {
  const clock = pinClock(t, T0)
  const { app, reasons } = await harness(t, { maxAge: 100, absoluteMaxAge: 250, refresh: true })
  const cookie = cookiePair(await app.inject('/set/hi'))
  clock.advance(100)
  t.equal((await peek(app, cookie)).json().keys[0], 'text', 'an age equal to maxAge is still valid')
  clock.advance(1)
  await assertIgnored(t, app, cookie, 'one second past maxAge')

  clock.advance(-101 - 61)
  await assertIgnored(t, app, cookie, 'issued 61 s in the future')
  clock.advance(1)
  t.equal((await peek(app, cookie)).json().keys[0], 'text', '60 s of clock skew tolerated')
  t.same(reasons, ['expired', 'future'])

  // A permanent session refreshed on every request still ends absoluteMaxAge after creation.
  clock.advance(60)
  let permanent = cookiePair(await app.inject('/permanent'))
  for (const step of [90, 90, 60]) {
    clock.advance(step)
    const response = await peek(app, permanent)
    t.match(response.json(), { keys: ['text'], permanent: true }, `alive after ${step} s more`)
    permanent = cookiePair(response)
  }
  t.equal(sessionSetCookie(await peek(app, permanent))?.maxAge, 10, 'the last refresh expires at the absolute limit')
  clock.advance(11)
  await assertIgnored(t, app, permanent, 'past absoluteMaxAge')
})

t.test('size: the encrypted cookie must fit in 4096 bytes, and bigger ones are refused unread', async (t) => {
  const { app, reasons } = await harness(t)
  const fits = await app.inject('/big/2900')
  t.equal(fits.statusCode, 200)
  t.ok(cookiePair(fits).length <= 4096)
  const tooBig = await app.inject({ url: '/big/3100', headers: { cookie: cookiePair(fits) } })
  t.equal(tooBig.statusCode, 500)
  t.equal(tooBig.json().code, 'FST_SESSION_TOO_LARGE')
  t.equal(sessionSetCookie(tooBig), undefined, 'nothing sent: the browser keeps its cookie')
  await assertIgnored(t, app, 'session=e2.' + 'A'.repeat(4096), 'a 4099-character value')
  t.same(reasons, ['too-large'])
})

t.test('change detection, touch and a fresh IV for every cookie', async (t) => {
  const { app, seen } = await harness(t)
  const cookie = cookiePair(await app.inject('/set/hi'))
  t.equal(sessionSetCookie(await app.inject({ url: '/same', headers: { cookie } })), undefined, 'an equal value is no change')
  const changed = await app.inject({ url: '/set/bye', headers: { cookie } })
  await peek(app, cookiePair(changed))
  t.same(seen.at(-1), { text: 'bye' }, 'a changed value is re-issued')
  const ivs = new Set<string>()
  for (let i = 0; i < 20; i++) {
    const touched = await app.inject({ url: '/touch', headers: { cookie } })
    ivs.add(blobOf(cookiePair(touched)).subarray(0, 12).toString('hex'))
  }
  t.equal(ivs.size, 20, 'the same data re-issued 20 times under 20 different IVs')
})

t.test('permanent: the flag travels inside the ciphertext and sets Max-Age', async (t) => {
  pinClock(t, T0)
  const { app } = await harness(t, { maxAge: 3600, refresh: true })
  const first = await app.inject('/permanent')
  t.match(sessionSetCookie(first), { maxAge: 3600 })
  const read = await peek(app, cookiePair(first))
  t.match(read.json(), { permanent: true, keys: ['text'] })
  t.match(sessionSetCookie(read), { maxAge: 3600 }, 'refreshed, as in the signed format')
})
