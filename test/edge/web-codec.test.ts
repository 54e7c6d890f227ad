import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { deflateRawSync, deflateSync } from 'node:zlib'
import t from 'tap'
import { createEncryptedCodec } from '../../plugin/codecs/encrypted.js'
import { ENCRYPTED_KEY_PURPOSE } from '../../plugin/codecs/encrypted-format.js'
import { createFlaskCodec } from '../../plugin/codecs/flask.js'
import { createSignedCodec } from '../../plugin/codecs/signed.js'
import { macInput, SIGNED_AMAC_KEY_PURPOSE, SIGNED_KEY_PURPOSE, signedText } from '../../plugin/codecs/signed-format.js'
import { deriveKey } from '../../plugin/keys.js'
import { CLOCK_SKEW as NODE_CLOCK_SKEW, createSessionCodec as createNodeCodec } from '../../plugin/session-codec.js'
import { CLOCK_SKEW, createSessionCodec, SessionCodecError, type SessionCodecOptions } from '../../plugin/web/index.js'
import { deriveKey as webDeriveKey } from '../../plugin/web/formats.js'
import { describe, describeSession, undescribe, type Described } from './fixtures/described.js'
import { CONFIGS, cookieHeader, DATA, HUGE, isCompressed, pluginApp, pluginVectors, SECRET, STRANGER } from './web-vectors.js'

// The web entry point (fastify-cookie-session/web) run in this process on Node's own Web Crypto
// and CompressionStream, against the plugin: the same vectors give the same sessions and the same
// reasons, what it encodes loads in the plugin, its options are checked with the plugin's words,
// and every path of a hostile or broken cookie ends in the reason the Node codec gives.
// web-runtimes.test.ts runs the same vectors in Deno, Bun, workerd and Vercel's Edge Runtime.

const ID = 'AAAAAAAAAAAAAAAAAAAAAA'
const now = () => Math.floor(Date.now() / 1000)

t.test('every cookie the plugin writes or refuses reads the same in the web codec', async (t) => {
  const vectors = await pluginVectors()
  t.ok(vectors.some((v) => v.value.startsWith('s3') && isCompressed(v.value) && 'session' in v.expected), 'a compressed signed cookie')
  t.ok(vectors.some((v) => v.value.startsWith('.') && 'session' in v.expected), 'a compressed flask cookie')
  t.ok(vectors.some((v) => v.name.startsWith('encrypted, compressed') && 'session' in v.expected), 'a compressed encrypted cookie')
  t.ok(vectors.some((v) => Object.keys(v.cookies).length === 3 && 'session' in v.expected), 'a session in three cookies')
  t.ok(vectors.some((v) => v.name.includes('rotated') && 'session' in v.expected), 'a cookie under a fallback key')
  for (const reason of ['bad-signature', 'expired', 'future']) {
    t.ok(vectors.some((v) => 'reason' in v.expected && v.expected.reason === reason), `a cookie refused as ${reason}`)
  }
  for (const vector of vectors) {
    const codec = createSessionCodec(vector.options)
    t.same(await codec.inspect(vector.value).then((result) =>
      'reason' in result ? result : { session: describeSession(result.session, vector.options.format !== 'flask') }), vector.expected, vector.name)
    const expectedSession = 'session' in vector.expected ? vector.expected.session : null
    const fromCookies = await codec.decodeCookies(vector.cookies)
    t.same(fromCookies && describeSession(fromCookies, vector.options.format !== 'flask'), expectedSession, `${vector.name} (decodeCookies)`)
  }
})

t.test('what the web codec encodes loads in the plugin', async (t) => {
  for (const config of CONFIGS) {
    // Rotation: the first secret signs, so a plugin holding only it reads the cookie.
    const pluginOptions = { ...config.read, secret: Array.isArray(config.read.secret) ? config.read.secret[0] : config.read.secret } as SessionCodecOptions
    const app = await pluginApp(pluginOptions)
    const codec = createSessionCodec(config.read)
    for (const [name, data] of Object.entries(config.data)) {
      const permanent = name === 'small'
      const sessionId = 'abcdefghijklmnopqrstuv'
      const value = await codec.encode(undescribe(data) as Record<string, unknown>, { permanent, sessionId, createdAt: now() - 10 })
      if (name === 'large' && config.read.compress !== false && config.read.format !== 'encrypted') t.ok(isCompressed(value), `${config.name}: ${name} compressed`)
      const cookies = codec.split(value)
      if (name === 'huge') t.equal(cookies.length, 3, `${config.name}: huge takes three cookies`)
      const read = (await app.inject({ url: '/read', headers: { cookie: cookieHeader(cookies) } })).json()
      t.same(read, {
        isNew: false,
        data,
        sessionId: config.read.format === 'flask' ? read.sessionId : sessionId,
        permanent
      }, `${config.name}: ${name}`)
    }
    await app.close()
  }
})

