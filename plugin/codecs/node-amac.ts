import { createHash, hash } from 'node:crypto'

// The `s3` signed cookie's MAC on node:crypto: AMAC with SHA-384, the key prefixed to the message
// and the digest truncated (signed-format.ts says why it is safe). One one-shot `crypto.hash` call
// into a buffer prepared once per key, about 10k instructions for a 200-byte cookie, where
// HMAC-SHA256 needs two SHA-256 calls (about 25k with node-hmac.ts, 31k with createHmac).

/**
 * A function giving the s3 MAC of `prefix + text` under `key`: the first `macChars` characters
 * of the unpadded base64url SHA-384 of key ‖ UTF-8(prefix ‖ text), as Web Crypto computes it
 * from TextEncoder's bytes. The key and the prefix (the cookie name and `=`) are written into the
 * buffer once; each call writes only the text.
 */
export function amacSha384 (key: Buffer, prefix: string, maxTextChars: number, macChars: number): (text: string) => string {
  const textStart = key.length + Buffer.byteLength(prefix, 'utf8')
  // Four bytes to spare (see below).
  const prefixed = Buffer.alloc(textStart + maxTextChars + 4)
  key.copy(prefixed)
  prefixed.write(prefix, key.length, 'utf8')
  const head = prefixed.subarray(0, textStart)
  return (text) => {
    if (text.length <= maxTextChars) {
      // As many bytes written as the text has characters: every one was ASCII and none was cut
      // off (a cut leaves fewer than 4 bytes unused, so it writes more bytes than characters).
      const written = prefixed.write(text, textStart, 'utf8')
      if (written === text.length) return hash('sha384', prefixed.subarray(0, textStart + written), 'base64url').slice(0, macChars)
    }
    return createHash('sha384').update(head).update(text, 'utf8').digest('base64url').slice(0, macChars)
  }
}
