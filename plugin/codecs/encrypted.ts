import { createCipheriv, createDecipheriv } from 'node:crypto'
import { deriveKey } from '../keys.js'
import { randomBytesFromPool } from '../random.js'
import { cloneParsed, parse, serialize } from '../values.js'
import * as base64url from './base64url.js'
import type { Codec, Decoded, EncodeInput, InvalidReason } from './codec.js'

// The private format: the client can neither read nor change the session.
//
//   e1.<base64url of iv ‖ ciphertext ‖ tag>
//
// iv         12 random bytes, new for every cookie (GCM's native nonce size). Random nonces stay
//            safe for about 2^32 cookies per key: rotate the secret long before that.
// ciphertext AES-256-GCM of "<issuedAt>.<createdAt>.<id>.<permanent>.<json>", the fields spelled
//            as in the signed format, so the times and id are hidden and authenticated too
// tag        16 bytes. Fixed-size, taken from the end: a shorter tag only shifts bytes into the
//            tag slot, and `authTagLength` makes Node refuse anything but 16 bytes anyway
//            (by default it accepts 4-byte tags, which an attacker can guess).
// AAD        "e1.<cookie name>": a value moved to another cookie name, or read by a later format
//            version, fails authentication.
//
// Node's node:crypto only: no native add-on to build. The key is derived from the secret with a
// purpose of its own (keys.ts), so it never equals the signing key of the same secret.

const VERSION = 'e1'
const PURPOSE = 'fastify-cookie-session encrypted cookie v1'
const ALGORITHM = 'aes-256-gcm'
const IV_BYTES = 12
const TAG_BYTES = 16
/** The shortest plaintext encode can produce: "0.0.<22-char id>.0.{}" (31 bytes). */
const MIN_PLAINTEXT_BYTES = 31
const SHAPE = /^e1\.([A-Za-z0-9_-]+)$/
const HEADER = /^(0|[1-9a-z][0-9a-z]{0,7})\.(0|[1-9a-z][0-9a-z]{0,7})\.([A-Za-z0-9_-]{22})\.([01])\./
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

export function createEncryptedCodec (secrets: Buffer[], cookieName: string): Codec {
  const keys = secrets.map((secret) => deriveKey(secret, PURPOSE))
  const encryptionKey = keys[0] as Buffer
  const aad = Buffer.from(`${VERSION}.${cookieName}`, 'utf8')

  /** The plaintext, or undefined when this key did not produce this cookie. */
  function open (key: Buffer, iv: Buffer, ciphertext: Buffer, tag: Buffer): Buffer | undefined {
    try {
      const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES })
      decipher.setAAD(aad)
      decipher.setAuthTag(tag)
      return Buffer.concat([decipher.update(ciphertext), decipher.final()])
    } catch {
      return undefined
    }
  }

  return {
    encode ({ json, issuedAt, createdAt, id, permanent }: EncodeInput): string {
      const plaintext = `${issuedAt.toString(36)}.${createdAt.toString(36)}.${id}.${permanent ? 1 : 0}.${json}`
      const iv = randomBytesFromPool(IV_BYTES)
      const cipher = createCipheriv(ALGORITHM, encryptionKey, iv, { authTagLength: TAG_BYTES })
      cipher.setAAD(aad)
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
      return `${VERSION}.${base64url.encode(Buffer.concat([iv, ciphertext, cipher.getAuthTag()]))}`
    },

    readData: parse,
    copyData: cloneParsed,
    // decode's text is serialize(parse(json)): the json itself, since serialize's output parses back to the same text.
    textFor: ({ json }) => json,

    decode (value: string): Decoded | InvalidReason {
      const match = SHAPE.exec(value)
      if (match === null) return 'malformed'
      const bytes = base64url.decode(match[1] as string)
      if (bytes === undefined || bytes.length < IV_BYTES + MIN_PLAINTEXT_BYTES + TAG_BYTES) return 'malformed'

      const iv = bytes.subarray(0, IV_BYTES)
      const ciphertext = bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)
      const tag = bytes.subarray(bytes.length - TAG_BYTES)
      let plaintext: Buffer | undefined
      let keyIndex = 0
      for (; keyIndex < keys.length; keyIndex++) {
        plaintext = open(keys[keyIndex] as Buffer, iv, ciphertext, tag)
        if (plaintext !== undefined) break
      }
      if (plaintext === undefined) return 'bad-signature'

      try {
        const text = utf8.decode(plaintext)
        const header = HEADER.exec(text)
        if (header === null) return 'bad-payload'
        const [head, issuedText, createdText, id, permanentText] = header as unknown as string[]
        const data = parse(text.slice((head as string).length))
        const json = serialize(data) // canonical, and refuses what could never be saved again
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
      } catch {
        return 'bad-payload'
      }
    }
  }
}
