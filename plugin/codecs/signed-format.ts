// The `signed` cookie's layout, shared by the Node codec (signed.ts) and the Web codec: the text
// is built and taken apart here; the MAC and the (de)compression are done by each with its own
// platform's calls. Platform-neutral: no Buffer, no node: import.
//
//   s3.<payload>.<issuedAt>.<createdAt>.<id>.<flags>.<mac>
//
// payload   unpadded base64url of the canonical JSON (values.ts), or of its raw DEFLATE (RFC 1951)
//           when flags says so
// issuedAt  seconds since the epoch, base 36 (when this cookie was written)
// createdAt seconds since the epoch, base 36 (when the session began; for absoluteMaxAge)
// id        22 base64url characters, 128 random bits, new on regenerate()
// flags     one digit: 1 = permanent, + 2 = the payload is deflated
// mac       the first 43 characters of the unpadded base64url SHA-384 of
//           K ‖ UTF-8("<cookie name>=<everything before the last dot>"), K being 32 bytes derived from the
//           secret for this purpose only (HKDF-SHA256, keys.ts). The cookie name is inside the MAC,
//           so a value moved to another cookie name does not verify; the version prefix is inside,
//           so a value cannot be re-read under another version.
//
// Why the MAC is safe: it is AMAC (Bellare, Bernstein and Tessaro, "Hash-function based PRFs:
// AMAC and its multi-user security", EUROCRYPT 2016): a Merkle-Damgård hash of a fixed-length key
// followed by the message, output truncated. SHA-384 is SHA-512's compression function with its
// 512-bit chaining value cut to 384 bits, so the length extension that breaks H(K ‖ M) with a
// full-state hash needs the 128 hidden bits; the paper proves AMAC a PRF (tightly, for many users)
// on that truncation. We keep 258 of the 384 bits (43 characters, the MAC's length in s2): a
// truncated PRF is still a PRF, and a forgery is a guess of 258 bits. The key is 32 bytes, fixed
// length, so K ‖ M splits one way only, and it is used by this construction alone (its own HKDF
// purpose; s1/s2 keep theirs). Web Crypto computes it as digest('SHA-384', K ‖ M). It replaced
// HMAC-SHA256 because one SHA-384 call of a 200-byte cookie costs half of HMAC's two SHA-256 calls
// (10k against 25k instructions), on every cold read and every write.
//
// `s2` had the same layout with an HMAC-SHA256 MAC (43 characters, over the same input, with
// the key of SIGNED_KEY_PURPOSE); `s1` (before compression) also had flags 0 or 1 only. Their
// cookies still verify, and are re-issued as s3 when the session is next written.

/** HKDF `info` of the HMAC key of s1 and s2 (their texts differ in their signed prefix). */
export const SIGNED_KEY_PURPOSE = 'fastify-cookie-session signed cookie v1'
/** HKDF `info` of the s3 AMAC key: a key of its own, never used by another construction. */
export const SIGNED_AMAC_KEY_PURPOSE = 'fastify-cookie-session signed cookie v3 (AMAC-SHA384)'
/** Characters of the MAC in every version: 258 bits of SHA-384 in s3, the whole HMAC-SHA256 before. */
export const MAC_CHARS = 43

const SHAPE = /^s([123])\.([A-Za-z0-9_-]*)\.(0|[1-9a-z][0-9a-z]{0,7})\.(0|[1-9a-z][0-9a-z]{0,7})\.([A-Za-z0-9_-]{22})\.([0-3])\.([A-Za-z0-9_-]{43})$/
const PERMANENT = 1
const DEFLATED = 2

export interface SignedFields {
  /** base64url text of the JSON or of its deflated bytes. */
  payload: string
  deflated: boolean
  issuedAt: number
  createdAt: number
  id: string
  permanent: boolean
}

export interface SignedParts extends SignedFields {
  /** 3: the MAC is AMAC-SHA384; 1 or 2: HMAC-SHA256 (older cookies, still read). */
  version: 1 | 2 | 3
  /** What the MAC covers, after the cookie name: the value up to its last dot. */
  signedText: string
  /** The MAC as written (base64url); the caller decodes and compares it. */
  mac: string
}

