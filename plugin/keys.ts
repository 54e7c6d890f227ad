import { hkdfSync } from 'node:crypto'

// Secrets are never used directly: each format derives its own key per purpose with HKDF, so
// the same secret can sign and encrypt without one key ever serving two algorithms.

/** A 32-byte key for one purpose (e.g. 'signed cookie v1'), derived once at register. */
export function deriveKey (secret: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'fastify-cookie-session', purpose, 32))
}
