import { hkdfSync } from 'node:crypto'
import { FST_SESSION_INVALID_OPTION } from './errors.js'

// Secrets are never used directly: each format derives its own key per purpose with HKDF, so
// the same secret can sign and encrypt without one key ever serving two algorithms.

/** A secret as the `secret` option takes it: a string (its UTF-8 bytes) or bytes. */
export type Secret = string | Buffer | Uint8Array

/** The smallest secret accepted by default: 256 bits, as HMAC-SHA256 and AES-256 want. */
export const MIN_SECRET_BYTES = 32

/**
 * `secret` option → list of secret bytes, current first then fallbacks (rotation order).
 * `minBytes` is 32 for our formats; the flask format passes 1 (Flask's own keys are taken as is).
 */
export function secretsFrom (secret: unknown, minBytes = MIN_SECRET_BYTES): Buffer[] {
  if (secret === undefined || secret === null) {
    throw new FST_SESSION_INVALID_OPTION(
      'the "secret" option is required: pass a random string of at least 32 characters ' +
      '(e.g. from `openssl rand -base64 32`), or an array [current, ...fallbacks] to rotate keys')
  }
  const list = Array.isArray(secret) ? secret : [secret]
  if (list.length === 0) {
    throw new FST_SESSION_INVALID_OPTION('the "secret" array is empty: put the current secret first')
  }
  return list.map((item: unknown, index) => {
    const where = Array.isArray(secret) ? `secret[${index}]` : 'secret'
    let bytes: Buffer
    if (typeof item === 'string') bytes = Buffer.from(item, 'utf8')
    else if (item instanceof Uint8Array) bytes = Buffer.from(item)
    else throw new FST_SESSION_INVALID_OPTION(`"${where}" must be a string or a Buffer, got ${typeof item}`)
    if (bytes.length < minBytes) {
      throw new FST_SESSION_INVALID_OPTION(
        `"${where}" is ${bytes.length} bytes; it must be at least ${minBytes} bytes of random data ` +
        '(e.g. `openssl rand -base64 32`)')
    }
    return bytes
  })
}

/** A 32-byte key for one purpose (e.g. 'signed cookie v1'), derived once at register. */
export function deriveKey (secret: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'fastify-cookie-session', purpose, 32))
}
