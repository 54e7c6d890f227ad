import { createHmac, randomBytes } from 'node:crypto'
import t from 'tap'
import fc from 'fast-check'
import { equalInConstantTime } from '../../plugin/codecs/compare.js'
import { hmacSha256 } from '../../plugin/codecs/node-hmac.js'

// The signed format's MAC is HMAC-SHA256 computed from two one-shot hashes: it must be the very
// HMAC createHmac (and Web Crypto) computes, for any key up to a block and any message.

t.test('hmacSha256 equals createHmac for any key up to 64 bytes and any ASCII message', async (t) => {
  const ascii = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 300 })
  fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 64 }), ascii, (keyBytes, message) => {
    const key = Buffer.from(keyBytes)
    return hmacSha256(key, 200)(message) === createHmac('sha256', key).update(message).digest('base64url')
  }), { numRuns: 3000 })
  t.pass('3000 keys and messages, longer than its buffer (createHmac) or not')
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