t.test('the same options, the same mistakes, in the same words', async (t) => {
  const mistakes: unknown[] = [
    undefined, null, 'secret', {}, { secret: null }, { secret: [] }, { secret: 'short' }, { secret: [SECRET, 'short'] },
    { secret: 42 }, { secret: [SECRET, 42] }, { secret: SECRET, format: 'jwt' }, { secret: SECRET, cookieName: '' },
    { secret: SECRET, cookieName: 'a b' }, { secret: SECRET, cookieName: 7 }, { secret: SECRET, maxAge: 0 }, { secret: SECRET, maxAge: 1.5 },
    { secret: SECRET, maxAge: 'day' }, { secret: SECRET, maxAge: 31 * 24 * 3600 * 1000 }, { secret: SECRET, absoluteMaxAge: -1 },
    { secret: SECRET, format: 'flask', absoluteMaxAge: 3600 }, { secret: SECRET, compress: 'yes' }, { secret: SECRET, maxCookies: 0 },
    { secret: SECRET, maxCookies: 4 }, { secret: SECRET, maxCookies: 2.5 }, { secret: SECRET, format: 'flask', maxCookies: 2 },
    { secret: SECRET, cookie: { path: '/' } }, { secret: SECRET, permanent: true }, { secret: 'x', format: 'flask', unknown: 1 }
  ]
  const thrown = (create: () => unknown) => {
    try {
      create()
      return 'nothing thrown'
    } catch (error) {
      const { code, message } = error as { code: string, message: string }
      return { code, message }
    }
  }
  for (const options of mistakes) {
    const fromNode = thrown(() => createNodeCodec(options as never))
    t.not(fromNode, 'nothing thrown', `the plugin refuses ${JSON.stringify(options)}`)
    t.same(thrown(() => createSessionCodec(options as never)), fromNode, JSON.stringify(options))
  }
  t.type(thrown(() => createSessionCodec({ secret: 'short' })), Object)
  try {
    createSessionCodec({ secret: 'short' })
  } catch (error) {
    t.ok(error instanceof SessionCodecError && error.name === 'SessionCodecError', 'a SessionCodecError')
  }
  for (const options of [{ secret: 'x', format: 'flask' }, { secret: Buffer.from(SECRET) }, { secret: new Uint8Array(32) }, { secret: SECRET, maxCookies: 3, cookieName: 'sid' }] as SessionCodecOptions[]) {
    const node = createNodeCodec(options as never)
    const web = createSessionCodec(options)
    t.same({ cookieName: web.cookieName, maxCookies: web.maxCookies }, { cookieName: node.cookieName, maxCookies: node.maxCookies }, JSON.stringify(options))
  }
  t.equal(CLOCK_SKEW, NODE_CLOCK_SKEW, 'the same clock skew')
})

t.test('keys: HKDF-SHA256 as the plugin derives them', async (t) => {
  const secret = Buffer.from(SECRET)
  for (const purpose of [SIGNED_KEY_PURPOSE, ENCRYPTED_KEY_PURPOSE]) {
    t.same(Buffer.from(await webDeriveKey(secret, purpose)), deriveKey(secret, purpose), purpose)
  }
})

// ---- refused values, each for the reason the Node codec gives --------------------------------

/** The s3 MAC, computed independently with createHash: SHA-384 of key ‖ name=text, 43 base64url characters. */
function signedMac (secret: string, cookieName: string, text: string): string {
  const key = deriveKey(Buffer.from(secret), SIGNED_AMAC_KEY_PURPOSE)
  return createHash('sha384').update(key).update(macInput(cookieName, text)).digest('base64url').slice(0, 43)
}

