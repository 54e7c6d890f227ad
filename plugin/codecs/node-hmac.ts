import { createHmac, hash } from 'node:crypto'

// HMAC-SHA256 (RFC 2104, FIPS 198-1) on node:crypto, computed as the two SHA-256 calls that
// define it, H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m)), with one-shot `crypto.hash` calls into buffers
// prepared once per key. The result is the very HMAC createHmac gives (and Web Crypto, for the
// edge codec): only the cost differs. createHmac builds a native object with the key schedule on
// every call, about 31k instructions for a 200-byte cookie; two hash calls are about 24k, and
// returning base64url text lets the caller compare it with the cookie's text directly, with no
// decode and no Buffer to compare (compare.ts).

const BLOCK = 64
const IPAD = 0x36
const OPAD = 0x5c

/**
 * A function giving HMAC-SHA256(key, message) as unpadded base64url, for `key` of at most one
 * block (64 bytes: HKDF gives 32) and ASCII messages (a cookie name and a value in the format's
 * alphabet, checked by its shape). Messages longer than `maxMessageBytes` take createHmac.
 */
export function hmacSha256 (key: Buffer, maxMessageBytes: number): (message: string) => string {
  if (key.length > BLOCK) throw new RangeError('HMAC keys longer than a block are hashed first; derive a shorter one')
  const inner = Buffer.alloc(BLOCK + maxMessageBytes)
  const outer = Buffer.alloc(BLOCK + 32)
  for (let i = 0; i < BLOCK; i++) {
    inner[i] = (key[i] ?? 0) ^ IPAD
    outer[i] = (key[i] ?? 0) ^ OPAD
  }
  return (message) => {
    if (message.length > maxMessageBytes) return createHmac('sha256', key).update(message, 'latin1').digest('base64url')
    const length = inner.write(message, BLOCK, 'latin1')
    hash('sha256', inner.subarray(0, BLOCK + length), 'buffer').copy(outer, BLOCK)
    return hash('sha256', outer, 'base64url')
  }
}
