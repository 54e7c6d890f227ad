// The `signed` cookie's layout, shared by the Node codec (signed.ts) and the Web codec: the text
// is built and taken apart here; the MAC and the (de)compression are done by each with its own
// platform's calls. Platform-neutral: no Buffer, no node: import.
//
//   s2.<payload>.<issuedAt>.<createdAt>.<id>.<flags>.<mac>
//
// payload   unpadded base64url of the canonical JSON (values.ts), or of its raw DEFLATE (RFC 1951)
//           when flags says so
// issuedAt  seconds since the epoch, base 36 (when this cookie was written)
// createdAt seconds since the epoch, base 36 (when the session began; for absoluteMaxAge)
// id        22 base64url characters, 128 random bits, new on regenerate()
// flags     one digit: 1 = permanent, + 2 = the payload is deflated
// mac       HMAC-SHA256 over "<cookie name>=<everything before the last dot>", base64url (43
//           characters), with a key derived from the secret for this purpose only (keys.ts). The
//           cookie name is inside the MAC, so a value moved to another cookie name does not verify;
//           the version prefix is inside, so a value cannot be re-read under another version.
//
// `s1` (before compression) had the same layout with flags 0 or 1 only; its cookies still verify.

/** HKDF `info` of the signing key. Kept from s1: s1 and s2 texts differ in their signed prefix. */
export const SIGNED_KEY_PURPOSE = 'fastify-cookie-session signed cookie v1'

const SHAPE = /^s([12])\.([A-Za-z0-9_-]*)\.(0|[1-9a-z][0-9a-z]{0,7})\.(0|[1-9a-z][0-9a-z]{0,7})\.([A-Za-z0-9_-]{22})\.([0-3])\.([A-Za-z0-9_-]{43})$/
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
    payload: payload as string,
    deflated: (flags & DEFLATED) !== 0,
    issuedAt: parseInt(issuedText as string, 36),
    createdAt: parseInt(createdText as string, 36),
    id: id as string,
    permanent: (flags & PERMANENT) !== 0,
    signedText: value.slice(0, value.length - 44),
    mac: mac as string
  }
}

/** The text the MAC covers (the value without `.<mac>`). */
export function signedText ({ payload, deflated, issuedAt, createdAt, id, permanent }: SignedFields): string {
  const flags = (permanent ? PERMANENT : 0) + (deflated ? DEFLATED : 0)
  return `s2.${payload}.${issuedAt.toString(36)}.${createdAt.toString(36)}.${id}.${flags}`
}

/** The MAC's input: the cookie name binds the value to its cookie. */
export function macInput (cookieName: string, text: string): string {
  return `${cookieName}=${text}`
}
