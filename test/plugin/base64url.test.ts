import t from 'tap'
import fc from 'fast-check'
import * as base64url from '../../plugin/codecs/base64url.js'

// The platform-neutral base64url (used where Buffer is not, e.g. the Web codec) against Node's
// own encoder, and the canonical-spelling rule every codec applies.

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

t.test('encode and decode agree with Buffer on any bytes', async (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
    const text = base64url.encode(bytes)
    const decoded = base64url.decode(text)
    return text === Buffer.from(bytes).toString('base64url') && decoded !== undefined && Buffer.from(decoded).equals(Buffer.from(bytes))
  }), { numRuns: 2000 })
  t.pass('2000 byte strings')
})

t.test('only the canonical spelling is accepted', async (t) => {
  const refused = ['A', 'AAAAA', 'QR', 'QQ=', 'Q Q', 'a+b/', '====', 'AB==', 'é', 'ABC.', 'AQB']
  for (const text of refused) {
    t.equal(base64url.isCanonical(text), false, JSON.stringify(text))
    t.equal(base64url.decode(text), undefined)
  }
  for (const text of ['', 'QQ', 'AAA', 'AAAA', 'AQE', '_-_-']) t.equal(base64url.isCanonical(text), true, JSON.stringify(text))
  // Every 2- and 3-character ending: canonical exactly when Node's re-encoding gives it back.
  for (const a of ALPHABET) {
    for (const b of ALPHABET) {
      const two = `A${a}${b}`.slice(1)
      if (base64url.isCanonical(two) !== (Buffer.from(two, 'base64url').toString('base64url') === two)) t.fail(two)
      const three = `AA${a}${b}`.slice(1)
      if (base64url.isCanonical(three) !== (Buffer.from(three, 'base64url').toString('base64url') === three)) t.fail(three)
    }
  }
  t.pass('all endings checked against Node')
})
