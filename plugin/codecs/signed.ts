import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto'
import { deriveKey } from '../keys.js'
import { cloneParsed, parse, serialize } from '../values.js'
import * as base64url from './base64url.js'
import type { Codec, Decoded, EncodeInput, InvalidReason } from './codec.js'

// The default format: readable by the client, unforgeable without the secret.
//
//   s1.<data>.<issuedAt>.<createdAt>.<id>.<permanent>.<mac>
//
// data      base64url of the canonical JSON (values.ts)
// issuedAt  seconds since the epoch, base 36 (when this cookie was written)
// createdAt seconds since the epoch, base 36 (when the session began; for absoluteMaxAge)
// id        22 base64url characters, 128 random bits, new on regenerate()
// permanent 1 or 0
// mac       HMAC-SHA256 over "<cookie name>=<everything before the last dot>", so a value moved to
//           another cookie name does not verify. The key is derived from the secret for this
//           purpose only (keys.ts).

const PURPOSE = 'fastify-cookie-session signed cookie v1'
const SHAPE = /^s1\.([A-Za-z0-9_-]*)\.(0|[1-9a-z][0-9a-z]{0,7})\.(0|[1-9a-z][0-9a-z]{0,7})\.([A-Za-z0-9_-]{22})\.([01])\.([A-Za-z0-9_-]{43})$/
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

export function createSignedCodec (secrets: Buffer[], cookieName: string): Codec {
  // KeyObjects made once: createHmac then skips copying the key on every request.
  const keys = secrets.map((secret) => createSecretKey(deriveKey(secret, PURPOSE)))
  const signingKey = keys[0] as KeyObject

  const namePrefix = `${cookieName}=`
  function mac (key: KeyObject, signedText: string): Buffer {
    return createHmac('sha256', key).update(namePrefix + signedText).digest()
  }

  return {
    encode ({ json, issuedAt, createdAt, id, permanent }: EncodeInput): string {
      const signedText = `s1.${base64url.encode(Buffer.from(json, 'utf8'))}.${issuedAt.toString(36)}.` +
        `${createdAt.toString(36)}.${id}.${permanent ? 1 : 0}`
      return `${signedText}.${base64url.encode(mac(signingKey, signedText))}`
    },

    readData: parse,
    copyData: cloneParsed,
    // decode's text is serialize(parse(json)): the json itself, since serialize's output parses back to the same text.
    textFor: ({ json }) => json,

    decode (value: string): Decoded | InvalidReason {
      const match = SHAPE.exec(value)
      if (match === null) return 'malformed'
      const [, dataText, issuedText, createdText, id, permanentText, macText] = match as unknown as string[]
      const dataBytes = base64url.decode(dataText as string)
      const given = base64url.decode(macText as string)
      if (dataBytes === undefined || given === undefined) return 'malformed'

      const signedText = value.slice(0, value.length - 44)
      const keyIndex = keys.findIndex((key) => timingSafeEqual(mac(key, signedText), given))
      if (keyIndex === -1) return 'bad-signature'

      let json: string
      let data
      try {
        data = parse(utf8.decode(dataBytes))
        // Canonical text for change detection, and a check that what a key holder signed could
        // be saved again (Infinity, too deep): otherwise every request would fail at save.
        json = serialize(data)
      } catch {
        return 'bad-payload'
      }
      return {
        data,
        json,
        text: json,
        issuedAt: parseInt(issuedText as string, 36),
        createdAt: parseInt(createdText as string, 36),
        id: id as string,
        permanent: permanentText === '1',
        keyIndex
      }
    }
  }
}