/** The s2 MAC (HMAC-SHA256), for the older cookies both codecs still read. */
function hmacMac (secret: string, cookieName: string, text: string): string {
  return createHmac('sha256', deriveKey(Buffer.from(secret), SIGNED_KEY_PURPOSE)).update(macInput(cookieName, text)).digest('base64url')
}

/** A signed value with any payload bytes, MAC'd with the secret: what only a key holder can make. */
function signedWith (payload: Buffer, deflated: boolean, { issuedAt = now(), createdAt = issuedAt }: { issuedAt?: number, createdAt?: number } = {}): string {
  const text = signedText({ payload: payload.toString('base64url'), deflated, issuedAt, createdAt, id: ID, permanent: false })
  return `${text}.${signedMac(SECRET, 'session', text)}`
}

/** An s2 value (HMAC-SHA256), as the plugin wrote before s3. */
function s2With (payload: Buffer, deflated: boolean): string {
  const text = signedWith(payload, deflated).replace(/^s3/, 's2').replace(/\.[^.]*$/, '')
  return `${text}.${hmacMac(SECRET, 'session', text)}`
}

function encryptedWith (plaintext: Buffer, version = 'e2'): string {
  const key = deriveKey(Buffer.from(SECRET), ENCRYPTED_KEY_PURPOSE)
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 }).setAAD(Buffer.from(`${version}.session`))
  const sealed = Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()])
  return `${version}.${sealed.toString('base64url')}`
}

