import { deriveKey } from '../keys.js'
import { canonicalText, cloneParsed, parse, type SessionRecord } from '../values.js'
import type { Codec, Decoded, EncodeInput, InvalidReason } from './codec.js'
import { verifyingKey } from './compare.js'
import { deflateIfShorter, inflate } from './compression.js'
import * as base64url from './node-base64url.js'
import { amacSha384 } from './node-amac.js'
import { hmac } from './node-hmac.js'
import {
  MAC_CHARS, macInput, parseSigned, parseVerifiedText, signedText, SIGNED_AMAC_KEY_PURPOSE, SIGNED_KEY_PURPOSE, splitCurrent, type SignedFields
} from './signed-format.js'

// The default format, readable by the client and unforgeable without the secret, on node:crypto.
// Its layout is in signed-format.ts.

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

export interface SignedCodecOptions {
  /** Deflate payloads when that makes the cookie shorter. Default true. */
  compress?: boolean
  /** The longest value decode is handed (maxCookies × 4096): the MAC's buffers are sized for it. */
  maxValueBytes?: number
}

export function createSignedCodec (secrets: Buffer[], cookieName: string, { compress = true, maxValueBytes = 4096 }: SignedCodecOptions = {}): Codec {
  const maxMessageBytes = cookieName.length + 1 + maxValueBytes
  const macs = secrets.map((secret) => amacSha384(deriveKey(secret, SIGNED_AMAC_KEY_PURPOSE), `${cookieName}=`, maxValueBytes, MAC_CHARS))
  // s1 and s2 cookies (HMAC-SHA256) are still read; their keys are derived on the first one seen.
  let hmacs: Array<(message: string) => string> | undefined
  const hmacsOf = () => (hmacs ??= secrets.map((secret) => hmac('sha256', deriveKey(secret, SIGNED_KEY_PURPOSE), maxMessageBytes)))
  const sign = macs[0] as (message: string) => string

  return {
    encode ({ json, issuedAt, createdAt, id, permanent }: EncodeInput): string {
      const bytes = Buffer.from(json, 'utf8')
      const deflated = compress ? deflateIfShorter(bytes, true) : undefined
      const text = signedText({ payload: base64url.encode(deflated ?? bytes), deflated: deflated !== undefined, issuedAt, createdAt, id, permanent })
      return `${text}.${sign(text)}`
    },

    readData: parse,
    copyData: cloneParsed,
    // decode's text is the JSON encode was given: serialize's output, which parses back to itself.
    textFor: ({ json }) => json,

    decode (value: string): Decoded | InvalidReason {
      // The current version: the MAC first, then the fields of a verified text (signed-format.ts).
      const current = splitCurrent(value)
      if (current !== undefined) {
        const keyIndex = verifyingKey(macs, current.signedText, current.mac)
        if (keyIndex !== -1) {
          const fields = parseVerifiedText(current.signedText)
          return fields === undefined ? 'malformed' : readPayload(fields, keyIndex)
        }
      }
      // Older versions, and the reason a value is refused: its shape, else its MAC.
      const parts = parseSigned(value)
      if (parts === undefined) return 'malformed'
      if (parts.version === 3) return 'bad-signature' // its MAC was just checked above
      const message = macInput(cookieName, parts.signedText)
      const keyIndex = verifyingKey(hmacsOf(), message, parts.mac)
      return keyIndex === -1 ? 'bad-signature' : readPayload(parts, keyIndex)
    }
  }

  // Past the MAC, the text is one this plugin (or its Web codec) wrote with a key: the payload
  // is canonical base64url (a different spelling would not have verified), so its spelling is
  // not checked again. What a key holder signed still gets no further than an empty session:
  // inflating is bounded (compression.ts), invalid UTF-8 or JSON that is not a session object
  // fail, JSON.parse never reaches a prototype (values.ts), and what could never be saved
  // (Infinity, too deep) is refused now instead of a 500 at the next write.
  function readPayload ({ payload, deflated, issuedAt, createdAt, id, permanent }: SignedFields, keyIndex: number): Decoded | InvalidReason {
    let json: string
    let data: SessionRecord
    try {
      const bytes = Buffer.from(payload, 'base64url')
      const text = utf8.decode(deflated ? inflate(bytes, true) : bytes)
      data = parse(text)
      json = canonicalText(text, data)
    } catch {
      return 'bad-payload'
    }
    return { data, json, text: json, issuedAt, createdAt, id, permanent, keyIndex }
  }
}
