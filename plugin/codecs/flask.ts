import { createHmac } from 'node:crypto'
import { serialize, type SessionRecord } from '../values.js'
import type { Codec, Decoded, EncodeInput, InvalidReason } from './codec.js'
import { equalInConstantTime } from './compare.js'
import { deflateIfShorter, inflate } from './compression.js'
import { copyTagged, dumpSession, untag } from './flask-tags.js'
import * as base64url from './node-base64url.js'

// Flask's own session cookie, so a Flask app and this one can share a logged-in session:
// itsdangerous URLSafeTimedSerializer as Flask configures it.
//
//   [.]<payload>.<timestamp>.<signature>
//
// payload    base64url of Flask's tagged JSON (flask-tags.ts); when zlib makes it shorter, a
//            leading '.' and base64url of the deflated JSON instead
// timestamp  base64url of the issue time in seconds, big-endian, leading zero bytes dropped
// signature  HMAC-SHA1 over everything before the last dot, keyed with
//            HMAC-SHA1(SECRET_KEY, 'cookie-session') (itsdangerous' "hmac" key derivation)
//
// Flask cookies carry no creation time and no id: createdAt is the issue time, and the id is
// left out so each request gets a fresh random sessionId (see the README, "Migrating from Flask").
// Flask binds nothing to the cookie name, so neither can this format (the name is not used).

const SALT = 'cookie-session'
const SHAPE = /^(\.?[A-Za-z0-9_-]*)\.([A-Za-z0-9_-]{2,8})\.([A-Za-z0-9_-]{27})$/
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

export interface FlaskCodecOptions {
  /** Deflate payloads when that makes the cookie shorter, as Flask does. Default true. */
  compress?: boolean
}

export function createFlaskCodec (secrets: Buffer[], _cookieName: string, { compress = true }: FlaskCodecOptions = {}): Codec {
  const keys = secrets.map((secret) => createHmac('sha1', secret).update(SALT).digest())
  const signingKey = keys[0] as Buffer

  /** HMAC-SHA1, as base64url text: compared with the cookie's own text, so a non-canonical spelling is unequal. */
  function sign (key: Buffer, signedText: string): string {
    return createHmac('sha1', key).update(signedText).digest('base64url')
  }

  return {
    encode ({ data, issuedAt, permanent }: EncodeInput): string {
      const json = Buffer.from(dumpSession(data, permanent), 'latin1') // pure ASCII
      // As itsdangerous: zlib-wrapped, when shorter even with the leading '.' that marks it.
      // (Only from COMPRESS_FROM_BYTES on, where itsdangerous always tries: Flask reads both forms.)
      const compressed = compress ? deflateIfShorter(json, false, 1) : undefined
      const payload = compressed === undefined ? base64url.encode(json) : `.${base64url.encode(compressed)}`
      const signedText = `${payload}.${base64url.encode(timestampBytes(issuedAt))}`
      return `${signedText}.${sign(signingKey, signedText)}`
    },

    decode (value: string): Decoded | InvalidReason {
      const match = SHAPE.exec(value)
      if (match === null) return 'malformed'
      const [, payloadText, timeText, signatureText] = match as unknown as string[]
      const compressed = (payloadText as string).startsWith('.')
      const payload = base64url.decode(compressed ? (payloadText as string).slice(1) : payloadText as string)
      const time = base64url.decode(timeText as string)

      // Flask never writes leading zero bytes, nor (before year 8 million) more than 6 bytes.
      if (payload === undefined || time === undefined || time.length > 6 || time[0] === 0) {
        return 'malformed'
      }

      const signedText = value.slice(0, value.length - 28)
      const keyIndex = keys.findIndex((key) => equalInConstantTime(sign(key, signedText), signatureText as string))
      if (keyIndex === -1) return 'bad-signature'

      // Only a holder of the key gets here, but a bad payload is still an empty session, not a
      // 500 as in Flask.
      let text: string
      let data: SessionRecord
      let json: string
      let permanent: boolean
      try {
        text = utf8.decode(compressed ? inflate(payload, false) : payload)
        refuseLongIntegers(text)
        data = parsePayload(text)
        // Flask's flag is a key of the session; here it is session.permanent.
        permanent = data._permanent === true
        delete data._permanent
        json = serialize(data) // also refuses what values.ts could never save again (too deep)
      } catch {
        return 'bad-payload'
      }
      const issuedAt = time.readUIntBE(0, time.length)
      return { data, json, text, issuedAt, createdAt: issuedAt, permanent, keyIndex }
    },

    copyData: copyTagged,

    readData (text: string): SessionRecord {
      const data = parsePayload(text) // a text decode() already accepted: no checks to repeat
      delete data._permanent
      return data
    }
  }
}

function timestampBytes (seconds: number): Buffer {
  const bytes = Buffer.alloc(6)
  bytes.writeUIntBE(seconds, 0, 6)
  let start = 0
  while (start < 5 && bytes[start] === 0) start++
  return bytes.subarray(start)
}

/** Python keeps big integers exact; a JavaScript number would silently round them. */
const LONG_INTEGER = /(?<![\d.eE+-])-?\d{16,}(?![\d.eE])/g

function refuseLongIntegers (text: string): void {
  const outsideStrings = text.replace(/"(?:[^"\\]|\\.)*"/g, '""')
  for (const [integer] of outsideStrings.matchAll(LONG_INTEGER)) {
    if (!Number.isSafeInteger(Number(integer))) throw new RangeError('integer beyond 2^53')
  }
}

function parsePayload (text: string): SessionRecord {
  const data = untag(JSON.parse(text))
  if (typeof data !== 'object' || data === null || Object.getPrototypeOf(data) !== Object.prototype) {
    throw new TypeError('session data is not an object')
  }
  return data as SessionRecord
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
