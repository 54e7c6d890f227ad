import { createHmac } from 'node:crypto'
import { cloneParsed, NODE_VALUES, serialize, type SessionRecord } from '../values.js'
import type { Codec, Decoded, EncodeInput, InvalidReason } from './codec.js'
import { verifyingKey } from './compare.js'
import { deflateIfShorter, inflate } from './compression.js'
import {
  copyMarks, dumpSession, FLASK_SALT, type FlaskParts, parseFlask, parsePayload, parseVerifiedFlask, refuseLongIntegers, splitFlask, timestampText
} from './flask-tags.js'
import { hmac } from './node-hmac.js'
import * as base64url from './node-base64url.js'

// Flask's own session cookie, so a Flask app and this one can share a logged-in session, on
// node:crypto and node:zlib. Its layout and tagged JSON are in flask-tags.ts (shared with the Web
// codec). Flask cookies carry no creation time and no id: createdAt is the issue time, and the id
// is left out so each request gets a fresh random sessionId (see the README, "Migrating from
// Flask"). Flask binds nothing to the cookie name, so neither can this format (the name is not used).

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

export interface FlaskCodecOptions {
  /** Deflate payloads when that makes the cookie shorter, as Flask does. Default true. */
  compress?: boolean
  /** The longest value decode is handed (maxCookies × 4096): the HMAC's buffers are sized for it. */
  maxValueBytes?: number
}

export function createFlaskCodec (secrets: Buffer[], _cookieName: string, { compress = true, maxValueBytes = 4096 }: FlaskCodecOptions = {}): Codec {
  // HMAC-SHA1 over everything before the last dot, keyed with HMAC-SHA1(SECRET_KEY, salt); the
  // signature is compared as base64url text, so a non-canonical spelling is unequal.
  const signers = secrets.map((secret) => hmac('sha1', createHmac('sha1', secret).update(FLASK_SALT).digest(), maxValueBytes))
  const sign = signers[0] as (signedText: string) => string

  /** Past the signature: only a holder of the key gets here, but a bad payload is still an empty session, not a 500 as in Flask. */
  function readPayload ({ compressed, payload, issuedAt }: Omit<FlaskParts, 'signature'>, keyIndex: number): Decoded | InvalidReason {
    let text: string
    let data: SessionRecord
    let json: string
    let permanent: boolean
    try {
      const bytes = Buffer.from(payload, 'base64url')
      text = utf8.decode(compressed ? inflate(bytes, false) : bytes)
      refuseLongIntegers(text)
      data = parsePayload(text, NODE_VALUES)
      // Flask's flag is a key of the session; here it is session.permanent.
      permanent = data._permanent === true
      delete data._permanent
      json = serialize(data) // also refuses what values.ts could never save again (too deep)
    } catch {
      return 'bad-payload'
    }
    return { data, json, text, issuedAt, createdAt: issuedAt, permanent, keyIndex }
  }

  return {
    encode ({ data, issuedAt, permanent }: EncodeInput): string {
      const json = Buffer.from(dumpSession(data, permanent, NODE_VALUES), 'latin1') // pure ASCII
      // As itsdangerous: zlib-wrapped, when shorter even with the leading '.' that marks it.
      // (Only from COMPRESS_FROM_BYTES on, where itsdangerous always tries: Flask reads both forms.)
      const compressed = compress ? deflateIfShorter(json, false, 1) : undefined
      const payload = compressed === undefined ? base64url.encode(json) : `.${base64url.encode(compressed)}`
      const signedText = `${payload}.${timestampText(issuedAt)}`
      return `${signedText}.${sign(signedText)}`
    },

    decode (value: string): Decoded | InvalidReason {
      const split = splitFlask(value)
      if (split !== undefined) {
        const keyIndex = verifyingKey(signers, split.signedText, split.signature)
        if (keyIndex !== -1) {
          const parts = parseVerifiedFlask(split.signedText)
          return parts === undefined ? 'malformed' : readPayload(parts, keyIndex)
        }
      }
      // Refused: its shape, else its signature, says why.
      return parseFlask(value) === undefined ? 'malformed' : 'bad-signature'
    },

    copyData: (record) => cloneParsed(record, copyMarks),

    readData (text: string): SessionRecord {
      const data = parsePayload(text, NODE_VALUES) // a text decode() already accepted: no checks to repeat
      delete data._permanent
      return data
    }
  }
}

/** Register-time advice: Flask keys are taken as they are, but a short one can be guessed offline. */
export function flaskKeyWarnings (secrets: Buffer[]): string[] {
  return secrets.flatMap((secret, index) => secret.length >= 32
    ? []
    : [`fastify-cookie-session: ${secrets.length > 1 ? `secret[${index}]` : 'secret'} is ${secret.length} bytes. ` +
      "format 'flask' accepts it because it must equal Flask's SECRET_KEY, but anyone holding one of its cookies " +
      'can guess a short key offline and forge sessions: give both apps a random key of 32 bytes or more ' +
      '(python3 -c "import secrets; print(secrets.token_hex(32))"), keeping the old one as a fallback while cookies roll over'])
}
