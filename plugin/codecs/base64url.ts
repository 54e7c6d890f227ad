// Strict base64url: the unpadded URL-safe alphabet, and only the one canonical spelling of each
// byte string. Decoders elsewhere skip junk, accept padding and '+/', and ignore unused trailing
// bits ('QR' and 'QQ' both decode to 'A'), which would let many cookie texts carry the same bytes.
//
// Platform-neutral (no Buffer): the Node codecs check a text with `isCanonical` and then let
// Buffer decode it natively; the Web codecs use `decode`/`encode` below.

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const SHAPE = /^[A-Za-z0-9_-]*$/
const VALUES = new Int8Array(128).fill(-1)
for (let i = 0; i < ALPHABET.length; i++) VALUES[ALPHABET.charCodeAt(i)] = i

/**
 * Whether `text` is the canonical unpadded base64url spelling of some bytes: only the alphabet, a
 * length that is not 1 more than a multiple of 4, and zero bits in what the last character
 * carries beyond the last byte (4 bits when 2 characters end the text, 2 when 3 do).
 */
export function isCanonical (text: string): boolean {
  if (!SHAPE.test(text)) return false
  const tail = text.length % 4
  if (tail === 1) return false
  if (tail === 0) return true
  const last = VALUES[text.charCodeAt(text.length - 1)] as number
  return (last & (tail === 2 ? 0x0f : 0x03)) === 0
}

/** The bytes `text` spells, or undefined when it is not canonical (see isCanonical). */
export function decode (text: string): Uint8Array | undefined {
  return isCanonical(text) ? decodeLenient(text) : undefined
}

/**
 * The bytes of `text`, already known to be in the alphabet, read as Buffer reads base64url:
 * unused trailing bits and a lone trailing character are ignored. For payload texts a MAC or tag
 * already vouched for; anything a user sends is checked with `decode`.
 */
export function decodeLenient (text: string): Uint8Array {
  const bytes = new Uint8Array((text.length * 3) >> 2)
  let out = 0
  let i = 0
  for (; i + 4 <= text.length; i += 4) {
    const n = (value(text, i) << 18) | (value(text, i + 1) << 12) | (value(text, i + 2) << 6) | value(text, i + 3)
    bytes[out++] = n >> 16
    bytes[out++] = (n >> 8) & 0xff
    bytes[out++] = n & 0xff
  }
  if (text.length - i >= 2) {
    const n = (value(text, i) << 18) | (value(text, i + 1) << 12) | (text.length - i === 3 ? value(text, i + 2) << 6 : 0)
    bytes[out++] = n >> 16
    if (text.length - i === 3) bytes[out++] = (n >> 8) & 0xff
  }
  return bytes
}

function value (text: string, index: number): number {
  return VALUES[text.charCodeAt(index)] as number
}

/** The canonical unpadded base64url spelling of `bytes`. */
export function encode (bytes: Uint8Array): string {
  let text = ''
  let i = 0
  for (; i + 3 <= bytes.length; i += 3) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number)
    text += ALPHABET.charAt(n >> 18) + ALPHABET.charAt((n >> 12) & 63) + ALPHABET.charAt((n >> 6) & 63) + ALPHABET.charAt(n & 63)
  }
  const rest = bytes.length - i
  if (rest > 0) {
    const n = ((bytes[i] as number) << 16) | (rest === 2 ? (bytes[i + 1] as number) << 8 : 0)
    text += ALPHABET.charAt(n >> 18) + ALPHABET.charAt((n >> 12) & 63)
    if (rest === 2) text += ALPHABET.charAt((n >> 6) & 63)
  }
  return text
}
