import { createHash, createHmac, randomBytes } from 'node:crypto'
import t from 'tap'
import fc from 'fast-check'
import { equalInConstantTime } from '../../plugin/codecs/compare.js'
import { amacSha384 } from '../../plugin/codecs/node-amac.js'
import { hmacSha256 } from '../../plugin/codecs/node-hmac.js'

// The signed format's MACs: s3's AMAC (SHA-384 of key ‖ message, truncated) and s2's HMAC-SHA256
// computed from two one-shot hashes. Each must be what createHash/createHmac (and Web Crypto)
// compute, for any key and any message, longer than the prepared buffer or not.

/** Messages of any length up to 300, the lengths drawn uniformly (fast-check favours short ones by default). */
const ascii = fc.integer({ min: 0, max: 300 }).chain((length) =>
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: length, maxLength: length }))

t.test('amacSha384 is the first characters of base64url SHA-384(key ‖ message)', async (t) => {
  let longer = 0
  fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), ascii, (keyBytes, message) => {
    const key = Buffer.from(keyBytes)
    if (message.length > 200) longer++
    return amacSha384(key, 200, 43)(message) === createHash('sha384').update(Buffer.concat([key, Buffer.from(message)])).digest('base64url').slice(0, 43)
  }), { numRuns: 3000 })
  t.ok(longer > 100, `3000 keys and messages, ${longer} of them longer than the buffer`)
  const key = randomBytes(32)
  const mac = amacSha384(key, 64, 43)
  const expected = (message: string) => createHash('sha384').update(key).update(message).digest('base64url').slice(0, 43)
  t.equal(mac('a'.repeat(64)), expected('a'.repeat(64)), 'a message exactly filling the buffer')
  t.equal(mac('b'), expected('b'), 'a shorter one after it: nothing of the longer one is left over')
  t.equal(mac('c'.repeat(65)), expected('c'.repeat(65)), 'one longer than the buffer')
})

t.test('hmacSha256 equals createHmac for any key up to 64 bytes and any ASCII message', async (t) => {
  let longer = 0
  fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 64 }), ascii, (keyBytes, message) => {
    const key = Buffer.from(keyBytes)
    if (message.length > 200) longer++
    return hmacSha256(key, 200)(message) === createHmac('sha256', key).update(message).digest('base64url')
  }), { numRuns: 3000 })
  t.ok(longer > 100, `3000 keys and messages, ${longer} of them longer than its buffer (createHmac)`)
  const key = randomBytes(32)
  const mac = hmacSha256(key, 64)
  t.equal(mac('a'.repeat(64)), createHmac('sha256', key).update('a'.repeat(64)).digest('base64url'), 'a message exactly filling the buffer')
  t.equal(mac('b'), createHmac('sha256', key).update('b').digest('base64url'), 'a shorter one after it: nothing of the longer one is left over')
  t.throws(() => hmacSha256(randomBytes(65), 10), RangeError, 'a key longer than a block is refused (HMAC would hash it first)')
})

t.test('equalInConstantTime is string equality', async (t) => {
  fc.assert(fc.property(fc.string(), fc.string(), (a, b) => equalInConstantTime(a, b) === (a === b)))
  t.equal(equalInConstantTime('abc', 'abc'), true)
  t.equal(equalInConstantTime('abc', 'abd'), false)
  t.equal(equalInConstantTime('abc', 'ab'), false, 'different lengths')
  t.equal(equalInConstantTime('', ''), true)
})
