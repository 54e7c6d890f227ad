import { createHmac, hash } from 'node:crypto'

// HMAC (RFC 2104, FIPS 198-1) on node:crypto, computed as the two hash calls that define it,
// H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m)), with one-shot `crypto.hash` calls into buffers prepared
// once per key. The result is the very HMAC createHmac gives (and Web Crypto, for the edge
// codec): only the cost differs. createHmac builds a native object with the key schedule on
// every call, about 31k instructions for a 200-byte cookie; two hash calls are about 24k, and
// returning base64url text lets the caller compare it with the cookie's text directly, with no
// decode and no Buffer to compare (compare.ts). Used for the signed format's s1/s2 cookies
// (SHA-256) and for Flask's (SHA-1, itsdangerous).

/** SHA-1's and SHA-256's block: 64 bytes. */
const BLOCK = 64
const IPAD = 0x36
const OPAD = 0x5c
const DIGEST_BYTES = { sha1: 20, sha256: 32 }

/**
 * A function giving HMAC-`algorithm`(key, UTF-8(message)) as unpadded base64url, for `key` of
 * at most one block (64 bytes). ASCII messages up to `maxMessageChars` take the prepared buffer;
 * longer or other messages take createHmac (same result).
 */
export function hmac (algorithm: 'sha1' | 'sha256', key: Buffer, maxMessageChars: number): (message: string) => string {
  if (key.length > BLOCK) throw new RangeError('HMAC keys longer than a block are hashed first; derive a shorter one')
  // Four bytes to spare: see amacSha384 (node-amac.ts), which tells an ASCII message the same way.
  const inner = Buffer.alloc(BLOCK + maxMessageChars + 4)
  const outer = Buffer.alloc(BLOCK + DIGEST_BYTES[algorithm])
  for (let i = 0; i < BLOCK; i++) {
    inner[i] = (key[i] ?? 0) ^ IPAD
    outer[i] = (key[i] ?? 0) ^ OPAD
  }
  return (message) => {
    if (message.length <= maxMessageChars) {
      const written = inner.write(message, BLOCK, 'utf8')
      if (written === message.length) {
        hash(algorithm, inner.subarray(0, BLOCK + written), 'buffer').copy(outer, BLOCK)
        return hash(algorithm, outer, 'base64url')
      }
    }
    return createHmac(algorithm, key).update(message, 'utf8').digest('base64url')
  }
}
