import { isCanonical } from './base64url.js'

// The Node codecs' base64url: the shared rules (base64url.ts), Buffer's native conversion.

/** The bytes `text` spells, or undefined when it is not canonical unpadded base64url. */
export function decode (text: string): Buffer | undefined {
  return isCanonical(text) ? Buffer.from(text, 'base64url') : undefined
}

export function encode (bytes: Buffer): string {
  return bytes.toString('base64url')
}
