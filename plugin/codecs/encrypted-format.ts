// The `encrypted` cookie's layout, shared by the Node codec (encrypted.ts) and the Web codec: the
// text and the plaintext are built and taken apart here; sealing and (de)compression are done by
// each with its own platform's calls. Platform-neutral: no Buffer, no node: import.
//
//   e2.<base64url of iv ‖ ciphertext ‖ tag>
//
// iv         12 random bytes, new for every cookie (GCM's native nonce size). Random nonces stay
//            safe for about 2^32 cookies per key: rotate the secret long before that.
// ciphertext AES-256-GCM of the plaintext "<issuedAt>.<createdAt>.<id>.<flags>.<body>": the fields
//            spelled as in the signed format (base 36 times, 22-character id, flags 1 = permanent
//            + 2 = deflated), the body the canonical JSON or, when flags says so, its raw DEFLATE
// tag        16 bytes. Fixed-size, taken from the end: a shorter tag only shifts bytes into the
//            tag slot, and the decrypting side must refuse anything but 16 bytes (Node by default
//            accepts 4-byte tags, which an attacker can guess).
// AAD        "e2.<cookie name>": a value moved to another cookie name, or read as another format
//            version, fails authentication.
//
// `e1` (before compression) had the same layout with flags 0 or 1 and AAD "e1.<cookie name>"; its
// cookies still decrypt. Compression is off unless the app turns it on: compressing a secret beside
// data an attacker influences leaks the secret through the length (CRIME, BREACH).

/** HKDF `info` of the encryption key. */
export const ENCRYPTED_KEY_PURPOSE = 'fastify-cookie-session encrypted cookie v1'
export const IV_BYTES = 12
export const TAG_BYTES = 16
/** The shortest plaintext encode can produce: "0.0.<22-char id>.0.{}" (31 bytes). */
const MIN_PLAINTEXT_BYTES = 31

const HEADER = /^(0|[1-9a-z][0-9a-z]{0,7})\.(0|[1-9a-z][0-9a-z]{0,7})\.([A-Za-z0-9_-]{22})\.([0-3])\./
/** The longest header HEADER matches: two 8-character times, the id, a flag and four dots. */
const MAX_HEADER_BYTES = 8 + 1 + 8 + 1 + 22 + 1 + 1 + 1
const PERMANENT = 1
const DEFLATED = 2

export interface SealedParts {
  /** 'e1' or 'e2'. */
  version: string
  /** base64url text of iv ‖ ciphertext ‖ tag; the caller decodes it. */
  sealed: string
}

/**
 * The parts of a value with an encrypted cookie's prefix, or undefined when it has none
 * (malformed). The sealed text is not checked here: each codec decodes it as canonical base64url
 * (the Node codec by decoding natively and spelling the bytes again, which costs less than a
 * pattern over the whole value), and refuses it otherwise.
 */
export function parseEncrypted (value: string): SealedParts | undefined {
  const version = value.slice(0, 2)
  return (version === 'e2' || version === 'e1') && value.charCodeAt(2) === 46 ? { version, sealed: value.slice(3) } : undefined // 46: '.'
}

/** Whether the decoded bytes are long enough to hold an IV, the shortest plaintext and a tag. */
export function isSealedLength (length: number): boolean {
  return length >= IV_BYTES + MIN_PLAINTEXT_BYTES + TAG_BYTES
}

/** The additional authenticated data: the version and the cookie name. */
export function additionalData (version: string, cookieName: string): string {
  return `${version}.${cookieName}`
}

/** The value for sealed bytes. */
export function encryptedValue (sealedText: string): string {
  return `e2.${sealedText}`
}

export interface PlaintextHeader {
  issuedAt: number
  createdAt: number
  id: string
  permanent: boolean
  deflated: boolean
  /** Where the body starts in the plaintext. */
  bodyStart: number
}

/** The plaintext's leading text, before its body. */
export function plaintextHeader ({ issuedAt, createdAt, id, permanent, deflated }: Omit<PlaintextHeader, 'bodyStart'>): string {
  const flags = (permanent ? PERMANENT : 0) + (deflated ? DEFLATED : 0)
  return `${issuedAt.toString(36)}.${createdAt.toString(36)}.${id}.${flags}.`
}

/** The header of authenticated plaintext, or undefined when it has none (bad payload). */
export function parsePlaintextHeader (version: string, plaintext: Uint8Array): PlaintextHeader | undefined {
  // One call over the first bytes (a byte per character, as latin1): adding them one by one cost
  // about 2k instructions per cold read.
  const head = String.fromCharCode.apply(null, plaintext.subarray(0, MAX_HEADER_BYTES) as unknown as number[])
  const match = HEADER.exec(head)
  if (match === null) return undefined
  const [text, issuedText, createdText, id, flagsText] = match as unknown as string[]
  const flags = Number(flagsText)
  if (version === 'e1' && flags > PERMANENT) return undefined // e1 had no compression
  return {
    issuedAt: parseInt(issuedText as string, 36),
    createdAt: parseInt(createdText as string, 36),
    id: id as string,
    permanent: (flags & PERMANENT) !== 0,
    deflated: (flags & DEFLATED) !== 0,
    bodyStart: (text as string).length
  }
}
