import { createHash, createHmac, randomBytes } from 'node:crypto'
import t from 'tap'
import fc from 'fast-check'
import { equalInConstantTime } from '../../plugin/codecs/compare.js'
import { amacSha384 } from '../../plugin/codecs/node-amac.js'
import { hmac } from '../../plugin/codecs/node-hmac.js'

// The signed format's MACs: s3's AMAC (SHA-384 of key ‖ message, truncated) and s2's HMAC-SHA256
// computed from two one-shot hashes. Each must be what createHash/createHmac (and Web Crypto)
// compute, for any key and any message, longer than the prepared buffer or not.

/** Messages of any length up to 300, the lengths drawn uniformly (fast-check favours short ones by default). */
const ascii = fc.integer({ min: 0, max: 300 }).chain((length) =>
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: length, maxLength: length }))

/** Texts of any UTF-16 units (lone surrogates too), the lengths drawn uniformly up to 300. */
const anyText = fc.integer({ min: 0, max: 300 }).chain((length) =>
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), minLength: length, maxLength: length }))

t.test('amacSha384 is the first characters of base64url SHA-384(key ‖ UTF-8(prefix ‖ text))', async (t) => {
  const expected = (key: Buffer, prefix: string, text: string) =>
    createHash('sha384').update(Buffer.concat([key, Buffer.from(prefix + text, 'utf8')])).digest('base64url').slice(0, 43)
  let longer = 0
  fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), ascii, (keyBytes, text) => {
    const key = Buffer.from(keyBytes)
    if (text.length > 200) longer++
    return amacSha384(key, 'session=', 200, 43)(text) === expected(key, 'session=', text)
  }), { numRuns: 3000 })
  t.ok(longer > 100, `3000 keys and ASCII texts, ${longer} of them longer than the buffer`)
  // What Web Crypto hashes is TextEncoder's UTF-8 (a lone surrogate as U+FFFD): so must this,
  // whether the text fits the prepared buffer or not, so a non-ASCII text is never read as
  // another one (a byte per character would turn '艭' into 'm').
  let unicode = 0
  fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), anyText, (keyBytes, text) => {
    const key = Buffer.from(keyBytes)
    if (/[\u0080-\uffff]/.test(text)) unicode++
    return amacSha384(key, 'sé=', 200, 43)(text) === expected(key, 'sé=', text)
  }), { numRuns: 3000 })
  t.ok(unicode > 2000, `3000 texts of any characters, ${unicode} of them not ASCII`)
  const key = randomBytes(32)
  const mac = amacSha384(key, 'session=', 64, 43)
  t.equal(mac('a'.repeat(64)), expected(key, 'session=', 'a'.repeat(64)), 'a text exactly filling the buffer')
  t.equal(mac('b'), expected(key, 'session=', 'b'), 'a shorter one after it: nothing of the longer one is left over')
  t.equal(mac('c'.repeat(65)), expected(key, 'session=', 'c'.repeat(65)), 'one longer than the buffer')
  for (const text of ['é'.repeat(64), 'a'.repeat(63) + '艭', 'a'.repeat(62) + '\u{1F600}', 'a'.repeat(60) + '艭'.repeat(4), '\ud800'.repeat(64)]) {
    t.equal(mac(text), expected(key, 'session=', text), `${JSON.stringify(text.slice(-4))} at the end of a full buffer: cut off, so hashed the long way`)
  }
  t.not(mac('艭'), mac('m'), 'a character is never read as its low byte')
})

for (const algorithm of ['sha256', 'sha1'] as const) {
  t.test(`hmac('${algorithm}') equals createHmac for any key up to 64 bytes and any message`, async (t) => {
    let longer = 0
    fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 64 }), ascii, (keyBytes, message) => {
      const key = Buffer.from(keyBytes)
      if (message.length > 200) longer++
      return hmac(algorithm, key, 200)(message) === createHmac(algorithm, key).update(message).digest('base64url')
    }), { numRuns: 3000 })
    t.ok(longer > 100, `3000 keys and ASCII messages, ${longer} of them longer than its buffer (createHmac)`)
    fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 64 }), anyText, (keyBytes, message) =>
      hmac(algorithm, Buffer.from(keyBytes), 200)(message) === createHmac(algorithm, Buffer.from(keyBytes)).update(message, 'utf8').digest('base64url')
    ), { numRuns: 1000 })
    const key = randomBytes(32)
    const mac = hmac(algorithm, key, 64)
    const expected = (message: string) => createHmac(algorithm, key).update(message, 'utf8').digest('base64url')
    t.equal(mac('a'.repeat(64)), expected('a'.repeat(64)), 'a message exactly filling the buffer')
    t.equal(mac('b'), expected('b'), 'a shorter one after it: nothing of the longer one is left over')
    t.equal(mac('a'.repeat(63) + '艭'), expected('a'.repeat(63) + '艭'), 'a non-ASCII character cut off at the end of the buffer')
    t.not(mac('艭'), mac('m'), 'a character is never read as its low byte')
    t.throws(() => hmac(algorithm, randomBytes(65), 10), RangeError, 'a key longer than a block is refused (HMAC would hash it first)')
  })
}

t.test('equalInConstantTime is string equality', async (t) => {
  fc.assert(fc.property(fc.string(), fc.string(), (a, b) => equalInConstantTime(a, b) === (a === b)))
  t.equal(equalInConstantTime('abc', 'abc'), true)
  t.equal(equalInConstantTime('abc', 'abd'), false)
  t.equal(equalInConstantTime('abc', 'ab'), false, 'different lengths')
  t.equal(equalInConstantTime('', ''), true)
})
