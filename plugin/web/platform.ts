import { decodeLenient, encode as encodeBase64url } from '../codecs/base64url.js'
import type { BytesAlphabet, ValuePlatform } from '../codecs/values-format.js'
import { SessionCodecError } from './errors.js'

// The Web platform's side of what the formats share: bytes are Uint8Array, spelled by the shared
// base64url code, UTF-8 through TextEncoder/TextDecoder, randomness from crypto.getRandomValues.

function toBase64 (base64url: string): string {
  const text = base64url.replaceAll('-', '+').replaceAll('_', '/')
  return text + '='.repeat((4 - text.length % 4) % 4)
}

/** Bytes as Uint8Array, errors as SessionCodecError. */
export const WEB_VALUES: ValuePlatform = {
  unstorable: (message) => new SessionCodecError('FST_SESSION_UNSTORABLE_VALUE', `Session value cannot be stored: ${message}`),
  encodeBytes: (bytes: Uint8Array, alphabet: BytesAlphabet) => {
    const text = encodeBase64url(bytes)
    return alphabet === 'base64url' ? text : toBase64(text)
  },
  decodeBytes: (text: string, alphabet: BytesAlphabet) =>
    decodeLenient(alphabet === 'base64url' ? text : text.replace(/=+$/, '').replaceAll('+', '-').replaceAll('/', '_'))
}

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** UTF-8 bytes of `text` (ASCII texts, such as MAC inputs, included). */
export function utf8 (text: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(text)
}

/** The text of UTF-8 `bytes`; throws a TypeError on invalid UTF-8. */
export function fromUtf8 (bytes: Uint8Array): string {
  return decoder.decode(bytes)
}

/** `size` fresh random bytes. */
export function randomBytes (size: number): Uint8Array<ArrayBuffer> {
  return crypto.getRandomValues(new Uint8Array(size))
}

/** A new session id: 128 random bits as 22 base64url characters, as the plugin draws them. */
export function newSessionId (): string {
  return encodeBase64url(randomBytes(16))
}

/** The byte arrays one after the other, in one new array. */
export function concat (...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const all = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0))
  let offset = 0
  for (const part of parts) {
    all.set(part, offset)
    offset += part.length
  }
  return all
}

/** A copy of `bytes` in an ArrayBuffer of its own (what Web Crypto's BufferSource parameters take). */
export function own (bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes)
}