/** The fields of a value shaped like a signed cookie, or undefined when it is not (malformed). */
export function parseSigned (value: string): SignedParts | undefined {
  const match = SHAPE.exec(value)
  if (match === null) return undefined
  const [, version, payload, issuedText, createdText, id, flagsText, mac] = match as unknown as string[]
  const flags = Number(flagsText)
  if (version === '1' && flags > PERMANENT) return undefined // s1 had no compression
  return {
    version: Number(version) as 1 | 2 | 3,
    payload: payload as string,
    deflated: (flags & DEFLATED) !== 0,
    issuedAt: parseInt(issuedText as string, 36),
    createdAt: parseInt(createdText as string, 36),
    id: id as string,
    permanent: (flags & PERMANENT) !== 0,
    signedText: value.slice(0, value.length - MAC_CHARS - 1),
    mac: mac as string
  }
}

/**
 * An `s3` value cut at its last dot: what the MAC covers and the MAC as written, or undefined
 * when it cannot be one. Nothing else is checked: the MAC is verified first, on the text as it
 * came, and only a verified text is taken apart (`parseVerifiedText`); a shape check of the whole
 * value (parseSigned's pattern) cost about as much as the MAC itself on every cold read.
 */
export function splitCurrent (value: string): { signedText: string, mac: string } | undefined {
  const dot = value.length - MAC_CHARS - 1
  if (dot < MIN_SIGNED_CHARS || value.charCodeAt(dot) !== 46 || !value.startsWith('s3.')) return undefined // 46: '.'
  return { signedText: value.slice(0, dot), mac: value.slice(dot + 1) }
}

/** "s3." + an empty payload + ".0.0." + the id + "." + the flags. */
const MIN_SIGNED_CHARS = 3 + 1 + 4 + 22 + 2
/** The fields after the payload, from the dot before issuedAt to the end (sticky: tried where it is put). */
const TAIL = /\.(0|[1-9a-z][0-9a-z]{0,7})\.(0|[1-9a-z][0-9a-z]{0,7})\.[A-Za-z0-9_-]{22}\.[0-3]$/y
/** Characters of ".<id>.<flags>" at the end of a signed text. */
const ID_AND_FLAGS_CHARS = 1 + 22 + 2

/**
 * The fields of an `s3` text whose MAC verified, or undefined when they are not the format's
 * (only a key holder can get a text here that the writer did not produce). The times, id and
 * flags get the same patterns as in parseSigned; the payload, between "s3." and the times, is
 * taken as the writer's base64url: a different spelling would not have verified.
 */
export function parseVerifiedText (text: string): SignedFields | undefined {
  const end = text.length
  const createdDot = text.lastIndexOf('.', end - ID_AND_FLAGS_CHARS - 1)
  const issuedDot = text.lastIndexOf('.', createdDot - 1)
  if (issuedDot < 3) return undefined
  TAIL.lastIndex = issuedDot
  if (!TAIL.test(text)) return undefined
  const flags = text.charCodeAt(end - 1) - 48 // '0'…'3'
  return {
    payload: text.slice(3, issuedDot),
    deflated: (flags & DEFLATED) !== 0,
    issuedAt: parseInt(text.slice(issuedDot + 1, createdDot), 36),
    createdAt: parseInt(text.slice(createdDot + 1, end - ID_AND_FLAGS_CHARS), 36),
    id: text.slice(end - 24, end - 2),
    permanent: (flags & PERMANENT) !== 0
  }
}

/** The text the MAC covers (the value without `.<mac>`), in the current version, s3. */
export function signedText ({ payload, deflated, issuedAt, createdAt, id, permanent }: SignedFields): string {
  const flags = (permanent ? PERMANENT : 0) + (deflated ? DEFLATED : 0)
  return `s3.${payload}.${issuedAt.toString(36)}.${createdAt.toString(36)}.${id}.${flags}`
}

/** The MAC's input: the cookie name binds the value to its cookie. */
export function macInput (cookieName: string, text: string): string {
  return `${cookieName}=${text}`
}