function flaskWith (payload: string, issuedAt = now(), secret = SECRET): string {
  const key = createHmac('sha1', secret).update('cookie-session').digest()
  const time = Buffer.alloc(4)
  time.writeUInt32BE(issuedAt)
  const text = `${payload}.${time.toString('base64url')}`
  return `${text}.${createHmac('sha1', key).update(text).digest('base64url')}`
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
/** The value with its last character's lowest bit flipped: an unused bit of the MAC, so the same bytes spelled differently. */
const respelled = (value: string) => value.slice(0, -1) + ALPHABET[ALPHABET.indexOf(value.at(-1) as string) ^ 1]

const deep = (depth: number): string => depth === 0 ? '1' : `{"a":${deep(depth - 1)}}`

t.test('hostile and broken values: null, for the Node codec\'s reason', async (t) => {
  const signed = { secret: SECRET }
  const encrypted = { secret: SECRET, format: 'encrypted' } as const
  const flask = { secret: SECRET, format: 'flask' } as const
  const nodeSigned = createSignedCodec([Buffer.from(SECRET)], 'session', { compress: true })
  const nodeEncrypted = createEncryptedCodec([Buffer.from(SECRET)], 'session', { compress: true })
  const input = (json: string, more: object = {}) => ({ data: {}, json, issuedAt: now(), createdAt: now(), id: ID, permanent: false, ...more })
  const valid = await createSessionCodec(signed).encode({ user: 'ada' })
  const validFlask = await createSessionCodec(flask).encode({ user: 'ada' })

  const cases: Array<[name: string, options: SessionCodecOptions, value: string]> = [
    ['empty', signed, ''],
    ['longer than a cookie can be', signed, `s2.${'A'.repeat(4100)}`],
    ['not the shape', signed, 'hello'],
    ['a MAC spelled differently (non-canonical last character)', signed, respelled(valid)],
    ['s1 prefix on an s3 value', signed, valid.replace(/^s3/, 's1')],
    ['s2 prefix on an s3 value', signed, valid.replace(/^s3/, 's2')],
    ['s1 with the deflated flag', signed, s2With(Buffer.from('{}'), true).replace(/^s2/, 's1')],
    ['an s2 cookie (HMAC-SHA256), still read', signed, s2With(Buffer.from('{"a":1}'), false)],
    ['an s2 cookie, deflated', signed, s2With(deflateRawSync(Buffer.from('{"a":1}')), true)],
    ['an s2 MAC spelled differently', signed, respelled(s2With(Buffer.from('{"a":1}'), false))],
    ['an s2 cookie under another key', { secret: STRANGER }, s2With(Buffer.from('{"a":1}'), false)],
    ['an s3 text with an HMAC-SHA256 MAC', signed, `${valid.slice(0, valid.lastIndexOf('.'))}.${hmacMac(SECRET, 'session', valid.slice(0, valid.lastIndexOf('.')))}`],
    ['JSON that is not an object', signed, nodeSigned.encode(input('[1]'))],
    ['JSON nested deeper than can be saved', signed, nodeSigned.encode(input(deep(70)))],
    ['invalid UTF-8', signed, signedWith(Buffer.from([0x7b, 0xff, 0x7d]), false)],
    ['a decompression bomb (256 KiB + 1 inflated)', signed, signedWith(deflateRawSync(Buffer.from(`{"a":"${'x'.repeat(256 * 1024 - 7)}"}`)), true)],
    ['just within the inflate bound (256 KiB)', signed, signedWith(deflateRawSync(Buffer.from(`{"a":"${'x'.repeat(256 * 1024 - 8)}"}`)), true)],
    ['not deflate data', signed, signedWith(Buffer.from('ffffffff0000', 'hex'), true)],
    ['truncated deflate data', signed, signedWith(deflateRawSync(Buffer.from(`{"a":"${'x'.repeat(500)}"}`)).subarray(0, 10), true)],
    ['created after it was issued', signed, nodeSigned.encode(input('{}', { createdAt: now() + 10 }))],
    ['older than absoluteMaxAge', { ...signed, absoluteMaxAge: 60 }, nodeSigned.encode(input('{}', { createdAt: now() - 61 }))],
    ['issued just within the clock skew', signed, nodeSigned.encode(input('{}', { issuedAt: now() + 30, createdAt: now() }))],
    ['encrypted: not the shape', encrypted, 'e3.AAAA'],
    ['encrypted: too short', encrypted, 'e2.AAAA'],
    ['encrypted: not canonical base64url', encrypted, `e2.${'A'.repeat(80)}B`],
    ['encrypted: no header', encrypted, encryptedWith(Buffer.from('{"user":"ada","pad":"0123456789012345"}'))],
    ['encrypted: e1 with the deflated flag', encrypted, encryptedWith(Buffer.from(`1.1.${ID}.2.{}`), 'e1')],
    ['encrypted: e1, as written before compression', encrypted, encryptedWith(Buffer.from(`${now().toString(36)}.${now().toString(36)}.${ID}.0.{"old":true}`), 'e1')],
    ['encrypted: not JSON', encrypted, nodeEncrypted.encode(input('nope'))],
    ['encrypted: compressed, not deflate data', encrypted, encryptedWith(Buffer.concat([Buffer.from(`${now().toString(36)}.${now().toString(36)}.${ID}.2.`), Buffer.from('ffff', 'hex')]))],
    ['flask: a signature spelled differently', flask, respelled(validFlask)],
    ['flask: a timestamp with a leading zero byte', flask, flaskWith(Buffer.from('{}').toString('base64url')).replace(/\.([^.]+)\./, '.AA$1.')],
    ['flask: not an object', flask, flaskWith(Buffer.from('[1]').toString('base64url'))],
    ['flask: an integer JavaScript would round', flask, flaskWith(Buffer.from('{"n":12345678901234567890}').toString('base64url'))],
    ['flask: a safe long integer', flask, flaskWith(Buffer.from('{"n":1234567890123456}').toString('base64url'))],
    ['flask: invalid UTF-8', flask, flaskWith(Buffer.from([0x7b, 0xff, 0x7d]).toString('base64url'))],
    ['flask: compressed, not zlib data', flask, flaskWith(`.${Buffer.from('ffffffff', 'hex').toString('base64url')}`)],
    ['flask: compressed', flask, flaskWith(`.${deflateSync('{"user":"ada"}').toString('base64url')}`)],
    ['flask: bytes with non-zero unused bits', flask, flaskWith(Buffer.from('{"b":{" b":"AB=="}}').toString('base64url'))],
    ['flask: bytes', flask, flaskWith(Buffer.from('{"b":{" b":"AA=="},"c":{" b":"AAA="},"d":{" b":"AAAA"}}').toString('base64url'))],
    ['flask: nested too deep', flask, flaskWith(Buffer.from(deep(70)).toString('base64url'))]
  ]
  for (const [name, options, value] of cases) {
    const node = createNodeCodec(options as never).inspect(value)
    const expected = 'reason' in node ? node : { session: describeSession(node.session, options.format !== 'flask') }
    const web = await createSessionCodec(options).inspect(value)
    t.same('reason' in web ? web : { session: describeSession(web.session, options.format !== 'flask') }, expected, `${name}: ${'reason' in expected ? expected.reason : 'valid'}`)
  }

  for (const absent of [undefined, null, '']) t.equal(await createSessionCodec(signed).decode(absent), null, `${String(absent)}: null`)
  t.same(await createSessionCodec(signed).inspect(undefined), { reason: 'malformed' })
  t.equal(await createSessionCodec(signed).decodeCookies({ 'session.1': valid }), null, 'a piece without the first: null')
  t.equal(await createSessionCodec({ ...signed, secret: STRANGER }).decode(valid), null, 'another key: null')
})

t.test('encode: the plugin\'s checks and errors', async (t) => {
  const codec = createSessionCodec({ secret: SECRET })
  await t.rejects(codec.encode({ f: () => 1 }), { code: 'FST_SESSION_UNSTORABLE_VALUE', message: 'Session value cannot be stored: session.f is a function' })
  await t.rejects(codec.encode({ n: Infinity }), { code: 'FST_SESSION_UNSTORABLE_VALUE' })
  await t.rejects(codec.encode({ d: new Date(NaN) }), { code: 'FST_SESSION_UNSTORABLE_VALUE' })
  await t.rejects(codec.encode({ m: new Map() }), { code: 'FST_SESSION_UNSTORABLE_VALUE', message: /a Map instance/ })
  await t.rejects(createSessionCodec({ secret: SECRET, format: 'flask' }).encode({ d: new Date('0050-01-01T00:00:00Z') }),
    { code: 'FST_SESSION_UNSTORABLE_VALUE', message: /outside the years 100 to 9999/ })
  await t.rejects(codec.encode({}, { sessionId: 'short' }), new TypeError('sessionId must be 22 base64url characters, as session.sessionId gives it'))
  for (const createdAt of [1.5, -1, now() + 100]) {
    await t.rejects(codec.encode({}, { createdAt }), { name: 'TypeError', message: /createdAt must be whole seconds/ })
  }
  const huge = undescribe(HUGE) as Record<string, unknown>
  const nodeError = (() => {
    try {
      createNodeCodec({ secret: SECRET, compress: false }).encode({ ...huge, small: 1 })
    } catch (error) {
      return error as Error
    }
  })()
  await t.rejects(createSessionCodec({ secret: SECRET, compress: false }).encode({ ...huge, small: 1 }),
    { code: 'FST_SESSION_TOO_LARGE', message: (nodeError as Error).message })
  t.throws(() => createSessionCodec({ secret: SECRET, maxCookies: 2 }).split('x'.repeat(9000)), { code: 'FST_SESSION_TOO_LARGE', message: /the 8192 bytes of its 2 cookies/ })
  t.same(createSessionCodec({ secret: SECRET }).split('abc'), [['session', 'abc']])

  const value = await codec.encode({ user: 'ada', gone: undefined, nested: { a: [1, 2] } })
  const session = await codec.decode(value)
  t.same(session?.data, { user: 'ada', nested: { a: [1, 2] } }, 'undefined values are left out')
  t.match(session, { permanent: false, sessionId: /^[A-Za-z0-9_-]{22}$/ })
  t.ok((session?.issuedAt ?? 0) >= now() - 1 && session?.createdAt === session?.issuedAt, 'issued and created now')
  const bytes = (await codec.decode(await codec.encode({ b: Buffer.from([1, 2, 3]) })))?.data.b
  // 125 random printable characters: deflate's fixed codes spend 8 bits on each, its own tables
  // more than they save, so the payload stays as it is.
  const printable = Array.from({ length: 93 }, (_, i) => String.fromCharCode(35 + i)).join('').replace('\\', ' ')
  const incompressible = { t: Array.from(randomBytes(125), (byte) => printable[byte % printable.length]).join('') }
  t.notOk(isCompressed(await codec.encode(incompressible)), 'not deflated when that is not shorter')
  const flaskPlain = await createSessionCodec({ secret: SECRET, format: 'flask', compress: false }).encode(undescribe(DATA.large as Described) as Record<string, unknown>)
  t.notOk(isCompressed(flaskPlain), 'flask with compress: false')
  t.same(describe((await createSessionCodec({ secret: SECRET, format: 'flask' }).decode(flaskPlain))?.data), DATA.large)
  t.ok(bytes instanceof Uint8Array && !Buffer.isBuffer(bytes), 'bytes come back as a plain Uint8Array')
  t.same(describe(bytes), ['bytes', '010203'])
})

t.test('a Flask cookie from real Flask (the recorded vectors) reads as the plugin reads it', async (t) => {
  const { vectors } = JSON.parse(readFileSync(new URL('../fixtures/flask-vectors.json', import.meta.url), 'utf8')) as {
    vectors: Array<{ name: string, secret: string, timestamp: number, cookie: string }>
  }
  const realNow = Date.now
  t.teardown(() => { Date.now = realNow })
  for (const vector of vectors) {
    Date.now = () => (vector.timestamp + 5) * 1000
    const options = { secret: vector.secret, format: 'flask' } as const
    const node = createNodeCodec(options).inspect(vector.cookie)
    const web = await createSessionCodec(options).inspect(vector.cookie)
    const described = (result: typeof web | typeof node) => 'reason' in result ? result : { session: describeSession(result.session, false) }
    t.same(described(web), described(node), vector.name)
    if ('session' in web) {
      // Written back by the web codec, it reads the same in the Node codec: tuples, UUID and Markup marks included.
      const again = await createSessionCodec(options).encode(web.session.data, { permanent: web.session.permanent })
      const nodeAgain = createFlaskCodec([Buffer.from(vector.secret)], 'session').decode(again)
      const nodeFirst = createFlaskCodec([Buffer.from(vector.secret)], 'session').decode(vector.cookie)
      t.same(typeof nodeAgain === 'string' ? nodeAgain : nodeAgain.json, typeof nodeFirst === 'string' ? nodeFirst : nodeFirst.json, `${vector.name}: written back`)
    }
  }
})

t.test('a runtime without CompressionStream and DecompressionStream (as @edge-runtime/vm)', async (t) => {
  const saved = { CompressionStream: globalThis.CompressionStream, DecompressionStream: globalThis.DecompressionStream }
  const compressed = await createSessionCodec({ secret: SECRET }).encode(undescribe(DATA.large as Described) as Record<string, unknown>)
  const flaskCompressed = await createSessionCodec({ secret: SECRET, format: 'flask' }).encode(undescribe(DATA.large as Described) as Record<string, unknown>)
  t.ok(isCompressed(compressed) && isCompressed(flaskCompressed), 'compressed while the streams were there')
  const plain = await createSessionCodec({ secret: SECRET }).encode({ user: 'ada' })
  const expired = signedWith(deflateRawSync(Buffer.from(JSON.stringify(undescribe(DATA.large as Described)))), true, { issuedAt: now() - 32 * 24 * 3600 })
  // @ts-expect-error -- removed for this test, as the runtime lacks them
  delete globalThis.CompressionStream
  // @ts-expect-error -- removed for this test, as the runtime lacks them
  delete globalThis.DecompressionStream
  t.teardown(() => Object.assign(globalThis, saved))

  const codec = createSessionCodec({ secret: SECRET })
  t.same((await codec.decode(plain))?.data, { user: 'ada' }, 'an uncompressed cookie reads')
  await t.rejects(codec.decode(compressed), { name: 'SessionCodecError', code: 'FST_SESSION_NO_DECOMPRESSION', message: /no DecompressionStream/ },
    'a genuine compressed cookie rejects with FST_SESSION_NO_DECOMPRESSION')
  await t.rejects(createSessionCodec({ secret: SECRET, format: 'flask' }).decode(flaskCompressed), { code: 'FST_SESSION_NO_DECOMPRESSION' })
  t.equal(await codec.decode(compressed.replace(/.$/, (c) => c === 'A' ? 'Q' : 'A')), null, 'a forged compressed cookie is still just null')
  t.same(await codec.inspect(expired), { reason: 'expired' }, 'and an expired one is expired: times are checked before the payload is read')
  const written = await codec.encode(undescribe(DATA.large as Described) as Record<string, unknown>)
  t.notOk(isCompressed(written), 'encode writes it uncompressed')
  Object.assign(globalThis, saved)
  const app = await pluginApp({ secret: SECRET })
  t.teardown(() => app.close())
  t.same((await app.inject({ url: '/read', headers: { cookie: `session=${written}` } })).json().data, DATA.large, 'which the plugin reads')
})
